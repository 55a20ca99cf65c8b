#include "flow/tcp_tracker.h"

namespace flightwall {

InOrderBytes ServerInOrder(StreamPosition& pos, std::uint32_t seq,
                           std::span<const std::uint8_t> payload) {
  InOrderBytes out;
  if (payload.empty() || pos.gap) return out;
  if (!pos.known) {
    pos.known = true;
    pos.next_seq = seq;
  }
  const std::int32_t delta = static_cast<std::int32_t>(seq - pos.next_seq);
  if (delta > 0) {
    pos.gap = true;  // a segment is missing; we never guess across a hole
    out.gap = true;
    return out;
  }
  const std::size_t old = static_cast<std::size_t>(-static_cast<std::int64_t>(delta));
  if (old >= payload.size()) return out;  // pure retransmission
  out.fresh = payload.subspan(old);
  pos.next_seq += static_cast<std::uint32_t>(out.fresh.size());
  return out;
}

TcpStep TrackTcp(Flow& f, const DecodedPacket& pkt, bool to_server) {
  TcpStep step;
  const std::uint8_t fl = pkt.tcp_flags_value;
  if (fl & tcp_flags::kSyn) {
    if (to_server) {
      StartClientStream(f.client_stream, pkt.tcp_seq);
    } else {
      f.server_stream.known = true;
      f.server_stream.next_seq = pkt.tcp_seq + 1;
      // A SYN-ACK says where the client's stream starts when its SYN was
      // not seen (a capture that began a moment late).
      if ((fl & tcp_flags::kAck) && !f.client_stream.start_known) {
        StartClientStream(f.client_stream, pkt.tcp_ack - 1);
      }
    }
    if (to_server && !(fl & tcp_flags::kAck)) f.tcp_state = TcpState::kSynSent;
    if (!to_server && (fl & tcp_flags::kAck)) f.tcp_state = TcpState::kSynReceived;
  } else if (fl & tcp_flags::kRst) {
    f.tcp_state = TcpState::kReset;
    step.reset = true;
  } else if (f.tcp_state == TcpState::kSynReceived || f.tcp_state == TcpState::kNone ||
             f.tcp_state == TcpState::kSynSent) {
    if (fl & tcp_flags::kAck) f.tcp_state = TcpState::kEstablished;
  }
  if (fl & tcp_flags::kFin) {
    (to_server ? f.client_fin : f.server_fin) = true;
    f.tcp_state = f.client_fin && f.server_fin ? TcpState::kClosed : TcpState::kClosing;
  }
  if (!to_server) {
    f.server_window = pkt.tcp_window;
    step.server = ServerInOrder(f.server_stream, pkt.tcp_seq, pkt.payload);
    return step;
  }
  // While the server's data passes in the kernel (reply bypass), the
  // client's acknowledgements say where the server's stream stands, so an
  // ACK forged for held bytes (Enforcer::AckHeld) carries a current seq.
  if (f.reply_bypass && (fl & tcp_flags::kAck) && f.server_stream.known &&
      SeqBefore(f.server_stream.next_seq, pkt.tcp_ack)) {
    f.server_stream.next_seq = pkt.tcp_ack;
  }
  return step;
}

}  // namespace flightwall
