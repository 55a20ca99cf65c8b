#include "reply/reply_datagram.h"

#include <algorithm>
#include <cstring>

namespace flightwall::reply {
namespace {

constexpr std::uint8_t kReplyTtl = 64;

bool IsUnicast(const IpAddress& a) {
  const auto& b = a.Bytes();
  if (a.IsV6()) {
    if (b[0] == 0xff) return false;
    return std::any_of(b.begin(), b.end(), [](std::uint8_t x) { return x != 0; });
  }
  if (b[0] >= 224) return false;  // multicast, reserved, limited broadcast
  return !(b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0);
}

// RFC 1071 one's-complement sum of big-endian 16-bit words.
std::uint64_t Sum(std::span<const std::uint8_t> bytes, std::uint64_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += (std::uint64_t{bytes[i]} << 8) | bytes[i + 1];
  if (i < bytes.size()) sum += std::uint64_t{bytes[i]} << 8;
  return sum;
}
std::uint16_t Fold(std::uint64_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace

bool Answerable(const DecodedPacket& pkt) {
  return !pkt.reassembled && pkt.src.IsSet() && pkt.dst.IsSet() &&
         pkt.src.IsV6() == pkt.dst.IsV6() && IsUnicast(pkt.src) && IsUnicast(pkt.dst);
}

std::size_t WriteIpHeader(const DecodedPacket& pkt, std::uint8_t protocol, std::size_t payload_len,
                          std::uint8_t* out) {
  if (pkt.src.IsV6()) {
    Put32(out, 0x60000000);
    Put16(out + 4, static_cast<std::uint16_t>(payload_len));
    out[6] = protocol;
    out[7] = kReplyTtl;
    std::memcpy(out + 8, pkt.dst.Bytes().data(), 16);
    std::memcpy(out + 24, pkt.src.Bytes().data(), 16);
    return kIpv6Header;
  }
  std::memset(out, 0, kIpv4Header);
  out[0] = 0x45;
  Put16(out + 2, static_cast<std::uint16_t>(kIpv4Header + payload_len));
  Put16(out + 6, 0x4000);  // DF: these replies are small and never fragmented
  out[8] = kReplyTtl;
  out[9] = protocol;
  std::memcpy(out + 12, pkt.dst.Bytes().data(), 4);
  std::memcpy(out + 16, pkt.src.Bytes().data(), 4);
  Put16(out + 10, Fold(Sum(std::span<const std::uint8_t>(out, kIpv4Header))));
  return kIpv4Header;
}

std::uint16_t TransportChecksum(const std::uint8_t* ip, bool v6, std::uint8_t protocol,
                                std::span<const std::uint8_t> message) {
  std::uint64_t sum = Sum(message);
  if (protocol == kProtoIcmp) return Fold(sum);
  const std::size_t address_len = v6 ? 16 : 4;
  sum = Sum(std::span<const std::uint8_t>(ip + (v6 ? 8 : 12), 2 * address_len), sum);
  sum += protocol;
  sum += message.size() >> 16;
  sum += message.size() & 0xffff;
  return Fold(sum);
}

}  // namespace flightwall::reply
