// The Build* functions, checked by parsing their output with the project's
// own PacketDecoder and DnsParser and by recomputing every checksum here.
#include "source/packet_injector.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "decode/packet_decoder.h"
#include "proto/dns_parser.h"

namespace flightwall {
namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::uint8_t kClient4[4] = {192, 0, 2, 10};
constexpr std::uint8_t kServer4[4] = {198, 51, 100, 10};
constexpr std::uint8_t kClient6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
                                       0,    0,    0,    0,    0, 0, 0, 0x10};
constexpr std::uint8_t kServer6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,
                                       0,    0,    0,    0,    0, 0, 0, 0x10};

void Put16(Bytes* b, std::size_t at, std::uint16_t v) {
  (*b)[at] = static_cast<std::uint8_t>(v >> 8);
  (*b)[at + 1] = static_cast<std::uint8_t>(v);
}
std::uint16_t Get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t Get32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// Straightforward RFC 1071 sum, independent of the injector's.
std::uint32_t OnesSum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i < n; ++i) sum += (i % 2 == 0) ? p[i] << 8 : p[i];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
// True when the transport checksum (with pseudo header unless ICMPv4) verifies.
bool TransportChecksumOk(const Bytes& d) {
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
bool Ipv4HeaderChecksumOk(const Bytes& d) { return OnesSum(d.data(), 20) == 0xffff; }

void FixTransportChecksum(Bytes* d, std::size_t checksum_at) {
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
Bytes Datagram(bool v6, std::uint8_t proto, const Bytes& l4) {
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

Bytes Tcp(bool v6, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::size_t payload) {
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

Bytes Udp(bool v6, std::uint16_t dport, const Bytes& payload) {
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
Bytes DnsQuery(std::uint16_t flags = 0x0100, std::uint16_t qdcount = 1) {
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

Built Decode(const Bytes& reply) {
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

template <typename Builder>
Built Build(const Bytes& in, Builder builder) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  const std::size_t n = builder(in, out);
  if (n == 0) return {};
  return Decode(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)));
}

auto Rst = [](std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  return BuildTcpReset(in, out);
};
auto Icmp = [](std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  return BuildIcmpUnreachable(in, out);
};
auto Refused = [](std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  return BuildDnsRefusal(in, 5, out);
};

void ExpectSwapped(const Built& b, bool v6) {
  ASSERT_EQ(b.status, DecodeStatus::kOk);
  EXPECT_EQ(b.decoded.src, v6 ? IpAddress::V6(kServer6) : IpAddress::V4(kServer4));
  EXPECT_EQ(b.decoded.dst, v6 ? IpAddress::V6(kClient6) : IpAddress::V4(kClient4));
  if (!v6) {
    EXPECT_TRUE(Ipv4HeaderChecksumOk(b.bytes));
  }
  EXPECT_TRUE(TransportChecksumOk(b.bytes));
}

class InjectorFamilyTest : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(V4AndV6, InjectorFamilyTest, ::testing::Values(false, true));

TEST_P(InjectorFamilyTest, ResetForSynAcknowledgesTheSyn) {
  const Built b = Build(Tcp(GetParam(), 0x02, 1000, 0, 0), Rst);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.src_port, 443);
  EXPECT_EQ(b.decoded.dst_port, 50000);
  EXPECT_EQ(b.decoded.tcp_flags_value, tcp_flags::kRst | tcp_flags::kAck);
  EXPECT_EQ(b.decoded.tcp_seq, 0u);
  EXPECT_EQ(b.decoded.tcp_ack, 1001u);
  EXPECT_TRUE(b.decoded.payload.empty());
}

TEST_P(InjectorFamilyTest, ResetForAckedSegmentTakesItsAck) {
  const Built b = Build(Tcp(GetParam(), 0x18, 5000, 0xfffffff0, 100), Rst);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.tcp_flags_value, tcp_flags::kRst);
  EXPECT_EQ(b.decoded.tcp_seq, 0xfffffff0u);
}

TEST_P(InjectorFamilyTest, ResetWithoutAckCountsPayloadAndFinAndWraps) {
  const Built b = Build(Tcp(GetParam(), 0x01, 0xfffffffa, 0, 10), Rst);  // FIN + 10 bytes
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.tcp_ack, 5u);  // 0xfffffffa + 11 wraps
}

TEST_P(InjectorFamilyTest, NeverAnswersAReset) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(BuildTcpReset(Tcp(GetParam(), 0x04, 1, 0, 0), out), 0u);
  EXPECT_EQ(BuildTcpReset(Tcp(GetParam(), 0x14, 1, 2, 0), out), 0u);
  EXPECT_EQ(BuildTcpReset(Udp(GetParam(), 53, DnsQuery()), out), 0u);  // not TCP
}

TEST_P(InjectorFamilyTest, IcmpUnreachableQuotesTheDatagram) {
  const Bytes in = Udp(GetParam(), 9999, Bytes(100, 'b'));
  const Built b = Build(in, Icmp);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.icmp_type, GetParam() ? 1 : 3);
  EXPECT_EQ(b.decoded.icmp_code, GetParam() ? 1 : 13);
  EXPECT_TRUE(b.decoded.icmp_is_error);
  ASSERT_TRUE(b.decoded.icmp_quoted.present);
  EXPECT_EQ(b.decoded.icmp_quoted.src,
            GetParam() ? IpAddress::V6(kClient6) : IpAddress::V4(kClient4));
  EXPECT_EQ(b.decoded.icmp_quoted.protocol, 17);
  EXPECT_EQ(b.decoded.icmp_quoted.src_port, 40000);
  EXPECT_EQ(b.decoded.icmp_quoted.dst_port, 9999);
  const std::size_t headers = GetParam() ? 48 : 28;
  ASSERT_EQ(b.bytes.size(), headers + in.size());  // small enough to quote whole
  EXPECT_TRUE(std::equal(in.begin(), in.end(), b.bytes.begin() + headers));
}

TEST_P(InjectorFamilyTest, IcmpQuoteIsBoundedByTheRfcLimits) {
  const Bytes in = Udp(GetParam(), 9999, Bytes(1400, 'b'));
  const Built b = Build(in, Icmp);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.bytes.size(), GetParam() ? 1280u : 576u);
  std::array<std::uint8_t, 100> small{};  // a smaller caller buffer bounds it too
  EXPECT_EQ(BuildIcmpUnreachable(in, small), 100u);
  std::array<std::uint8_t, 40> tiny{};  // cannot hold header + IP header + 8
  EXPECT_EQ(BuildIcmpUnreachable(in, tiny), 0u);
}

TEST_P(InjectorFamilyTest, NoIcmpErrorAboutIcmpErrors) {
  const bool v6 = GetParam();
  const std::uint8_t proto = v6 ? 58 : 1;
  Bytes error_msg(36, 0);
  error_msg[0] = v6 ? 1 : 3;  // destination unreachable
  Bytes echo(16, 0);
  echo[0] = v6 ? 128 : 8;  // echo request
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(BuildIcmpUnreachable(Datagram(v6, proto, error_msg), out), 0u);
  EXPECT_GT(BuildIcmpUnreachable(Datagram(v6, proto, echo), out), 0u);
}

TEST_P(InjectorFamilyTest, DnsRefusalEchoesIdAndQuestion) {
  const Built b = Build(Udp(GetParam(), 53, DnsQuery()), Refused);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.src_port, 53);
  EXPECT_EQ(b.decoded.dst_port, 40000);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.decoded.payload, &m), ParseStatus::kOk);
  EXPECT_TRUE(m.is_response);
  EXPECT_EQ(m.id, 0xbeef);
  EXPECT_EQ(m.rcode, 5);
  EXPECT_EQ(m.opcode, 0);
  EXPECT_EQ(m.answer_count, 0);
  ASSERT_EQ(m.questions_stored, 1u);
  EXPECT_EQ(m.questions[0].name.View(), "denied.example");
  EXPECT_EQ(m.questions[0].qtype, 1);
  const std::uint16_t flags = Get16(b.decoded.payload.data() + 2);
  EXPECT_EQ(flags & 0x0100, 0x0100);                   // RD echoed
  EXPECT_EQ(flags & 0x0080, 0x0080);                   // RA because recursion was asked for
  EXPECT_EQ(Get32(b.decoded.payload.data() + 6), 0u);  // no answer/authority records
}

TEST_P(InjectorFamilyTest, DnsNxdomainWithoutRecursion) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  const std::size_t n = BuildDnsRefusal(Udp(GetParam(), 53, DnsQuery(0x0010)), 3, out);
  ASSERT_GT(n, 0u);
  const Built b = Decode(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)));
  ExpectSwapped(b, GetParam());
  const std::uint16_t flags = Get16(b.decoded.payload.data() + 2);
  EXPECT_EQ(flags & 0x000f, 3);
  EXPECT_EQ(flags & 0x0180, 0);       // neither RD nor RA
  EXPECT_EQ(flags & 0x0010, 0x0010);  // CD echoed
}

TEST_P(InjectorFamilyTest, DnsRefusalOnlyForPlainQueries) {
  const bool v6 = GetParam();
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(BuildDnsRefusal(Udp(v6, 53, DnsQuery(0x8180)), 5, out), 0u);  // a response
  EXPECT_EQ(BuildDnsRefusal(Udp(v6, 53, DnsQuery(0x0100, 2)), 5, out), 0u);
  EXPECT_EQ(BuildDnsRefusal(Udp(v6, 53, DnsQuery(0x0100, 0)), 5, out), 0u);
  Bytes compressed = DnsQuery();
  compressed.resize(12);
  compressed.insert(compressed.end(), {0xc0, 0x0c, 0, 1, 0, 1});
  EXPECT_EQ(BuildDnsRefusal(Udp(v6, 53, compressed), 5, out), 0u);
  Bytes cut = DnsQuery();
  cut.resize(cut.size() - 3);  // question type/class missing
  EXPECT_EQ(BuildDnsRefusal(Udp(v6, 53, cut), 5, out), 0u);
  EXPECT_EQ(BuildDnsRefusal(Tcp(v6, 0x18, 1, 1, 30), 5, out), 0u);
  std::array<std::uint8_t, 50> small{};
  EXPECT_EQ(BuildDnsRefusal(Udp(v6, 53, DnsQuery()), 5, small), 0u);
}

TEST(PacketInjectorTest, NoRepliesForFragmentsOrMulticast) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  Bytes later = Udp(false, 53, DnsQuery());
  Put16(&later, 6, 0x0010);  // fragment offset 128 bytes
  EXPECT_EQ(BuildIcmpUnreachable(later, out), 0u);
  EXPECT_EQ(BuildDnsRefusal(later, 5, out), 0u);
  Bytes first = Tcp(false, 0x02, 1, 0, 0);
  Put16(&first, 6, 0x2000);  // MF: the first of several fragments
  EXPECT_EQ(BuildTcpReset(first, out), 0u);
  EXPECT_GT(BuildIcmpUnreachable(first, out), 0u);  // RFC 1812: errors for fragment zero

  Bytes multicast = Udp(false, 5353, DnsQuery());
  multicast[16] = 224;
  EXPECT_EQ(BuildIcmpUnreachable(multicast, out), 0u);
  EXPECT_EQ(BuildDnsRefusal(multicast, 5, out), 0u);
  Bytes v6_multicast = Udp(true, 5353, DnsQuery());
  v6_multicast[24] = 0xff;
  EXPECT_EQ(BuildIcmpUnreachable(v6_multicast, out), 0u);
}

TEST(PacketInjectorTest, SkipsIpv6ExtensionHeaders) {
  const Bytes plain = Tcp(true, 0x02, 7, 0, 0);
  Bytes with_ext(plain.begin(), plain.begin() + 40);
  with_ext[6] = 60;  // destination options, 8 bytes, then TCP
  with_ext.insert(with_ext.end(), {6, 0, 1, 4, 0, 0, 0, 0});
  with_ext.insert(with_ext.end(), plain.begin() + 40, plain.end());
  Put16(&with_ext, 4, static_cast<std::uint16_t>(with_ext.size() - 40));
  const Built b = Build(with_ext, Rst);
  ExpectSwapped(b, true);
  EXPECT_EQ(b.decoded.tcp_ack, 8u);
}

// Every prefix and every single-byte corruption of valid inputs: no crash,
// and whatever is built is a well-formed packet with valid checksums.
TEST(PacketInjectorTest, TruncatedAndCorruptedInputsAreSafe) {
  std::vector<Bytes> inputs;
  for (const bool v6 : {false, true}) {
    inputs.push_back(Tcp(v6, 0x02, 1, 0, 0));
    inputs.push_back(Tcp(v6, 0x11, 1, 2, 40));
    inputs.push_back(Udp(v6, 53, DnsQuery()));
    inputs.push_back(Udp(v6, 9999, Bytes(700, 'z')));
  }
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  auto check = [&](const Bytes& in) {
    for (int kind = 0; kind < 3; ++kind) {
      const std::size_t n = kind == 0   ? BuildTcpReset(in, out)
                            : kind == 1 ? BuildIcmpUnreachable(in, out)
                                        : BuildDnsRefusal(in, 5, out);
      ASSERT_LE(n, out.size());
      if (n == 0) continue;
      const Bytes reply(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
      if ((reply[0] >> 4) == 4) {
        ASSERT_TRUE(Ipv4HeaderChecksumOk(reply));
      }
      ASSERT_TRUE(TransportChecksumOk(reply)) << "kind " << kind;
    }
  };
  for (const Bytes& in : inputs) {
    for (std::size_t len = 0; len <= in.size(); ++len)
      check(Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(len)));
    for (std::size_t i = 0; i < std::min<std::size_t>(in.size(), 120); ++i) {
      for (const std::uint8_t v : {0x00, 0xff, 0x3f, 0xc0}) {
        Bytes bad = in;
        bad[i] = v;
        check(bad);
      }
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng() % 200);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (!junk.empty()) junk[0] = (i % 2 == 0) ? 0x45 : 0x60;
    check(junk);
  }
}

TEST(PacketInjectorTest, TruncatedCaptureStillAnswersWithDeclaredLength) {
  // NFQUEUE copies whole packets, but a caller may pass a cut datagram: the
  // RST must still acknowledge the length the IP header declares.
  const Bytes in = Tcp(false, 0x00, 100, 0, 500);
  const Built b = Build(Bytes(in.begin(), in.begin() + 60), Rst);
  ExpectSwapped(b, false);
  EXPECT_EQ(b.decoded.tcp_ack, 600u);
}

}  // namespace
}  // namespace flightwall
