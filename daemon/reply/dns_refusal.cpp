// BuildDnsRefusal (reply/reply_builder.h): a local answer to a question for a
// denied name, echoing the question read from the decoded UDP payload.
#include <cstring>

#include "common/byte_cursor.h"
#include "reply/reply_builder.h"
#include "reply/reply_datagram.h"

namespace flightwall {
namespace {

using reply::Put16;

constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kDnsHeader = 12;

// Length of the DNS question (name + type + class) at the start of `rest`,
// or 0 when it is not a plain, uncompressed, well-formed question.
std::size_t QuestionLength(std::span<const std::uint8_t> rest) {
  ByteCursor c(rest);
  std::size_t name_len = 1;
  for (;;) {
    const std::uint8_t label = c.U8();
    if (!c.Ok() || label > 63) return 0;  // compression or extended labels
    if (label == 0) break;
    name_len += label + 1;
    if (name_len > 255 || !c.Skip(label)) return 0;
  }
  if (!c.Skip(4)) return 0;
  return c.Position();
}

}  // namespace

std::size_t BuildDnsRefusal(const DecodedPacket& pkt, std::uint8_t rcode,
                            std::span<std::uint8_t> out) {
  if (pkt.protocol != reply::kProtoUdp || pkt.truncated || !reply::Answerable(pkt)) return 0;
  ByteCursor d(pkt.payload);
  const std::uint16_t id = d.U16();
  const std::uint16_t flags = d.U16();
  const std::uint16_t qdcount = d.U16();
  d.Skip(6);
  if (!d.Ok() || (flags & 0x8000) != 0 || qdcount != 1) return 0;  // a query with one question
  const std::span<const std::uint8_t> rest = d.Rest();
  const std::size_t question = QuestionLength(rest);
  if (question == 0) return 0;

  const std::size_t ip_len = reply::IpHeaderLength(pkt);
  const std::size_t udp_len = kUdpHeader + kDnsHeader + question;
  if (out.size() < ip_len + udp_len) return 0;
  std::uint8_t* p = out.data();
  reply::WriteIpHeader(pkt, reply::kProtoUdp, udp_len, p);
  std::uint8_t* udp = p + ip_len;
  Put16(udp, pkt.dst_port);
  Put16(udp + 2, pkt.src_port);
  Put16(udp + 4, static_cast<std::uint16_t>(udp_len));
  Put16(udp + 6, 0);
  std::uint8_t* h = udp + kUdpHeader;
  // QR; opcode, RD and CD echoed (RFC 1035 4.1.1, RFC 6840 5.9); RA mirrors RD
  // because we answer as the recursive resolver the client asked.
  const std::uint16_t rd = flags & 0x0100;
  const std::uint16_t reply_flags = static_cast<std::uint16_t>(
      0x8000 | (flags & 0x7800) | rd | (rd != 0 ? 0x0080 : 0) | (flags & 0x0010) | (rcode & 0x0f));
  Put16(h, id);
  Put16(h + 2, reply_flags);
  Put16(h + 4, 1);
  std::memset(h + 6, 0, 6);
  std::memcpy(h + kDnsHeader, rest.data(), question);
  std::uint16_t checksum =
      reply::TransportChecksum(p, pkt.src.IsV6(), reply::kProtoUdp, {udp, udp_len});
  if (checksum == 0) checksum = 0xffff;  // 0 would mean "no checksum" (forbidden over IPv6)
  Put16(udp + 6, checksum);
  return ip_len + udp_len;
}

}  // namespace flightwall
