// TCP in the engine: the client's stream as judged (flow/client_stream),
// the server's acknowledgements that make a decision final, and the server's
// stream for DNS answers over TCP.
#include "engine/engine_impl.h"

namespace flightwall {

std::span<const std::uint8_t> Engine::Impl::ServerInOrder(StreamPosition& pos,
                                                          std::span<const std::uint8_t> payload) {
  if (payload.empty() || pos.gap) return {};
  if (!pos.known) {
    pos.known = true;
    pos.next_seq = pkt.tcp_seq;
  }
  const std::int32_t delta = static_cast<std::int32_t>(pkt.tcp_seq - pos.next_seq);
  if (delta > 0) {
    pos.gap = true;  // a segment is missing; we never guess across a hole
    ++stats.stream_gaps;
    return {};
  }
  const std::size_t old = static_cast<std::size_t>(-static_cast<std::int64_t>(delta));
  if (old >= payload.size()) return {};  // pure retransmission
  auto fresh = payload.subspan(old);
  pos.next_seq += static_cast<std::uint32_t>(fresh.size());
  return fresh;
}

void Engine::Impl::TrackTcp(Flow& f, bool to_server) {
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
    ReleaseSlots(f);  // the connection is gone; its inspection with it
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
    if (fl & tcp_flags::kAck) OnServerAck(f);
    const auto fresh = ServerInOrder(f.server_stream, pkt.payload);
    if (CarriesDns(f)) HandleDnsTcp(f, false, fresh);
    return;
  }
  // While the server's data passes in the kernel (reply bypass), the
  // client's acknowledgements say where the server's stream stands, so an
  // ACK forged for held bytes (Enforcer::AckHeld) carries a current seq.
  if (f.reply_bypass && (fl & tcp_flags::kAck) && f.server_stream.known &&
      SeqBefore(f.server_stream.next_seq, pkt.tcp_ack)) {
    f.server_stream.next_seq = pkt.tcp_ack;
  }
  if (!pkt.payload.empty()) TakeClientPayload(f);
}

bool Engine::Impl::NeedsInspection(const Flow& f) const {
  // DNS and plain HTTP are read for as long as the flow lives; TLS until the
  // ClientHello was judged.
  return f.inspection == Inspection::kPending || f.http_requests > 0 || CarriesDns(f);
}

std::uint32_t Engine::Impl::KeepFrom(const Flow& f) const {
  // Bytes the inspector has not read yet stay, acknowledged or not.
  if (f.inspection == Inspection::kPending && !f.not_tls) return f.client_stream.start_seq;
  if (!CarriesDns(f) && (f.http_requests > 0 || f.not_tls)) {
    return SeqBefore(f.http_parse_seq, f.client_stream.next_seq) ? f.http_parse_seq
                                                                 : f.client_stream.next_seq;
  }
  return f.client_stream.next_seq;
}

void Engine::Impl::OnServerAck(Flow& f) {
  if (!AckClientStream(f.client_stream, streams, f.stream_slot, pkt.tcp_ack, KeepFrom(f))) return;
  if (f.inspection == Inspection::kPending || f.judged_acked) return;
  if (f.http_requests == 0 && !CarriesDns(f) && SeqAtOrAfter(pkt.tcp_ack, f.judged_end_seq)) {
    // The server holds every byte that was judged: no retransmission can
    // make it read others, so the decision may become final.
    f.judged_acked = true;
    ReleaseSlots(f);
  }
}

void Engine::Impl::TakeClientPayload(Flow& f) {
  const bool dns = CarriesDns(f);
  const bool governed = f.app >= 0 && f.verdict != Verdict::kNotGoverned;
  if (!f.client_stream.start_known) {
    // Picked up mid-connection: the start, where the name is, was not seen.
    if (governed && NeedsInspection(f)) SetInspection(f, Inspection::kGap);
    return;
  }
  // A governed flow keeps every byte not yet acknowledged in a stream slot,
  // to compare retransmissions with. Other flows (an audit's bystanders)
  // only need a slot while their first name is read.
  const bool want_slot =
      f.client_stream.retain &&
      (governed ? NeedsInspection(f) : f.inspection == Inspection::kPending && !dns);
  if (want_slot && f.stream_slot == Flow::kNoSlot && AcquireStream(f) == Flow::kNoSlot) {
    ++stats.stream_buffer_exhausted;
    SetInspection(f, Inspection::kPoolExhausted);  // deny the newcomer, evict nobody
    return;
  }
  // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
  const std::uint32_t seq = pkt.tcp_seq + ((pkt.tcp_flags_value & tcp_flags::kSyn) ? 1 : 0);
  const SegmentResult r =
      TakeClientSegment(f.client_stream, streams, f.stream_slot, seq, pkt.payload);
  switch (r.fate) {
    case SegmentFate::kFresh:
      if (dns) {
        HandleDnsTcp(f, true, r.fresh);
      } else if (NeedsInspection(f)) {
        InspectClientStream(f);
      }
      return;
    case SegmentFate::kDuplicate:
      return;  // the same bytes again: the verdict they had stands
    case SegmentFate::kConflict:
      ++stats.stream_conflicts;
      SetInspection(f, Inspection::kOverlapConflict);
      return;
    case SegmentFate::kAhead:
      ++stats.stream_gaps;
      f.saw_gap = true;
      drop_packet = true;  // never read across a hole; the client retransmits
      return;
    case SegmentFate::kNoRoom:
      ++stats.stream_no_room;
      if (f.inspection == Inspection::kPending && f.http_requests == 0) {
        SetInspection(f, Inspection::kTooLarge);  // the name is not in what fits
      } else {
        drop_packet = true;  // wait for the server to acknowledge what is held
      }
      return;
    case SegmentFate::kNoStart:
      SetInspection(f, Inspection::kGap);
      return;
  }
}

}  // namespace flightwall
