// BuildIcmpUnreachable (daemon/reply/icmp_unreachable.cpp): the quote, its
// RFC limits, and that it never leaves the datagram it is given.
#include <gtest/gtest.h>

#include "reply/reply_builder.h"
#include "unit/reply/reply_frames.h"

namespace flightwall::reply_test {
namespace {

class IcmpUnreachableFamilyTest : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(V4AndV6, IcmpUnreachableFamilyTest, ::testing::Values(false, true));

TEST_P(IcmpUnreachableFamilyTest, IcmpUnreachableQuotesTheDatagram) {
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

TEST_P(IcmpUnreachableFamilyTest, IcmpQuoteIsBoundedByTheRfcLimits) {
  const Bytes in = Udp(GetParam(), 9999, Bytes(1400, 'b'));
  const Built b = Build(in, Icmp);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.bytes.size(), GetParam() ? 1280u : 576u);
  std::array<std::uint8_t, 100> small{};  // a smaller caller buffer bounds it too
  EXPECT_EQ(Unreachable(in, small), 100u);
  std::array<std::uint8_t, 40> tiny{};  // cannot hold header + IP header + 8
  EXPECT_EQ(Unreachable(in, tiny), 0u);
}

TEST_P(IcmpUnreachableFamilyTest, NoIcmpErrorAboutIcmpErrors) {
  const bool v6 = GetParam();
  const std::uint8_t proto = v6 ? 58 : 1;
  Bytes error_msg(36, 0);
  error_msg[0] = v6 ? 1 : 3;  // destination unreachable
  Bytes echo(16, 0);
  echo[0] = v6 ? 128 : 8;  // echo request
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(Unreachable(Datagram(v6, proto, error_msg), out), 0u);
  EXPECT_GT(Unreachable(Datagram(v6, proto, echo), out), 0u);
}

TEST_P(IcmpUnreachableFamilyTest, IcmpQuoteStaysInsideTheDatagramWhateverThePacketClaims) {
  const bool v6 = GetParam();
  Offending o(Udp(v6, 9999, Bytes(100, 'b')));
  ASSERT_EQ(o.status, DecodeStatus::kOk);
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  const std::size_t headers = v6 ? 48 : 28;
  DecodedPacket pkt = o.pkt;
  pkt.ip_length = 60000;  // claims far more than the datagram holds
  ASSERT_EQ(BuildIcmpUnreachable(pkt, o.bytes, out), headers + o.bytes.size());
  // Quoted from a shorter view: only what the view holds.
  const std::span<const std::uint8_t> view(o.bytes.data(), o.pkt.transport_offset + 8);
  EXPECT_EQ(BuildIcmpUnreachable(pkt, view, out), headers + view.size());
  // Too short to hold the IP headers and 8 bytes: nothing.
  EXPECT_EQ(BuildIcmpUnreachable(pkt, view.first(view.size() - 1), out), 0u);
  pkt = o.pkt;
  pkt.transport_offset = 5000;  // beyond the datagram
  EXPECT_EQ(BuildIcmpUnreachable(pkt, o.bytes, out), 0u);
  pkt.transport_offset = 8;  // inside the fixed IP header: not a header length
  EXPECT_EQ(BuildIcmpUnreachable(pkt, o.bytes, out), 0u);
  pkt = o.pkt;
  pkt.ip_length = 10;  // declared shorter than its own header
  EXPECT_EQ(BuildIcmpUnreachable(pkt, o.bytes, out), 0u);
  // A datagram of the other IP version is not the one decoded.
  Offending other(Udp(!v6, 9999, Bytes(100, 'b')));
  EXPECT_EQ(BuildIcmpUnreachable(o.pkt, other.bytes, out), 0u);
  EXPECT_EQ(BuildIcmpUnreachable(o.pkt, {}, out), 0u);
}

}  // namespace
}  // namespace flightwall::reply_test
