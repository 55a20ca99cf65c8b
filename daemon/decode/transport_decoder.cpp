#include "decode/transport_decoder.h"

#include "common/byte_cursor.h"
#include "decode/ipv4_decoder.h"
#include "decode/ipv6_decoder.h"

namespace flightwall {
namespace {

constexpr std::uint8_t kIcmpEchoReply = 0;
constexpr std::uint8_t kIcmpEchoRequest = 8;
constexpr std::uint8_t kIcmpv6EchoRequest = 128;
constexpr std::uint8_t kIcmpv6EchoReply = 129;

bool IsIcmpv4Error(std::uint8_t type) {
  // Destination unreachable, source quench, redirect, time exceeded,
  // parameter problem: all quote the offending datagram.
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

bool IsIcmpv6Error(std::uint8_t type) { return type >= 1 && type <= 4; }

const char* DecodeTcp(std::span<const std::uint8_t> data, DecodedPacket* out) {
  ByteCursor cur(data);
  out->src_port = cur.U16();
  out->dst_port = cur.U16();
  out->tcp_seq = cur.U32();
  out->tcp_ack = cur.U32();
  const std::uint8_t data_offset = cur.U8();
  out->tcp_flags_value = cur.U8();
  out->tcp_window = cur.U16();
  cur.Skip(4);  // checksum, urgent pointer
  if (!cur.Ok()) return "TCP header truncated";
  const std::size_t header_length = static_cast<std::size_t>(data_offset >> 4) * 4;
  if (header_length < 20) return "TCP data offset is below 20 bytes";
  if (header_length > data.size()) return "TCP options truncated";
  out->payload = data.subspan(header_length);
  out->payload_length = static_cast<std::uint32_t>(out->payload.size());
  return nullptr;
}

const char* DecodeUdp(std::span<const std::uint8_t> data, DecodedPacket* out) {
  ByteCursor cur(data);
  out->src_port = cur.U16();
  out->dst_port = cur.U16();
  const std::uint16_t length = cur.U16();
  cur.Skip(2);  // checksum
  if (!cur.Ok()) return "UDP header truncated";
  if (length < 8) return "UDP length is below 8 bytes";
  if (length - 8u > cur.Remaining()) {
    out->truncated = true;
    out->payload = cur.Rest();
  } else {
    out->payload = cur.Bytes(length - 8u);
  }
  out->payload_length = length - 8u;
  return nullptr;
}

// Best effort: a quote that cannot be read leaves `present` false, because
// the error message itself is still a valid packet.
void DecodeQuoted(bool v6, std::span<const std::uint8_t> quote, IcmpQuoted* out) {
  std::span<const std::uint8_t> transport;
  bool first_fragment = true;
  if (v6) {
    Ipv6Header inner;
    if (ParseIpv6(quote, &inner) != nullptr) return;
    out->src = inner.src;
    out->dst = inner.dst;
    out->protocol = inner.chain.protocol;
    transport = inner.chain.payload;
    first_fragment = inner.chain.fragment_offset == 0;
  } else {
    Ipv4Header inner;
    if (ParseIpv4(quote, &inner) != nullptr) return;
    out->src = inner.src;
    out->dst = inner.dst;
    out->protocol = inner.protocol;
    transport = inner.payload;
    first_fragment = inner.fragment_offset == 0;
  }
  out->present = true;
  const bool has_ports = out->protocol == static_cast<std::uint8_t>(IpProto::kTcp) ||
                         out->protocol == static_cast<std::uint8_t>(IpProto::kUdp);
  ByteCursor cur(transport);
  const std::uint16_t src_port = cur.U16();
  const std::uint16_t dst_port = cur.U16();
  if (has_ports && first_fragment && cur.Ok()) {
    out->src_port = src_port;
    out->dst_port = dst_port;
  }
}

const char* DecodeIcmp(bool v6, std::span<const std::uint8_t> data, DecodedPacket* out) {
  ByteCursor cur(data);
  out->icmp_type = cur.U8();
  out->icmp_code = cur.U8();
  cur.Skip(2);  // checksum
  if (!cur.Ok()) return v6 ? "ICMPv6 header truncated" : "ICMP header truncated";
  const std::uint8_t type = out->icmp_type;
  out->icmp_is_echo_request = v6 ? type == kIcmpv6EchoRequest : type == kIcmpEchoRequest;
  out->icmp_is_echo_reply = v6 ? type == kIcmpv6EchoReply : type == kIcmpEchoReply;
  out->icmp_is_error = v6 ? IsIcmpv6Error(type) : IsIcmpv4Error(type);
  const bool needs_rest =
      out->icmp_is_echo_request || out->icmp_is_echo_reply || out->icmp_is_error;
  if (cur.Remaining() < 4) {
    if (needs_rest) return v6 ? "ICMPv6 message truncated" : "ICMP message truncated";
    return nullptr;
  }
  const std::uint16_t id = cur.U16();
  const std::uint16_t seq = cur.U16();
  if (out->icmp_is_echo_request || out->icmp_is_echo_reply) {
    out->icmp_id = id;
    out->icmp_seq = seq;
  }
  out->payload = cur.Rest();
  out->payload_length = static_cast<std::uint32_t>(out->payload.size());
  if (out->icmp_is_error) DecodeQuoted(v6, out->payload, &out->icmp_quoted);
  return nullptr;
}

}  // namespace

const char* DecodeTransport(std::span<const std::uint8_t> data, DecodedPacket* out) {
  switch (static_cast<IpProto>(out->protocol)) {
    case IpProto::kTcp:
      return DecodeTcp(data, out);
    case IpProto::kUdp:
      return DecodeUdp(data, out);
    case IpProto::kIcmp:
      return DecodeIcmp(false, data, out);
    case IpProto::kIcmpv6:
      return DecodeIcmp(true, data, out);
  }
  out->payload = data;
  out->payload_length = static_cast<std::uint32_t>(data.size());
  return nullptr;
}

}  // namespace flightwall
