// BuildTcpReset and BuildTcpAck (daemon/reply/tcp_reply.cpp): RFC 9293
// seq/ack rules, declared lengths, byte-exact checksums.
#include <gtest/gtest.h>

#include "reply/reply_builder.h"
#include "unit/reply/reply_frames.h"

namespace flightwall::reply_test {
namespace {

class TcpReplyFamilyTest : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(V4AndV6, TcpReplyFamilyTest, ::testing::Values(false, true));

TEST_P(TcpReplyFamilyTest, ResetForSynAcknowledgesTheSyn) {
  const Built b = Build(Tcp(GetParam(), 0x02, 1000, 0, 0), Rst);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.src_port, 443);
  EXPECT_EQ(b.decoded.dst_port, 50000);
  EXPECT_EQ(b.decoded.tcp_flags_value, tcp_flags::kRst | tcp_flags::kAck);
  EXPECT_EQ(b.decoded.tcp_seq, 0u);
  EXPECT_EQ(b.decoded.tcp_ack, 1001u);
  EXPECT_TRUE(b.decoded.payload.empty());
}

TEST_P(TcpReplyFamilyTest, ResetForAckedSegmentTakesItsAck) {
  const Built b = Build(Tcp(GetParam(), 0x18, 5000, 0xfffffff0, 100), Rst);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.tcp_flags_value, tcp_flags::kRst);
  EXPECT_EQ(b.decoded.tcp_seq, 0xfffffff0u);
}

TEST_P(TcpReplyFamilyTest, ResetWithoutAckCountsPayloadAndFinAndWraps) {
  const Built b = Build(Tcp(GetParam(), 0x01, 0xfffffffa, 0, 10), Rst);  // FIN + 10 bytes
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.tcp_ack, 5u);  // 0xfffffffa + 11 wraps
}

TEST_P(TcpReplyFamilyTest, NeverAnswersAReset) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(Reset(Tcp(GetParam(), 0x04, 1, 0, 0), out), 0u);
  EXPECT_EQ(Reset(Tcp(GetParam(), 0x14, 1, 2, 0), out), 0u);
  EXPECT_EQ(Reset(Udp(GetParam(), 53, DnsQuery()), out), 0u);  // not TCP
}

TEST(TcpReplyTest, SkipsIpv6ExtensionHeaders) {
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

TEST(TcpReplyTest, TruncatedCaptureStillAnswersWithDeclaredLength) {
  // NFQUEUE copies whole packets, but a caller may pass a cut datagram: the
  // RST must still acknowledge the length the IP header declares.
  const Bytes in = Tcp(false, 0x00, 100, 0, 500);
  const Built b = Build(Bytes(in.begin(), in.begin() + 60), Rst);
  ExpectSwapped(b, false);
  EXPECT_EQ(b.decoded.tcp_ack, 600u);
}

TEST_P(TcpReplyFamilyTest, ResetAcknowledgesTheDeclaredLengthModulo32Bits) {
  Offending o(Tcp(GetParam(), 0x00, 0xfffffff0, 0, 10));
  ASSERT_EQ(o.status, DecodeStatus::kOk);
  ASSERT_EQ(o.pkt.payload_length, 10u);
  DecodedPacket pkt = o.pkt;
  pkt.payload_length = 0xffffffff;  // a claim no datagram can make
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  const std::size_t n = BuildTcpReset(pkt, out);
  ASSERT_GT(n, 0u);
  const Built b = Decode(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)));
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.tcp_ack, 0xffffffefu);  // 0xfffffff0 + 0xffffffff, wrapped
}

TEST_P(TcpReplyFamilyTest, AckForHeldDataAcknowledgesAllOfIt) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  const Bytes in = Tcp(GetParam(), 0x18, 0xffffff00, 77, 300);  // PSH|ACK, 300 bytes
  const std::size_t n = Ack(in, 4242, 5000, out);
  ASSERT_GT(n, 0u);
  const Built b = Decode(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)));
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.src_port, 443);
  EXPECT_EQ(b.decoded.dst_port, 50000);
  EXPECT_EQ(b.decoded.tcp_flags_value, tcp_flags::kAck);
  EXPECT_EQ(b.decoded.tcp_seq, 4242u);
  EXPECT_EQ(b.decoded.tcp_ack, 0x2cu);  // 0xffffff00 + 300 wraps
  EXPECT_EQ(b.decoded.tcp_window, 5000);
  EXPECT_TRUE(b.decoded.payload.empty());
  // Data segments only: no ACK for SYN, FIN, RST or an empty segment.
  EXPECT_EQ(Ack(Tcp(GetParam(), 0x02, 1, 0, 0), 1, 1, out), 0u);
  EXPECT_EQ(Ack(Tcp(GetParam(), 0x11, 1, 1, 10), 1, 1, out), 0u);
  EXPECT_EQ(Ack(Tcp(GetParam(), 0x14, 1, 1, 10), 1, 1, out), 0u);
  EXPECT_EQ(Ack(Tcp(GetParam(), 0x10, 1, 1, 0), 1, 1, out), 0u);
  EXPECT_EQ(Ack(Udp(GetParam(), 443, Bytes(10, 'q')), 1, 1, out), 0u);
  std::array<std::uint8_t, 39> small{};
  EXPECT_EQ(Ack(in, 1, 1, small), 0u);
}

TEST_P(TcpReplyFamilyTest, MismatchedAddressFamiliesGetNoReply) {
  Offending o(Tcp(GetParam(), 0x02, 1, 0, 0));
  ASSERT_EQ(o.status, DecodeStatus::kOk);
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  DecodedPacket pkt = o.pkt;
  pkt.dst = GetParam() ? IpAddress::V4(kServer4) : IpAddress::V6(kServer6);
  EXPECT_EQ(BuildTcpReset(pkt, out), 0u);
  EXPECT_EQ(BuildIcmpUnreachable(pkt, o.bytes, out), 0u);
  pkt = o.pkt;
  pkt.src = IpAddress();  // unset
  EXPECT_EQ(BuildTcpReset(pkt, out), 0u);
  EXPECT_GT(BuildTcpReset(o.pkt, out), 0u);
}

}  // namespace
}  // namespace flightwall::reply_test
