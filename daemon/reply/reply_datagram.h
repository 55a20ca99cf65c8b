// The parts every reply shares: whether a packet may be answered at all, the
// reply's IP header (the offending packet's addresses swapped) and the
// transport checksum. Internal to the reply stage; stateless and
// thread-safe. Callers check the output room before writing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "decode/decoded_packet.h"

namespace flightwall::reply {

constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;

// True when a reply to `pkt` may be sent: a whole datagram (not rebuilt from
// fragments: the bytes at hand would be its last fragment's), between two
// unicast addresses of one family (never multicast, broadcast or
// unspecified: RFC 1122 3.2.2, RFC 4443 2.4(e)).
bool Answerable(const DecodedPacket& pkt);

// Length of the reply's IP header for `pkt`'s family.
inline std::size_t IpHeaderLength(const DecodedPacket& pkt) {
  return pkt.src.IsV6() ? kIpv6Header : kIpv4Header;
}

// Writes the reply's IP header, from pkt.dst to pkt.src, into `out` (which
// must hold IpHeaderLength(pkt) bytes) and returns its length.
std::size_t WriteIpHeader(const DecodedPacket& pkt, std::uint8_t protocol, std::size_t payload_len,
                          std::uint8_t* out);

// Checksum of a transport message with the pseudo header of `ip` (the
// reply's own header, written already). ICMPv4 has no pseudo header.
std::uint16_t TransportChecksum(const std::uint8_t* ip, bool v6, std::uint8_t protocol,
                                std::span<const std::uint8_t> message);

inline void Put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void Put32(std::uint8_t* p, std::uint32_t v) {
  Put16(p, static_cast<std::uint16_t>(v >> 16));
  Put16(p + 2, static_cast<std::uint16_t>(v));
}

}  // namespace flightwall::reply
