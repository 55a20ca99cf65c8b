#include "source/packet_injector.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/byte_cursor.h"

namespace flightwall {
namespace {

constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kReplyTtl = 64;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;
// RFC 1812 4.3.2.3: an ICMPv4 error is at most 576 bytes; RFC 4443 2.4(c):
// an ICMPv6 error must not exceed the minimum IPv6 MTU.
constexpr std::size_t kIcmpv4ErrorLimit = 576;
constexpr std::size_t kIcmpv6ErrorLimit = 1280;

// The network header of the offending datagram, as far as a reply needs it.
struct IpView {
  bool v6 = false;
  std::span<const std::uint8_t> src;
  std::span<const std::uint8_t> dst;
  std::uint8_t protocol = 0;
  std::size_t header_len = 0;           // offset of the transport header
  std::size_t declared_length = 0;      // datagram length according to the IP header
  bool not_first_fragment = false;      // no transport header in this fragment
  bool more_fragments = false;          // the transport payload continues elsewhere
  std::span<const std::uint8_t> bytes;  // what we have, cut to declared_length
};

bool IsV6ExtensionHeader(std::uint8_t next) {
  return next == 0 || next == 43 || next == 60;  // hop-by-hop, routing, destination options
}

bool ParseIpv6(std::span<const std::uint8_t> data, IpView* v) {
  ByteCursor c(data);
  c.Skip(4);
  const std::uint16_t payload_length = c.U16();
  std::uint8_t next = c.U8();
  c.Skip(1);
  v->src = c.Bytes(16);
  v->dst = c.Bytes(16);
  if (!c.Ok() || payload_length == 0) return false;  // jumbograms are not answered
  v->v6 = true;
  v->declared_length = kIpv6Header + payload_length;
  v->bytes = data.first(std::min(data.size(), v->declared_length));
  ByteCursor ext(v->bytes);
  ext.Skip(kIpv6Header);
  for (int i = 0; i < 8 && IsV6ExtensionHeader(next); ++i) {
    const std::uint8_t following = ext.U8();
    const std::size_t length = (std::size_t{ext.U8()} + 1) * 8;
    if (!ext.Ok() || !ext.Skip(length - 2)) return false;
    next = following;
  }
  if (next == 44) {  // fragment header
    const std::uint8_t following = ext.U8();
    ext.Skip(1);
    const std::uint16_t offset_flags = ext.U16();
    ext.Skip(4);
    if (!ext.Ok()) return false;
    v->not_first_fragment = (offset_flags & 0xfff8) != 0;
    v->more_fragments = (offset_flags & 1) != 0;
    next = following;
  }
  if (IsV6ExtensionHeader(next) || next == 44) return false;  // too many headers
  v->protocol = next;
  v->header_len = ext.Position();
  return true;
}

bool ParseIp(std::span<const std::uint8_t> data, IpView* v) {
  if (data.empty()) return false;
  const std::uint8_t version = data[0] >> 4;
  if (version == 6) return ParseIpv6(data, v);
  if (version != 4) return false;
  ByteCursor c(data);
  const std::size_t ihl = static_cast<std::size_t>(c.U8() & 0x0f) * 4;
  c.Skip(1);
  const std::uint16_t total_length = c.U16();
  c.Skip(2);
  const std::uint16_t flags_offset = c.U16();
  c.Skip(1);
  v->protocol = c.U8();
  c.Skip(2);
  v->src = c.Bytes(4);
  v->dst = c.Bytes(4);
  if (!c.Ok() || ihl < kIpv4Header || total_length < ihl || data.size() < ihl) return false;
  v->v6 = false;
  v->header_len = ihl;
  v->declared_length = total_length;
  v->bytes = data.first(std::min<std::size_t>(data.size(), total_length));
  v->not_first_fragment = (flags_offset & 0x1fff) != 0;
  v->more_fragments = (flags_offset & 0x2000) != 0;
  return true;
}

// Addresses we never answer from or to: a reply to them would be a
// broadcast storm or is meaningless (RFC 1122 3.2.2, RFC 4443 2.4(e)).
bool IsUnicast(std::span<const std::uint8_t> a, bool v6) {
  if (v6) {
    if (a[0] == 0xff) return false;
    return std::any_of(a.begin(), a.end(), [](std::uint8_t b) { return b != 0; });
  }
  if (a[0] >= 224) return false;  // multicast, reserved, limited broadcast
  return !(a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0);
}

bool Answerable(const IpView& v) { return IsUnicast(v.src, v.v6) && IsUnicast(v.dst, v.v6); }

void Put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void Put32(std::uint8_t* p, std::uint32_t v) {
  Put16(p, static_cast<std::uint16_t>(v >> 16));
  Put16(p + 2, static_cast<std::uint16_t>(v));
}
std::uint16_t Get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// RFC 1071 one's-complement sum of big-endian 16-bit words.
std::uint64_t Sum(std::span<const std::uint8_t> bytes, std::uint64_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += Get16(&bytes[i]);
  if (i < bytes.size()) sum += std::uint64_t{bytes[i]} << 8;
  return sum;
}
std::uint16_t Fold(std::uint64_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// Writes the reply's IP header (addresses swapped) and returns its length.
std::size_t WriteIpHeader(const IpView& orig, std::uint8_t protocol, std::size_t payload_len,
                          std::uint8_t* out) {
  if (orig.v6) {
    Put32(out, 0x60000000);
    Put16(out + 4, static_cast<std::uint16_t>(payload_len));
    out[6] = protocol;
    out[7] = kReplyTtl;
    std::memcpy(out + 8, orig.dst.data(), 16);
    std::memcpy(out + 24, orig.src.data(), 16);
    return kIpv6Header;
  }
  std::memset(out, 0, kIpv4Header);
  out[0] = 0x45;
  Put16(out + 2, static_cast<std::uint16_t>(kIpv4Header + payload_len));
  Put16(out + 6, 0x4000);  // DF: these replies are small and never fragmented
  out[8] = kReplyTtl;
  out[9] = protocol;
  std::memcpy(out + 12, orig.dst.data(), 4);
  std::memcpy(out + 16, orig.src.data(), 4);
  Put16(out + 10, Fold(Sum(std::span<const std::uint8_t>(out, kIpv4Header))));
  return kIpv4Header;
}

// Checksum of a transport message with the pseudo header of `ip` (the
// reply's own header, written already). ICMPv4 has no pseudo header.
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

// A whole (unfragmented) datagram of `protocol` that may be answered, with
// *transport positioned at its transport header.
bool ParseAnswerable(std::span<const std::uint8_t> datagram, std::uint8_t protocol, IpView* ip,
                     ByteCursor* transport) {
  if (!ParseIp(datagram, ip) || ip->protocol != protocol || ip->not_first_fragment ||
      ip->more_fragments || !Answerable(*ip)) {
    return false;
  }
  *transport = ByteCursor(ip->bytes);
  transport->Skip(ip->header_len);
  return true;
}

}  // namespace

namespace {

struct TcpSegmentView {
  IpView ip;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::size_t length = 0;  // sequence space the segment occupies (payload, SYN, FIN)
};

bool ParseTcpSegment(std::span<const std::uint8_t> datagram, TcpSegmentView* t) {
  ByteCursor c;
  if (!ParseAnswerable(datagram, kProtoTcp, &t->ip, &c)) return false;
  t->src_port = c.U16();
  t->dst_port = c.U16();
  t->seq = c.U32();
  t->ack = c.U32();
  const std::size_t data_offset = static_cast<std::size_t>(c.U8() >> 4) * 4;
  t->flags = c.U8();
  if (!c.Ok() || data_offset < 20 || t->ip.header_len + data_offset > t->ip.declared_length) {
    return false;
  }
  t->length = t->ip.declared_length - t->ip.header_len - data_offset +
              ((t->flags & 0x02) != 0 ? 1 : 0) + ((t->flags & 0x01) != 0 ? 1 : 0);
  return true;
}

// A bare TCP header from the segment's destination back to its source.
std::size_t WriteTcpReply(const TcpSegmentView& t, std::uint32_t seq, std::uint32_t ack,
                          std::uint8_t flags, std::uint16_t window, std::span<std::uint8_t> out) {
  const std::size_t ip_len = t.ip.v6 ? kIpv6Header : kIpv4Header;
  constexpr std::size_t kTcpLen = 20;
  if (out.size() < ip_len + kTcpLen) return 0;
  std::uint8_t* p = out.data();
  WriteIpHeader(t.ip, kProtoTcp, kTcpLen, p);
  std::uint8_t* tcp = p + ip_len;
  std::memset(tcp, 0, kTcpLen);
  Put16(tcp, t.dst_port);
  Put16(tcp + 2, t.src_port);
  Put32(tcp + 4, seq);
  Put32(tcp + 8, ack);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  Put16(tcp + 14, window);
  Put16(tcp + 16, TransportChecksum(p, t.ip.v6, kProtoTcp, {tcp, kTcpLen}));
  return ip_len + kTcpLen;
}

}  // namespace

std::size_t BuildTcpReset(std::span<const std::uint8_t> datagram, std::span<std::uint8_t> out) {
  TcpSegmentView t;
  if (!ParseTcpSegment(datagram, &t)) return 0;
  if ((t.flags & 0x04) != 0) return 0;  // never answer a reset (RFC 9293 3.10.7.1)
  // RFC 9293 3.10.7.1: take the sequence number from the segment's ACK;
  // without one, acknowledge everything the segment occupied.
  if ((t.flags & 0x10) != 0) return WriteTcpReply(t, t.ack, 0, 0x04, 0, out);
  return WriteTcpReply(t, 0, t.seq + static_cast<std::uint32_t>(t.length), 0x14, 0, out);
}

std::size_t BuildTcpAck(std::span<const std::uint8_t> datagram, std::uint32_t server_seq,
                        std::uint16_t window, std::span<std::uint8_t> out) {
  TcpSegmentView t;
  if (!ParseTcpSegment(datagram, &t)) return 0;
  if ((t.flags & 0x07) != 0 || t.length == 0) return 0;  // data segments only
  return WriteTcpReply(t, server_seq, t.seq + static_cast<std::uint32_t>(t.length), 0x10, window,
                       out);
}

std::size_t BuildIcmpUnreachable(std::span<const std::uint8_t> datagram,
                                 std::span<std::uint8_t> out) {
  IpView ip;
  if (!ParseIp(datagram, &ip) || ip.not_first_fragment || !Answerable(ip)) return 0;
  // No ICMP error about an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4(e)), nor
  // about neighbour discovery and other informational ICMPv6 we cannot judge.
  if (ip.protocol == kProtoIcmp || ip.protocol == kProtoIcmpv6) {
    if (ip.bytes.size() <= ip.header_len) return 0;
    const std::uint8_t type = ip.bytes[ip.header_len];
    if (ip.protocol == kProtoIcmp && type != 8 && type != 13 && type != 15 && type != 17) {
      return 0;
    }
    if (ip.protocol == kProtoIcmpv6 && type != 128) return 0;
  }
  const std::size_t headers = (ip.v6 ? kIpv6Header : kIpv4Header) + 8;
  const std::size_t limit = std::min(out.size(), ip.v6 ? kIcmpv6ErrorLimit : kIcmpv4ErrorLimit);
  // The quote must at least identify the flow: IP header + 8 bytes (RFC 792).
  if (limit < headers || ip.bytes.size() < ip.header_len + 8 ||
      limit - headers < ip.header_len + 8) {
    return 0;
  }
  const std::size_t quote = std::min(ip.bytes.size(), limit - headers);
  const std::uint8_t protocol = ip.v6 ? kProtoIcmpv6 : kProtoIcmp;
  std::uint8_t* p = out.data();
  const std::size_t ip_len = WriteIpHeader(ip, protocol, 8 + quote, p);
  std::uint8_t* icmp = p + ip_len;
  std::memset(icmp, 0, 8);
  icmp[0] = ip.v6 ? 1 : 3;   // destination unreachable
  icmp[1] = ip.v6 ? 1 : 13;  // administratively prohibited
  std::memcpy(icmp + 8, ip.bytes.data(), quote);
  Put16(icmp + 2, TransportChecksum(p, ip.v6, protocol, {icmp, 8 + quote}));
  return ip_len + 8 + quote;
}

std::size_t BuildDnsRefusal(std::span<const std::uint8_t> datagram, std::uint8_t rcode,
                            std::span<std::uint8_t> out) {
  IpView ip;
  ByteCursor c;
  if (!ParseAnswerable(datagram, kProtoUdp, &ip, &c)) return 0;
  const std::uint16_t src_port = c.U16();
  const std::uint16_t dst_port = c.U16();
  const std::uint16_t udp_length = c.U16();
  c.Skip(2);
  if (!c.Ok() || udp_length < 8 || udp_length > c.Remaining() + 8) return 0;
  const std::span<const std::uint8_t> dns = c.Bytes(udp_length - 8);
  ByteCursor d(dns);
  const std::uint16_t id = d.U16();
  const std::uint16_t flags = d.U16();
  const std::uint16_t qdcount = d.U16();
  d.Skip(6);
  if (!d.Ok() || (flags & 0x8000) != 0 || qdcount != 1) return 0;  // a query with one question
  const std::size_t question = QuestionLength(d.Rest());
  if (question == 0) return 0;

  const std::size_t ip_len = ip.v6 ? kIpv6Header : kIpv4Header;
  const std::size_t udp_len = 8 + 12 + question;
  if (out.size() < ip_len + udp_len) return 0;
  std::uint8_t* p = out.data();
  WriteIpHeader(ip, kProtoUdp, udp_len, p);
  std::uint8_t* udp = p + ip_len;
  Put16(udp, dst_port);
  Put16(udp + 2, src_port);
  Put16(udp + 4, static_cast<std::uint16_t>(udp_len));
  Put16(udp + 6, 0);
  std::uint8_t* h = udp + 8;
  // QR; opcode, RD and CD echoed (RFC 1035 4.1.1, RFC 6840 5.9); RA mirrors RD
  // because we answer as the recursive resolver the client asked.
  const std::uint16_t rd = flags & 0x0100;
  const std::uint16_t reply_flags = static_cast<std::uint16_t>(
      0x8000 | (flags & 0x7800) | rd | (rd != 0 ? 0x0080 : 0) | (flags & 0x0010) | (rcode & 0x0f));
  Put16(h, id);
  Put16(h + 2, reply_flags);
  Put16(h + 4, 1);
  std::memset(h + 6, 0, 6);
  std::memcpy(h + 12, d.Rest().data(), question);
  std::uint16_t checksum = TransportChecksum(p, ip.v6, kProtoUdp, {udp, udp_len});
  if (checksum == 0) checksum = 0xffff;  // 0 would mean "no checksum" (forbidden over IPv6)
  Put16(udp + 6, checksum);
  return ip_len + udp_len;
}

std::unique_ptr<PacketInjector> PacketInjector::Open(std::string* error,
                                                     std::uint32_t socket_mark) {
  std::unique_ptr<PacketInjector> injector(new PacketInjector());
  // With IPPROTO_RAW both families imply IP(V6)_HDRINCL on Linux: we send
  // the whole datagram, spoofed source included.
  injector->fd4_ = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (injector->fd4_ < 0) {
    *error = std::string("cannot open a raw IPv4 socket to send resets and ICMP errors: ") +
             std::strerror(errno) + " (run as root or with CAP_NET_RAW)";
    return nullptr;
  }
  // IPv6 may be disabled on this host; IPv6 replies then fail and are counted.
  injector->fd6_ = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (socket_mark != 0) {
    for (const int fd : {injector->fd4_, injector->fd6_}) {
      if (fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_MARK, &socket_mark, sizeof socket_mark) != 0) {
        *error = std::string("cannot mark injected packets (SO_MARK): ") + std::strerror(errno) +
                 " (run as root or with CAP_NET_ADMIN)";
        return nullptr;
      }
    }
  }
  return injector;
}

PacketInjector::~PacketInjector() {
  if (fd4_ >= 0) ::close(fd4_);
  if (fd6_ >= 0) ::close(fd6_);
}

bool PacketInjector::Send(std::span<const std::uint8_t> datagram) {
  ssize_t sent = -1;
  if (datagram.size() >= kIpv4Header && (datagram[0] >> 4) == 4 && fd4_ >= 0) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, datagram.data() + 16, 4);
    sent = ::sendto(fd4_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to);
  } else if (datagram.size() >= kIpv6Header && (datagram[0] >> 4) == 6 && fd6_ >= 0) {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    std::memcpy(&to.sin6_addr, datagram.data() + 24, 16);
    sent = ::sendto(fd6_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to);
  }
  if (sent != static_cast<ssize_t>(datagram.size())) {
    ++failures_;
    return false;
  }
  return true;
}

}  // namespace flightwall
