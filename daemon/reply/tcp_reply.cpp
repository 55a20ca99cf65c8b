// BuildTcpReset and BuildTcpAck (reply/reply_builder.h): a bare TCP header
// from the segment's destination back to its source.
#include <cstring>

#include "reply/reply_builder.h"
#include "reply/reply_datagram.h"

namespace flightwall {
namespace {

using reply::kProtoTcp;
using reply::Put16;
using reply::Put32;

// Sequence space the segment occupies: its declared payload, +1 for SYN
// and for FIN.
std::uint32_t SegmentLength(const DecodedPacket& pkt) {
  return pkt.payload_length + ((pkt.tcp_flags_value & tcp_flags::kSyn) != 0 ? 1 : 0) +
         ((pkt.tcp_flags_value & tcp_flags::kFin) != 0 ? 1 : 0);
}

bool IsAnswerableTcp(const DecodedPacket& pkt) {
  return pkt.protocol == kProtoTcp && reply::Answerable(pkt);
}

std::size_t WriteTcpReply(const DecodedPacket& pkt, std::uint32_t seq, std::uint32_t ack,
                          std::uint8_t flags, std::uint16_t window, std::span<std::uint8_t> out) {
  const std::size_t ip_len = reply::IpHeaderLength(pkt);
  constexpr std::size_t kTcpLen = 20;
  if (out.size() < ip_len + kTcpLen) return 0;
  std::uint8_t* p = out.data();
  reply::WriteIpHeader(pkt, kProtoTcp, kTcpLen, p);
  std::uint8_t* tcp = p + ip_len;
  std::memset(tcp, 0, kTcpLen);
  Put16(tcp, pkt.dst_port);
  Put16(tcp + 2, pkt.src_port);
  Put32(tcp + 4, seq);
  Put32(tcp + 8, ack);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  Put16(tcp + 14, window);
  Put16(tcp + 16, reply::TransportChecksum(p, pkt.src.IsV6(), kProtoTcp, {tcp, kTcpLen}));
  return ip_len + kTcpLen;
}

}  // namespace

std::size_t BuildTcpReset(const DecodedPacket& pkt, std::span<std::uint8_t> out) {
  if (!IsAnswerableTcp(pkt)) return 0;
  const std::uint8_t flags = pkt.tcp_flags_value;
  if ((flags & tcp_flags::kRst) != 0) return 0;  // never answer a reset (RFC 9293 3.10.7.1)
  // RFC 9293 3.10.7.1: take the sequence number from the segment's ACK;
  // without one, acknowledge everything the segment occupied.
  if ((flags & tcp_flags::kAck) != 0) {
    return WriteTcpReply(pkt, pkt.tcp_ack, 0, tcp_flags::kRst, 0, out);
  }
  return WriteTcpReply(pkt, 0, pkt.tcp_seq + SegmentLength(pkt), tcp_flags::kRst | tcp_flags::kAck,
                       0, out);
}

std::size_t BuildTcpAck(const DecodedPacket& pkt, std::uint32_t server_seq, std::uint16_t window,
                        std::span<std::uint8_t> out) {
  if (!IsAnswerableTcp(pkt)) return 0;
  constexpr std::uint8_t kNotData = tcp_flags::kSyn | tcp_flags::kRst | tcp_flags::kFin;
  if ((pkt.tcp_flags_value & kNotData) != 0 || pkt.payload_length == 0) return 0;  // data only
  return WriteTcpReply(pkt, server_seq, pkt.tcp_seq + SegmentLength(pkt), tcp_flags::kAck, window,
                       out);
}

}  // namespace flightwall
