// BuildIcmpUnreachable (reply/reply_builder.h): the only reply that copies
// bytes of the offending datagram, so the only one that reads it.
#include <algorithm>
#include <cstring>

#include "reply/reply_builder.h"
#include "reply/reply_datagram.h"

namespace flightwall {
namespace {

// RFC 1812 4.3.2.3: an ICMPv4 error is at most 576 bytes; RFC 4443 2.4(c):
// an ICMPv6 error must not exceed the minimum IPv6 MTU.
constexpr std::size_t kIcmpv4ErrorLimit = 576;
constexpr std::size_t kIcmpv6ErrorLimit = 1280;
constexpr std::size_t kIcmpHeader = 8;

// No ICMP error about an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4(e)), nor
// about neighbour discovery and other informational ICMP we cannot judge:
// only requests (v4 echo, timestamp, information, address mask; v6 echo).
bool MayAnswerIcmp(const DecodedPacket& pkt) {
  if (pkt.protocol == reply::kProtoIcmp) {
    const std::uint8_t t = pkt.icmp_type;
    return !pkt.icmp_is_error && (t == 8 || t == 13 || t == 15 || t == 17);
  }
  if (pkt.protocol == reply::kProtoIcmpv6) return !pkt.icmp_is_error && pkt.icmp_type == 128;
  return true;
}

}  // namespace

std::size_t BuildIcmpUnreachable(const DecodedPacket& pkt, std::span<const std::uint8_t> datagram,
                                 std::span<std::uint8_t> out) {
  if (!reply::Answerable(pkt) || !MayAnswerIcmp(pkt)) return 0;
  const bool v6 = pkt.src.IsV6();
  // The datagram must be the one `pkt` was decoded from: same IP version,
  // long enough to quote the IP headers and 8 bytes after them (RFC 792).
  if (datagram.empty() || (datagram[0] >> 4) != (v6 ? 6 : 4)) return 0;
  const std::span<const std::uint8_t> bytes =
      datagram.first(std::min<std::size_t>(datagram.size(), pkt.ip_length));
  const std::size_t identifying = std::size_t{pkt.transport_offset} + 8;
  const std::size_t headers = reply::IpHeaderLength(pkt) + kIcmpHeader;
  const std::size_t limit = std::min(out.size(), v6 ? kIcmpv6ErrorLimit : kIcmpv4ErrorLimit);
  if (pkt.transport_offset < reply::IpHeaderLength(pkt) || bytes.size() < identifying ||
      limit < headers || limit - headers < identifying) {
    return 0;
  }
  const std::size_t quote = std::min(bytes.size(), limit - headers);
  const std::uint8_t protocol = v6 ? reply::kProtoIcmpv6 : reply::kProtoIcmp;
  std::uint8_t* p = out.data();
  const std::size_t ip_len = reply::WriteIpHeader(pkt, protocol, kIcmpHeader + quote, p);
  std::uint8_t* icmp = p + ip_len;
  std::memset(icmp, 0, kIcmpHeader);
  icmp[0] = v6 ? 1 : 3;   // destination unreachable
  icmp[1] = v6 ? 1 : 13;  // administratively prohibited
  std::memcpy(icmp + kIcmpHeader, bytes.data(), quote);
  reply::Put16(icmp + 2, reply::TransportChecksum(p, v6, protocol, {icmp, kIcmpHeader + quote}));
  return ip_len + kIcmpHeader + quote;
}

}  // namespace flightwall
