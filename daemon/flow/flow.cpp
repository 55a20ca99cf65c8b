#include "flow/flow.h"

namespace flightwall {

FlowKey MakeFlowKey(const IpAddress& src, std::uint16_t src_port, const IpAddress& dst,
                    std::uint16_t dst_port, std::uint8_t protocol, bool* src_is_a) {
  const bool src_first = src < dst || (src == dst && src_port <= dst_port);
  *src_is_a = src_first;
  FlowKey k;
  k.protocol = protocol;
  if (src_first) {
    k.a = src, k.port_a = src_port, k.b = dst, k.port_b = dst_port;
  } else {
    k.a = dst, k.port_a = dst_port, k.b = src, k.port_b = src_port;
  }
  return k;
}

FlowKey KeyOf(const Flow& f) {
  bool a = true;
  return MakeFlowKey(f.client, f.client_port, f.server, f.server_port, f.protocol, &a);
}

const char* TcpStateName(TcpState s) {
  switch (s) {
    case TcpState::kNone:
      return "none";
    case TcpState::kSynSent:
      return "syn-sent";
    case TcpState::kSynReceived:
      return "syn-received";
    case TcpState::kEstablished:
      return "established";
    case TcpState::kClosing:
      return "closing";
    case TcpState::kClosed:
      return "closed";
    case TcpState::kReset:
      return "reset";
  }
  return "none";
}

}  // namespace flightwall
