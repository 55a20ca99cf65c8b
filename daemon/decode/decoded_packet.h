// DecodedPacket: the network and transport view of one IP datagram, filled by
// PacketDecoder and consumed by the flow stage and the reply builders. Payload
// views point into the frame or into the fragment reassembler's buffer, and
// are valid only until the decoder is called again.
#pragma once

#include <cstdint>
#include <span>

#include "common/ip_address.h"
#include "common/timestamp.h"

namespace flightwall {

enum class IpProto : std::uint8_t {
  kIcmp = 1,
  kTcp = 6,
  kUdp = 17,
  kIcmpv6 = 58,
};

constexpr bool IsIcmp(std::uint8_t proto) {
  return proto == static_cast<std::uint8_t>(IpProto::kIcmp) ||
         proto == static_cast<std::uint8_t>(IpProto::kIcmpv6);
}

namespace tcp_flags {
constexpr std::uint8_t kFin = 0x01;
constexpr std::uint8_t kSyn = 0x02;
constexpr std::uint8_t kRst = 0x04;
constexpr std::uint8_t kPsh = 0x08;
constexpr std::uint8_t kAck = 0x10;
}  // namespace tcp_flags

// The header quoted inside an ICMP/ICMPv6 error (destination unreachable,
// time exceeded, packet too big, parameter problem): which flow it is about.
struct IcmpQuoted {
  bool present = false;
  IpAddress src;
  IpAddress dst;
  std::uint8_t protocol = 0;
  std::uint16_t src_port = 0;  // 0 when the quote is too short or not TCP/UDP
  std::uint16_t dst_port = 0;
};

struct DecodedPacket {
  std::uint64_t number = 0;
  Timestamp time = 0;

  IpAddress src;
  IpAddress dst;
  std::uint8_t protocol = 0;    // final upper-layer protocol (IpProto or other)
  std::uint8_t ttl = 0;         // TTL / hop limit
  std::uint32_t ip_length = 0;  // length of the (reassembled) IP datagram
  bool reassembled = false;     // true when built from fragments
  // The capture (snap length) or the IP/UDP length cut the datagram short:
  // the payload is only what was captured.
  bool truncated = false;
  // Where the transport header starts in the datagram: the IPv4 header with
  // its options, or the IPv6 header with its extension headers.
  std::uint32_t transport_offset = 0;

  // TCP / UDP
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t tcp_flags_value = 0;
  std::uint32_t tcp_seq = 0;
  std::uint32_t tcp_ack = 0;
  std::uint16_t tcp_window = 0;

  // ICMP / ICMPv6
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;
  std::uint16_t icmp_id = 0;   // echo identifier
  std::uint16_t icmp_seq = 0;  // echo sequence
  bool icmp_is_error = false;
  bool icmp_is_echo_request = false;
  bool icmp_is_echo_reply = false;
  IcmpQuoted icmp_quoted;

  // TCP/UDP payload, or ICMP data after the 8-byte ICMP header.
  std::span<const std::uint8_t> payload;
  // The payload's length as the headers declare it (TCP: the IP length less
  // the headers; UDP: its length field less 8); `payload` is shorter when the
  // datagram is truncated. Other protocols: payload.size().
  std::uint32_t payload_length = 0;
};

}  // namespace flightwall
