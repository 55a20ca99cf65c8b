#include "flow/flow_table.h"

#include <algorithm>

namespace flightwall {
namespace {

// Identity and orientation of a flow begun by pkt.
void StartIdentity(Flow& f, const DecodedPacket& pkt, const PacketKey& pk) {
  f.kind = pk.kind;
  // Orientation: the side that started the conversation is the client.
  bool src_is_client = true;
  if (pk.kind == FlowKind::kTcp) {
    const std::uint8_t syn_ack = tcp_flags::kSyn | tcp_flags::kAck;
    src_is_client = (pkt.tcp_flags_value & syn_ack) != syn_ack;
  } else if (pk.kind == FlowKind::kUdp) {
    src_is_client = !(pkt.src_port < 1024 && pkt.dst_port >= 1024);
  } else if (pk.kind == FlowKind::kIcmpEcho) {
    src_is_client = !pkt.icmp_is_echo_reply;
  }
  f.client = src_is_client ? pkt.src : pkt.dst;
  f.server = src_is_client ? pkt.dst : pkt.src;
  f.client_port = src_is_client ? pk.src_port : pk.dst_port;
  f.server_port = src_is_client ? pk.dst_port : pk.src_port;
  f.protocol = pkt.protocol;
  f.icmp_type = pkt.icmp_type;
  f.icmp_code = pkt.icmp_code;
  f.first_time = pkt.time;
  f.first_packet = pkt.number;
}

}  // namespace

Timestamp IdleTimeout(const Flow& f, const FlowIdleTimeouts& t) {
  switch (f.kind) {
    case FlowKind::kTcp:
      if (f.tcp_state == TcpState::kClosed || f.tcp_state == TcpState::kReset) {
        return t.tcp_closed;
      }
      return f.tcp_state == TcpState::kEstablished || f.tcp_state == TcpState::kClosing
                 ? t.tcp_established
                 : t.tcp_opening;
    case FlowKind::kUdp:
      return f.is_dns ? t.dns : t.udp;
    default:
      return t.icmp;
  }
}

PacketKey PacketKeyOf(const DecodedPacket& pkt) {
  PacketKey pk;
  pk.src_port = pkt.src_port;
  pk.dst_port = pkt.dst_port;
  if (pkt.protocol == static_cast<std::uint8_t>(IpProto::kTcp)) {
    pk.kind = FlowKind::kTcp;
  } else if (pkt.protocol == static_cast<std::uint8_t>(IpProto::kUdp)) {
    pk.kind = FlowKind::kUdp;
  } else if (IsIcmp(pkt.protocol)) {
    if (pkt.icmp_is_echo_request || pkt.icmp_is_echo_reply) {
      pk.kind = FlowKind::kIcmpEcho;
      pk.src_port = pk.dst_port = pkt.icmp_id;
    } else {
      pk.kind = pkt.icmp_is_error ? FlowKind::kIcmpError : FlowKind::kIcmpOther;
      pk.src_port = pkt.icmp_type;
      pk.dst_port = pkt.icmp_code;
    }
  } else {
    pk.src_port = pk.dst_port = 0;
  }
  bool src_is_a = true;
  pk.key = MakeFlowKey(pkt.src, pk.src_port, pkt.dst, pk.dst_port, pkt.protocol, &src_is_a);
  return pk;
}

FlowTable::FlowTable(std::size_t capacity) : flows_(capacity) {
  finish_order_.reserve(flows_.Capacity());
}

FlowLookup FlowTable::Lookup(const DecodedPacket& pkt, FlowEndHandler& ended) {
  const PacketKey pk = PacketKeyOf(pkt);
  auto r = flows_.FindOrInsert(pk.key);
  if (r.evicted) ended.OnFlowEnd(r.evicted_value, FlowEnd::kEvicted);
  Flow& f = *r.value;
  FlowLookup out;
  out.flow = &f;
  out.created = r.inserted;
  if (!out.created && pk.kind == FlowKind::kTcp && (pkt.tcp_flags_value & tcp_flags::kSyn) &&
      !(pkt.tcp_flags_value & tcp_flags::kAck) && f.tcp_state != TcpState::kSynSent) {
    // A new connection reusing the 5-tuple of one we still hold (its end
    // may never have been seen: decided flows bypass user space). It must
    // be judged afresh, not inherit the old connection's verdict.
    ended.OnFlowEnd(f, FlowEnd::kReused);
    f = Flow{};
    out.created = true;
  }
  if (out.created) StartIdentity(f, pkt, pk);
  out.to_server = pkt.src == f.client && pk.src_port == f.client_port;
  if (f.client == f.server && f.client_port == f.server_port) out.to_server = true;
  DirectionStats& ds = out.to_server ? f.to_server : f.to_client;
  ++ds.packets;
  ds.payload_bytes += pkt.payload.size();
  ds.ip_bytes += pkt.ip_length;
  f.last_time = pkt.time;
  f.last_packet = pkt.number;
  return out;
}

void FlowTable::ExpireIdle(Timestamp now, const FlowIdleTimeouts& timeouts, FlowEndHandler& ended) {
  while (Flow* oldest = flows_.OldestValue()) {
    if (now - oldest->last_time <= IdleTimeout(*oldest, timeouts)) break;
    const FlowKey key = *flows_.OldestKey();
    ended.OnFlowEnd(*oldest, FlowEnd::kExpired);
    flows_.Erase(key);
  }
}

void FlowTable::FinishAll(FlowEndHandler& ended) {
  finish_order_.clear();
  flows_.ForEach([&](const FlowKey&, Flow& f) { finish_order_.push_back(&f); });
  std::sort(finish_order_.begin(), finish_order_.end(),
            [](const Flow* a, const Flow* b) { return a->first_packet < b->first_packet; });
  for (Flow* f : finish_order_) ended.OnFlowEnd(*f, FlowEnd::kFinished);
  std::vector<FlowKey> keys;
  flows_.ForEach([&](const FlowKey& k, Flow&) { keys.push_back(k); });
  for (const auto& k : keys) flows_.Erase(k);
}

}  // namespace flightwall
