// Datagrams for the reply builders' tests, and the checks on what they
// build: the offending datagram is decoded by the project's own PacketDecoder
// first (as the enforcer has it), and each reply is decoded again and its
// checksums recomputed here, independently of daemon/reply.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "decode/packet_decoder.h"
#include "reply/reply_builder.h"

namespace flightwall::reply_test {

using Bytes = std::vector<std::uint8_t>;
inline constexpr std::uint8_t kClient4[4] = {192, 0, 2, 10};
inline constexpr std::uint8_t kServer4[4] = {198, 51, 100, 10};
inline constexpr std::uint8_t kClient6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                                              0,    0,    0,    0,    0, 0, 0, 0x10};
inline constexpr std::uint8_t kServer6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,
                                              0,    0,    0,    0,    0, 0, 0, 0x10};

inline void Put16(Bytes* b, std::size_t at, std::uint16_t v) {
  (*b)[at] = static_cast<std::uint8_t>(v >> 8);
  (*b)[at + 1] = static_cast<std::uint8_t>(v);
}
inline std::uint16_t Get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint32_t Get32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// Straightforward RFC 1071 sum, independent of the builders'.
inline std::uint32_t OnesSum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i < n; ++i) sum += (i % 2 == 0) ? p[i] << 8 : p[i];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
// True when the transport checksum (with pseudo header unless ICMPv4) verifies.
inline bool TransportChecksumOk(const Bytes& d) {
  const bool v6 = (d[0] >> 4) == 6;
  const std::size_t ip_len = v6 ? 40 : (d[0] & 0xf) * 4u;
  const std::uint8_t proto = v6 ? d[6] : d[9];
  const std::size_t l4 = d.size() - ip_len;
  std::uint32_t sum = OnesSum(d.data() + ip_len, l4);
  if (proto != 1) {
    sum = OnesSum(d.data() + (v6 ? 8 : 12), v6 ? 32 : 8, sum);
    sum += proto + static_cast<std::uint32_t>(l4);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  }
  return sum == 0xffff;
}
inline bool Ipv4HeaderChecksumOk(const Bytes& d) { return OnesSum(d.data(), 20) == 0xffff; }

inline void FixTransportChecksum(Bytes* d, std::size_t checksum_at) {
  Put16(d, checksum_at, 0);
  const bool v6 = ((*d)[0] >> 4) == 6;
  const std::size_t ip_len = v6 ? 40 : 20;
  const std::uint8_t proto = v6 ? (*d)[6] : (*d)[9];
  std::uint32_t sum = OnesSum(d->data() + ip_len, d->size() - ip_len);
  if (proto != 1) {
    sum = OnesSum(d->data() + (v6 ? 8 : 12), v6 ? 32 : 8, sum);
    sum += proto + static_cast<std::uint32_t>(d->size() - ip_len);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  }
  Put16(d, checksum_at, static_cast<std::uint16_t>(~sum));
}

// client -> server datagram with the given transport header + payload.
inline Bytes Datagram(bool v6, std::uint8_t proto, const Bytes& l4) {
  Bytes d(v6 ? 40 : 20, 0);
  if (v6) {
    d[0] = 0x60;
    Put16(&d, 4, static_cast<std::uint16_t>(l4.size()));
    d[6] = proto;
    d[7] = 64;
    std::copy(kClient6, kClient6 + 16, d.begin() + 8);
    std::copy(kServer6, kServer6 + 16, d.begin() + 24);
  } else {
    d[0] = 0x45;
    Put16(&d, 2, static_cast<std::uint16_t>(20 + l4.size()));
    d[8] = 64;
    d[9] = proto;
    std::copy(kClient4, kClient4 + 4, d.begin() + 12);
    std::copy(kServer4, kServer4 + 4, d.begin() + 16);
    Put16(&d, 10, static_cast<std::uint16_t>(~OnesSum(d.data(), 20)));
  }
  d.insert(d.end(), l4.begin(), l4.end());
  return d;
}

inline Bytes Tcp(bool v6, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                 std::size_t payload) {
  Bytes l4(20 + payload, 'x');
  const Bytes header = {0xc3,
                        0x50,
                        0x01,
                        0xbb,  // 50000 -> 443
                        static_cast<std::uint8_t>(seq >> 24),
                        static_cast<std::uint8_t>(seq >> 16),
                        static_cast<std::uint8_t>(seq >> 8),
                        static_cast<std::uint8_t>(seq),
                        static_cast<std::uint8_t>(ack >> 24),
                        static_cast<std::uint8_t>(ack >> 16),
                        static_cast<std::uint8_t>(ack >> 8),
                        static_cast<std::uint8_t>(ack),
                        0x50,
                        flags,
                        0xff,
                        0xff,
                        0,
                        0,
                        0,
                        0};
  std::copy(header.begin(), header.end(), l4.begin());
  Bytes d = Datagram(v6, 6, l4);
  FixTransportChecksum(&d, (v6 ? 40 : 20) + 16);
  return d;
}

inline Bytes Udp(bool v6, std::uint16_t dport, const Bytes& payload) {
  Bytes l4(8, 0);
  Put16(&l4, 0, 40000);
  Put16(&l4, 2, dport);
  Put16(&l4, 4, static_cast<std::uint16_t>(8 + payload.size()));
  l4.insert(l4.end(), payload.begin(), payload.end());
  Bytes d = Datagram(v6, 17, l4);
  FixTransportChecksum(&d, (v6 ? 40 : 20) + 6);
  return d;
}

// DNS query for "Denied.Example" A with RD.
inline Bytes DnsQuery(std::uint16_t flags = 0x0100, std::uint16_t qdcount = 1) {
  Bytes q = {0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  Put16(&q, 2, flags);
  Put16(&q, 4, qdcount);
  for (const std::string label : {"Denied", "Example"}) {
    q.push_back(static_cast<std::uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  return q;
}

struct Built {
  Bytes bytes;
  DecodedPacket decoded;
  DecodeStatus status = DecodeStatus::kMalformed;
};

inline Built Decode(const Bytes& reply) {
  Built b;
  b.bytes = reply;
  PacketDecoder decoder;
  RawPacket raw;
  raw.link = LinkType::kRaw;
  raw.data = b.bytes;
  raw.wire_length = static_cast<std::uint32_t>(b.bytes.size());
  b.status = decoder.Decode(raw, &b.decoded);
  return b;
}

// The offending datagram as the enforcer has it: decoded first. What does
// not decode gets no reply (the enforcer drops it without one).
template <typename Builder>
inline std::size_t FromDecoded(const Bytes& in, Builder build) {
  PacketDecoder decoder;
  RawPacket raw;
  raw.link = LinkType::kRaw;
  raw.data = in;
  raw.wire_length = static_cast<std::uint32_t>(in.size());
  DecodedPacket pkt;
  if (decoder.Decode(raw, &pkt) != DecodeStatus::kOk) return 0;
  return build(pkt);
}
inline std::size_t Reset(const Bytes& in, std::span<std::uint8_t> out) {
  return FromDecoded(in, [&](const DecodedPacket& p) { return BuildTcpReset(p, out); });
}
inline std::size_t Unreachable(const Bytes& in, std::span<std::uint8_t> out) {
  return FromDecoded(in, [&](const DecodedPacket& p) { return BuildIcmpUnreachable(p, in, out); });
}
inline std::size_t Refusal(const Bytes& in, std::uint8_t rcode, std::span<std::uint8_t> out) {
  return FromDecoded(in, [&](const DecodedPacket& p) { return BuildDnsRefusal(p, rcode, out); });
}
inline std::size_t Ack(const Bytes& in, std::uint32_t server_seq, std::uint16_t window,
                       std::span<std::uint8_t> out) {
  return FromDecoded(
      in, [&](const DecodedPacket& p) { return BuildTcpAck(p, server_seq, window, out); });
}

template <typename Builder>
inline Built Build(const Bytes& in, Builder builder) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  const std::size_t n = builder(in, out);
  if (n == 0) return {};
  return Decode(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)));
}

inline std::size_t Rst(const Bytes& in, std::span<std::uint8_t> out) { return Reset(in, out); }
inline std::size_t Icmp(const Bytes& in, std::span<std::uint8_t> out) {
  return Unreachable(in, out);
}
inline std::size_t Refused(const Bytes& in, std::span<std::uint8_t> out) {
  return Refusal(in, 5, out);
}

inline void ExpectSwapped(const Built& b, bool v6) {
  ASSERT_EQ(b.status, DecodeStatus::kOk);
  EXPECT_EQ(b.decoded.src, v6 ? IpAddress::V6(kServer6) : IpAddress::V4(kServer4));
  EXPECT_EQ(b.decoded.dst, v6 ? IpAddress::V6(kClient6) : IpAddress::V4(kClient4));
  if (!v6) {
    EXPECT_TRUE(Ipv4HeaderChecksumOk(b.bytes));
  }
  EXPECT_TRUE(TransportChecksumOk(b.bytes));
}

// A decoded packet as the decoder leaves it for `in`, kept with its bytes.
struct Offending {
  explicit Offending(Bytes in) : bytes(std::move(in)) {
    PacketDecoder decoder;
    RawPacket raw;
    raw.link = LinkType::kRaw;
    raw.data = bytes;
    status = decoder.Decode(raw, &pkt);
  }
  Offending(const Offending&) = delete;
  Offending& operator=(const Offending&) = delete;
  Bytes bytes;
  DecodedPacket pkt;
  DecodeStatus status = DecodeStatus::kMalformed;
};

}  // namespace flightwall::reply_test
