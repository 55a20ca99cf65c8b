#include "decode/ipv6_decoder.h"

#include <gtest/gtest.h>

#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kTcp = 6;

TEST(Ipv6DecoderTest, PlainHeader) {
  const Bytes packet = testing::Ipv6("2001:db8::1", "2001:db8::2", kUdp, testing::Text("data"), 33);
  Ipv6Header ip;
  ASSERT_EQ(ParseIpv6(packet, &ip), nullptr);
  EXPECT_EQ(ip.src, testing::Addr("2001:db8::1"));
  EXPECT_EQ(ip.dst, testing::Addr("2001:db8::2"));
  EXPECT_EQ(ip.hop_limit, 33);
  EXPECT_EQ(ip.total_length, 44u);
  EXPECT_EQ(ip.chain.protocol, kUdp);
  EXPECT_FALSE(ip.chain.fragment);
  EXPECT_EQ(Bytes(ip.chain.payload.begin(), ip.chain.payload.end()), testing::Text("data"));
}

TEST(Ipv6DecoderTest, WalksTheExtensionChain) {
  // hop-by-hop -> routing -> destination options -> AH -> mobility(135) -> TCP
  Bytes ah{135, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};  // (1 + 2) * 4 = 12 bytes
  testing::Append(&ah, testing::Ipv6Ext(kTcp, 0, testing::Text("tcp!")));
  const Bytes chain = testing::Ipv6Ext(43, 0, testing::Ipv6Ext(60, 1, testing::Ipv6Ext(51, 0, ah)));
  const Bytes packet = testing::Ipv6("2001:db8::1", "2001:db8::2", 0, chain);
  Ipv6Header ip;
  ASSERT_EQ(ParseIpv6(packet, &ip), nullptr);
  EXPECT_EQ(ip.chain.protocol, kTcp);
  EXPECT_EQ(Bytes(ip.chain.payload.begin(), ip.chain.payload.end()), testing::Text("tcp!"));
}

TEST(Ipv6DecoderTest, StopsAtEspAndNoNextHeader) {
  for (std::uint8_t stop : {50, 59}) {
    const Bytes packet =
        testing::Ipv6("2001:db8::1", "2001:db8::2", 0, testing::Ipv6Ext(stop, 0, Bytes(8, 0xee)));
    Ipv6Header ip;
    ASSERT_EQ(ParseIpv6(packet, &ip), nullptr);
    EXPECT_EQ(ip.chain.protocol, stop);
    EXPECT_EQ(ip.chain.payload.size(), 8u);
  }
}

TEST(Ipv6DecoderTest, FragmentHeaderEndsTheWalk) {
  const Bytes packet =
      testing::Ipv6("2001:db8::1", "2001:db8::2", 44,
                    testing::Ipv6Fragment(kUdp, 1232, true, 0xabcdef01, Bytes(16, 1)));
  Ipv6Header ip;
  ASSERT_EQ(ParseIpv6(packet, &ip), nullptr);
  EXPECT_TRUE(ip.chain.IsRealFragment());
  EXPECT_EQ(ip.chain.fragment_id, 0xabcdef01u);
  EXPECT_EQ(ip.chain.fragment_offset, 1232u);
  EXPECT_TRUE(ip.chain.more_fragments);
  EXPECT_EQ(ip.chain.protocol, kUdp);
  EXPECT_EQ(ip.chain.payload.size(), 16u);
}

TEST(Ipv6DecoderTest, AtomicFragmentIsAWholeDatagram) {
  const Bytes packet = testing::Ipv6("2001:db8::1", "2001:db8::2", 44,
                                     testing::Ipv6Fragment(kUdp, 0, false, 5, testing::Text("u")));
  Ipv6Header ip;
  ASSERT_EQ(ParseIpv6(packet, &ip), nullptr);
  EXPECT_FALSE(ip.chain.IsRealFragment());
  EXPECT_EQ(ip.chain.protocol, kUdp);
  EXPECT_EQ(ip.chain.payload.size(), 1u);
}

TEST(Ipv6DecoderTest, BoundsTheNumberOfExtensionHeaders) {
  Bytes chain = testing::Text("x");
  for (int i = 0; i <= kMaxIpv6ExtensionHeaders; ++i) {
    chain = testing::Ipv6Ext(i == 0 ? kUdp : 60, 0, chain);
  }
  const Bytes packet = testing::Ipv6("2001:db8::1", "2001:db8::2", 60, chain);
  Ipv6Header ip;
  EXPECT_STREQ(ParseIpv6(packet, &ip), "too many IPv6 extension headers");
}

TEST(Ipv6DecoderTest, TruncatedExtensionAndPaddingAndShortCapture) {
  Ipv6Header ip;
  Bytes packet = testing::Ipv6("2001:db8::1", "2001:db8::2", 0, testing::Ipv6Ext(kUdp, 2, {}));
  packet.resize(packet.size() - 1);
  packet[5] = static_cast<std::uint8_t>(packet.size() - 40);
  EXPECT_STREQ(ParseIpv6(packet, &ip), "IPv6 extension header truncated");

  Bytes padded = testing::Ipv6("2001:db8::1", "2001:db8::2", kUdp, testing::Text("ab"));
  padded.resize(60, 0);
  ASSERT_EQ(ParseIpv6(padded, &ip), nullptr);
  EXPECT_EQ(ip.chain.payload.size(), 2u);

  Bytes cut = testing::Ipv6("2001:db8::1", "2001:db8::2", kUdp, Bytes(100, 0));
  cut.resize(70);
  ASSERT_EQ(ParseIpv6(cut, &ip), nullptr);
  EXPECT_TRUE(ip.truncated);
  EXPECT_EQ(ip.chain.payload.size(), 30u);

  for (std::size_t n = 0; n < 40; ++n) {
    EXPECT_STREQ(ParseIpv6(std::span(padded).first(n), &ip), "IPv6 header truncated");
  }
  Bytes v4 = padded;
  v4[0] = 0x45;
  EXPECT_STREQ(ParseIpv6(v4, &ip), "IPv6 header: version is not 6");
}

}  // namespace
}  // namespace flightwall
