#include "flow/delivery.h"

namespace flightwall {
namespace {

bool SeqAfter(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) > 0; }

}  // namespace

void TrackDelivery(Flow& f, const DecodedPacket& pkt, bool to_server) {
  if (to_server) {
    const bool carries_data =
        !pkt.payload.empty() || f.kind == FlowKind::kIcmpEcho || f.kind == FlowKind::kOther;
    if (carries_data && f.first_payload_packet == 0) {
      f.first_payload_packet = pkt.number;
      f.first_payload_time = pkt.time;
      f.first_payload_seq = pkt.tcp_seq;
    }
    return;
  }
  if (f.first_payload_packet == 0 || f.delivered_packet != 0) return;
  bool delivered = false;
  switch (f.kind) {
    case FlowKind::kTcp:
      delivered =
          (pkt.tcp_flags_value & tcp_flags::kAck) && SeqAfter(pkt.tcp_ack, f.first_payload_seq);
      break;
    case FlowKind::kIcmpEcho:
      delivered = pkt.icmp_is_echo_reply;
      break;
    default:
      delivered = true;  // the peer answered after data reached it
  }
  if (delivered) {
    f.delivered_packet = pkt.number;
    f.delivered_time = pkt.time;
  }
}

}  // namespace flightwall
