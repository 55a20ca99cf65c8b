#include "decode/ipv4_decoder.h"

#include <gtest/gtest.h>

#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

TEST(Ipv4DecoderTest, PlainHeader) {
  const Bytes packet = testing::Ipv4("192.0.2.1", "198.51.100.2", 6, testing::Text("abcd"),
                                     testing::Ipv4Options().Id(77).Ttl(9));
  Ipv4Header ip;
  ASSERT_EQ(ParseIpv4(packet, &ip), nullptr);
  EXPECT_EQ(ip.src, testing::Addr("192.0.2.1"));
  EXPECT_EQ(ip.dst, testing::Addr("198.51.100.2"));
  EXPECT_EQ(ip.protocol, 6);
  EXPECT_EQ(ip.ttl, 9);
  EXPECT_EQ(ip.id, 77);
  EXPECT_EQ(ip.header_length, 20u);
  EXPECT_EQ(ip.total_length, 24u);
  EXPECT_FALSE(ip.IsFragment());
  EXPECT_FALSE(ip.truncated);
  EXPECT_EQ(Bytes(ip.payload.begin(), ip.payload.end()), testing::Text("abcd"));
}

TEST(Ipv4DecoderTest, OptionsAreSkipped) {
  // Router alert (4 bytes) + NOPs + end of list: IHL 8.
  const Bytes options{0x94, 0x04, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0};
  const Bytes packet = testing::Ipv4("10.0.0.1", "10.0.0.2", 17, testing::Text("xyz"),
                                     testing::Ipv4Options().Options(options));
  Ipv4Header ip;
  ASSERT_EQ(ParseIpv4(packet, &ip), nullptr);
  EXPECT_EQ(ip.header_length, 32u);
  EXPECT_EQ(Bytes(ip.payload.begin(), ip.payload.end()), testing::Text("xyz"));
}

TEST(Ipv4DecoderTest, EthernetPaddingIsNotPayload) {
  Bytes packet = testing::Ipv4("10.0.0.1", "10.0.0.2", 17, testing::Text("hi"));
  packet.resize(46, 0);  // padded to the Ethernet minimum
  Ipv4Header ip;
  ASSERT_EQ(ParseIpv4(packet, &ip), nullptr);
  EXPECT_EQ(ip.payload.size(), 2u);
  EXPECT_FALSE(ip.truncated);
}

TEST(Ipv4DecoderTest, ShortCaptureIsTruncatedNotMalformed) {
  Bytes packet = testing::Ipv4("10.0.0.1", "10.0.0.2", 17, Bytes(100, 7));
  packet.resize(60);
  Ipv4Header ip;
  ASSERT_EQ(ParseIpv4(packet, &ip), nullptr);
  EXPECT_TRUE(ip.truncated);
  EXPECT_EQ(ip.total_length, 120u);
  EXPECT_EQ(ip.payload.size(), 40u);
}

TEST(Ipv4DecoderTest, ZeroTotalLengthFromSegmentationOffloadUsesTheFrame) {
  const Bytes packet = testing::Ipv4("10.0.0.1", "10.0.0.2", 6, Bytes(3000, 1),
                                     testing::Ipv4Options().TotalLength(0));
  Ipv4Header ip;
  ASSERT_EQ(ParseIpv4(packet, &ip), nullptr);
  EXPECT_EQ(ip.payload.size(), 3000u);
}

TEST(Ipv4DecoderTest, FragmentFields) {
  const Bytes packet = testing::Ipv4("10.0.0.1", "10.0.0.2", 17, Bytes(16, 0),
                                     testing::Ipv4Options().More().Offset(1480));
  Ipv4Header ip;
  ASSERT_EQ(ParseIpv4(packet, &ip), nullptr);
  EXPECT_TRUE(ip.IsFragment());
  EXPECT_TRUE(ip.more_fragments);
  EXPECT_EQ(ip.fragment_offset, 1480u);
}

TEST(Ipv4DecoderTest, RejectsBadHeaders) {
  Ipv4Header ip;
  Bytes packet = testing::Ipv4("10.0.0.1", "10.0.0.2", 17, Bytes(8, 0));
  Bytes bad = packet;
  bad[0] = 0x44;  // IHL 4
  EXPECT_STREQ(ParseIpv4(bad, &ip), "IPv4 header length (IHL) is below 20 bytes");
  bad = packet;
  bad[0] = 0x4f;  // IHL 15 = 60 bytes, only 28 present
  EXPECT_STREQ(ParseIpv4(bad, &ip), "IPv4 options truncated");
  bad = packet;
  bad[0] = 0x65;
  EXPECT_STREQ(ParseIpv4(bad, &ip), "IPv4 header: version is not 4");
  bad = packet;
  bad[2] = 0;
  bad[3] = 19;
  EXPECT_STREQ(ParseIpv4(bad, &ip), "IPv4 total length is shorter than its header");
  for (std::size_t n = 0; n < 20; ++n) {
    EXPECT_STREQ(ParseIpv4(std::span(packet).first(n), &ip), "IPv4 header truncated") << n;
  }
}

}  // namespace
}  // namespace flightwall
