#include "decode/transport_decoder.h"

#include <gtest/gtest.h>

#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

DecodedPacket WithProtocol(IpProto p) {
  DecodedPacket d;
  d.protocol = static_cast<std::uint8_t>(p);
  return d;
}

Bytes Payload(const DecodedPacket& d) { return Bytes(d.payload.begin(), d.payload.end()); }

TEST(TransportDecoderTest, TcpSkipsOptions) {
  const Bytes options{2, 4, 0x05, 0xb4, 1, 1, 4, 2};  // MSS, NOP, NOP, SACK permitted
  const Bytes seg = testing::Tcp(40000, 443, tcp_flags::kSyn | tcp_flags::kAck,
                                 testing::Text("hello"), 0x01020304, 0x0a0b0c0d, options);
  auto d = WithProtocol(IpProto::kTcp);
  ASSERT_EQ(DecodeTransport(seg, &d), nullptr);
  EXPECT_EQ(d.src_port, 40000);
  EXPECT_EQ(d.dst_port, 443);
  EXPECT_EQ(d.tcp_flags_value, tcp_flags::kSyn | tcp_flags::kAck);
  EXPECT_EQ(d.tcp_seq, 0x01020304u);
  EXPECT_EQ(d.tcp_ack, 0x0a0b0c0du);
  EXPECT_EQ(d.tcp_window, 65535);
  EXPECT_EQ(Payload(d), testing::Text("hello"));
}

TEST(TransportDecoderTest, TcpBadDataOffset) {
  Bytes seg = testing::Tcp(1, 2, 0, testing::Text("x"));
  auto d = WithProtocol(IpProto::kTcp);
  seg[12] = 0x40;
  EXPECT_STREQ(DecodeTransport(seg, &d), "TCP data offset is below 20 bytes");
  seg[12] = 0xf0;
  EXPECT_STREQ(DecodeTransport(seg, &d), "TCP options truncated");
}

TEST(TransportDecoderTest, UdpHonoursItsLengthField) {
  Bytes dgram = testing::Udp(5353, 53, testing::Text("query"));
  dgram.push_back(0);  // trailing junk beyond the UDP length
  auto d = WithProtocol(IpProto::kUdp);
  ASSERT_EQ(DecodeTransport(dgram, &d), nullptr);
  EXPECT_EQ(d.src_port, 5353);
  EXPECT_EQ(d.dst_port, 53);
  EXPECT_EQ(Payload(d), testing::Text("query"));
  EXPECT_FALSE(d.truncated);
}

TEST(TransportDecoderTest, UdpLongerThanCapturedIsTruncated) {
  const Bytes dgram = testing::Udp(1, 2, testing::Text("abc"), 100);
  auto d = WithProtocol(IpProto::kUdp);
  ASSERT_EQ(DecodeTransport(dgram, &d), nullptr);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(Payload(d), testing::Text("abc"));
  const Bytes tiny = testing::Udp(1, 2, {}, 7);
  EXPECT_STREQ(DecodeTransport(tiny, &d), "UDP length is below 8 bytes");
}

TEST(TransportDecoderTest, IcmpEcho) {
  auto d = WithProtocol(IpProto::kIcmp);
  const Bytes request = testing::Icmp(8, 0, 0x1234, 7, testing::Text("ping"));  // outlives d
  ASSERT_EQ(DecodeTransport(request, &d), nullptr);
  EXPECT_TRUE(d.icmp_is_echo_request);
  EXPECT_FALSE(d.icmp_is_error);
  EXPECT_EQ(d.icmp_id, 0x1234);
  EXPECT_EQ(d.icmp_seq, 7);
  EXPECT_EQ(Payload(d), testing::Text("ping"));
  d = WithProtocol(IpProto::kIcmp);
  ASSERT_EQ(DecodeTransport(testing::Icmp(0, 0, 1, 2), &d), nullptr);
  EXPECT_TRUE(d.icmp_is_echo_reply);
  d = WithProtocol(IpProto::kIcmpv6);
  ASSERT_EQ(DecodeTransport(testing::Icmp(128, 0, 9, 10), &d), nullptr);
  EXPECT_TRUE(d.icmp_is_echo_request);
  EXPECT_EQ(d.icmp_id, 9);
  d = WithProtocol(IpProto::kIcmpv6);
  ASSERT_EQ(DecodeTransport(testing::Icmp(129, 0, 9, 10), &d), nullptr);
  EXPECT_TRUE(d.icmp_is_echo_reply);
}

TEST(TransportDecoderTest, IcmpErrorsQuoteTcpAndUdp) {
  const Bytes inner_udp =
      testing::Ipv4("10.0.0.5", "203.0.113.9", 17, testing::Udp(5000, 53, Bytes(40, 0)));
  for (std::uint8_t type : {3, 4, 5, 11, 12}) {
    // Routers quote the IP header and at least 8 bytes: cut the rest.
    const Bytes quote(inner_udp.begin(), inner_udp.begin() + 28);
    auto d = WithProtocol(IpProto::kIcmp);
    ASSERT_EQ(DecodeTransport(testing::Icmp(type, 1, 0, 0, quote), &d), nullptr);
    EXPECT_TRUE(d.icmp_is_error) << int{type};
    ASSERT_TRUE(d.icmp_quoted.present);
    EXPECT_EQ(d.icmp_quoted.src, testing::Addr("10.0.0.5"));
    EXPECT_EQ(d.icmp_quoted.dst, testing::Addr("203.0.113.9"));
    EXPECT_EQ(d.icmp_quoted.protocol, 17);
    EXPECT_EQ(d.icmp_quoted.src_port, 5000);
    EXPECT_EQ(d.icmp_quoted.dst_port, 53);
  }
  const Bytes inner_tcp =
      testing::Ipv6("2001:db8::5", "2001:db8::9", 6, testing::Tcp(41000, 443, tcp_flags::kSyn));
  for (std::uint8_t type : {1, 2, 3, 4}) {
    auto d = WithProtocol(IpProto::kIcmpv6);
    ASSERT_EQ(DecodeTransport(testing::Icmp(type, 0, 0, 0, inner_tcp), &d), nullptr);
    EXPECT_TRUE(d.icmp_is_error);
    ASSERT_TRUE(d.icmp_quoted.present);
    EXPECT_EQ(d.icmp_quoted.src, testing::Addr("2001:db8::5"));
    EXPECT_EQ(d.icmp_quoted.protocol, 6);
    EXPECT_EQ(d.icmp_quoted.src_port, 41000);
    EXPECT_EQ(d.icmp_quoted.dst_port, 443);
  }
}

TEST(TransportDecoderTest, ShortOrBrokenQuotesStillDecodeTheError) {
  const Bytes inner =
      testing::Ipv4("10.0.0.5", "203.0.113.9", 6, testing::Tcp(1234, 80, tcp_flags::kSyn));
  // Only the IP header quoted: addresses but no ports.
  auto d = WithProtocol(IpProto::kIcmp);
  ASSERT_EQ(
      DecodeTransport(testing::Icmp(3, 3, 0, 0, Bytes(inner.begin(), inner.begin() + 22)), &d),
      nullptr);
  ASSERT_TRUE(d.icmp_quoted.present);
  EXPECT_EQ(d.icmp_quoted.src_port, 0);
  // Garbage quote: the error is reported without a quote.
  d = WithProtocol(IpProto::kIcmp);
  ASSERT_EQ(DecodeTransport(testing::Icmp(11, 0, 0, 0, Bytes(12, 0xff)), &d), nullptr);
  EXPECT_TRUE(d.icmp_is_error);
  EXPECT_FALSE(d.icmp_quoted.present);
  // A quoted non-first fragment has no ports to give.
  const Bytes frag = testing::Ipv4("10.0.0.5", "203.0.113.9", 17, Bytes(16, 1),
                                   testing::Ipv4Options().Offset(1480));
  d = WithProtocol(IpProto::kIcmp);
  ASSERT_EQ(DecodeTransport(testing::Icmp(3, 4, 0, 0, frag), &d), nullptr);
  ASSERT_TRUE(d.icmp_quoted.present);
  EXPECT_EQ(d.icmp_quoted.src_port, 0);
}

TEST(TransportDecoderTest, TruncatedIcmp) {
  auto d = WithProtocol(IpProto::kIcmp);
  EXPECT_STREQ(DecodeTransport(Bytes{8, 0, 0}, &d), "ICMP header truncated");
  EXPECT_STREQ(DecodeTransport(Bytes{8, 0, 0, 0, 1}, &d), "ICMP message truncated");
  d = WithProtocol(IpProto::kIcmpv6);
  EXPECT_STREQ(DecodeTransport(Bytes{1, 0, 0, 0}, &d), "ICMPv6 message truncated");
  // Router solicitation-like short message with no echo/error meaning is fine.
  d = WithProtocol(IpProto::kIcmpv6);
  EXPECT_EQ(DecodeTransport(Bytes{133, 0, 0, 0}, &d), nullptr);
}

TEST(TransportDecoderTest, OtherProtocolsPassThrough) {
  DecodedPacket d;
  d.protocol = 47;  // GRE
  const Bytes gre{0, 0, 0x08, 0};
  ASSERT_EQ(DecodeTransport(gre, &d), nullptr);
  EXPECT_EQ(d.src_port, 0);
  EXPECT_EQ(Payload(d), gre);
}

}  // namespace
}  // namespace flightwall
