#include "decode/link_decoder.h"

#include <gtest/gtest.h>

#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

const Bytes kIpv4 = testing::Ipv4("192.0.2.1", "198.51.100.2", 17, testing::Udp(1, 2, {}));
const Bytes kIpv6 = testing::Ipv6("2001:db8::1", "2001:db8::2", 17, testing::Udp(1, 2, {}));

void ExpectIp(const LinkResult& r, std::uint8_t version, const Bytes& ip) {
  ASSERT_EQ(r.status, LinkStatus::kIp) << (r.error ? r.error : "");
  EXPECT_EQ(r.ip_version, version);
  EXPECT_EQ(Bytes(r.network.begin(), r.network.end()), ip);
}

TEST(LinkDecoderTest, EthernetIpv4AndIpv6) {
  ExpectIp(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x0800, kIpv4)), 4, kIpv4);
  ExpectIp(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x86dd, kIpv6)), 6, kIpv6);
}

TEST(LinkDecoderTest, VlanQinQAndStackedTags) {
  ExpectIp(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x0800, kIpv4, {{0x8100, 10}})), 4,
           kIpv4);
  ExpectIp(DecodeLink(LinkType::kEthernet,
                      testing::Ethernet(0x86dd, kIpv6, {{0x88a8, 100}, {0x8100, 10}})),
           6, kIpv6);
  ExpectIp(DecodeLink(LinkType::kEthernet,
                      testing::Ethernet(0x0800, kIpv4, {{0x9100, 1}, {0x9100, 2}, {0x8100, 3}})),
           4, kIpv4);
}

TEST(LinkDecoderTest, TooManyVlanTagsIsMalformed) {
  Bytes frame = testing::Ethernet(0x0800, kIpv4,
                                  {{0x8100, 1},
                                   {0x8100, 2},
                                   {0x8100, 3},
                                   {0x8100, 4},
                                   {0x8100, 5},
                                   {0x8100, 6},
                                   {0x8100, 7},
                                   {0x8100, 8},
                                   {0x8100, 9}});
  const auto r = DecodeLink(LinkType::kEthernet, frame);
  EXPECT_EQ(r.status, LinkStatus::kMalformed);
  EXPECT_STREQ(r.error, "too many VLAN tags");
}

TEST(LinkDecoderTest, ArpAndLlcAreNotIp) {
  EXPECT_EQ(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x0806, Bytes(28, 0))).status,
            LinkStatus::kNotIp);
  EXPECT_EQ(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x0030, Bytes(48, 0))).status,
            LinkStatus::kNotIp);
  EXPECT_EQ(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x8847, Bytes(8, 0))).status,
            LinkStatus::kUnsupported);
}

TEST(LinkDecoderTest, PppoeSession) {
  Bytes pppoe{0x11, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x21};
  testing::Append(&pppoe, kIpv4);
  ExpectIp(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x8864, pppoe, {{0x8100, 7}})), 4,
           kIpv4);
  Bytes lcp{0x11, 0x00, 0x00, 0x01, 0x00, 0x04, 0xc0, 0x21, 1, 2};
  EXPECT_EQ(DecodeLink(LinkType::kEthernet, testing::Ethernet(0x8864, lcp)).status,
            LinkStatus::kNotIp);
}

TEST(LinkDecoderTest, LinuxCookedV1AndV2) {
  ExpectIp(DecodeLink(LinkType::kLinuxSll, testing::Sll(0x0800, kIpv4)), 4, kIpv4);
  ExpectIp(DecodeLink(LinkType::kLinuxSll, testing::Sll(0x86dd, kIpv6)), 6, kIpv6);
  ExpectIp(DecodeLink(LinkType::kLinuxSll2, testing::Sll2(0x0800, kIpv4)), 4, kIpv4);
  ExpectIp(DecodeLink(LinkType::kLinuxSll2, testing::Sll2(0x86dd, kIpv6)), 6, kIpv6);
  EXPECT_EQ(DecodeLink(LinkType::kLinuxSll, testing::Sll(0x0806, Bytes(28, 0))).status,
            LinkStatus::kNotIp);
}

TEST(LinkDecoderTest, BsdNullInEitherByteOrderAndAllIpv6Families) {
  ExpectIp(DecodeLink(LinkType::kNull, testing::NullLittleEndian(2, kIpv4)), 4, kIpv4);
  ExpectIp(DecodeLink(LinkType::kNull, testing::BigEndianFamily(2, kIpv4)), 4, kIpv4);
  for (std::uint32_t family : {24u, 28u, 30u}) {
    ExpectIp(DecodeLink(LinkType::kNull, testing::NullLittleEndian(family, kIpv6)), 6, kIpv6);
    ExpectIp(DecodeLink(LinkType::kNull, testing::BigEndianFamily(family, kIpv6)), 6, kIpv6);
  }
  EXPECT_EQ(DecodeLink(LinkType::kNull, testing::NullLittleEndian(7, kIpv4)).status,
            LinkStatus::kNotIp);
}

TEST(LinkDecoderTest, OpenBsdLoopIsNetworkOrder) {
  ExpectIp(DecodeLink(LinkType::kLoop, testing::BigEndianFamily(2, kIpv4)), 4, kIpv4);
  ExpectIp(DecodeLink(LinkType::kLoop, testing::BigEndianFamily(24, kIpv6)), 6, kIpv6);
  EXPECT_EQ(DecodeLink(LinkType::kLoop, testing::NullLittleEndian(2, kIpv4)).status,
            LinkStatus::kNotIp);
}

TEST(LinkDecoderTest, RawAndFixedVersionLinkTypes) {
  ExpectIp(DecodeLink(LinkType::kRaw, kIpv4), 4, kIpv4);
  ExpectIp(DecodeLink(LinkType::kRaw, kIpv6), 6, kIpv6);
  ExpectIp(DecodeLink(LinkType::kIpv4, kIpv4), 4, kIpv4);
  ExpectIp(DecodeLink(LinkType::kIpv6, kIpv6), 6, kIpv6);
  EXPECT_EQ(DecodeLink(LinkType::kIpv4, kIpv6).status, LinkStatus::kMalformed);
  EXPECT_EQ(DecodeLink(LinkType::kIpv6, kIpv4).status, LinkStatus::kMalformed);
  EXPECT_EQ(DecodeLink(LinkType::kRaw, Bytes{0x50, 0}).status, LinkStatus::kMalformed);
  EXPECT_EQ(DecodeLink(LinkType::kRaw, Bytes{}).status, LinkStatus::kMalformed);
}

TEST(LinkDecoderTest, UnknownLinkTypeIsUnsupported) {
  const auto r = DecodeLink(static_cast<LinkType>(105), kIpv4);  // 802.11
  EXPECT_EQ(r.status, LinkStatus::kUnsupported);
  EXPECT_NE(r.error, nullptr);
}

TEST(LinkDecoderTest, EveryTruncatedLinkHeaderIsMalformed) {
  const struct {
    LinkType link;
    Bytes frame;
    std::size_t header;
  } cases[] = {
      {LinkType::kEthernet, testing::Ethernet(0x0800, kIpv4, {{0x8100, 1}, {0x88a8, 2}}), 22},
      {LinkType::kLinuxSll, testing::Sll(0x0800, kIpv4), 16},
      {LinkType::kLinuxSll2, testing::Sll2(0x0800, kIpv4), 20},
      {LinkType::kNull, testing::NullLittleEndian(2, kIpv4), 4},
      {LinkType::kLoop, testing::BigEndianFamily(2, kIpv4), 4},
  };
  for (const auto& c : cases) {
    for (std::size_t n = 0; n < c.header; ++n) {
      const Bytes prefix(c.frame.begin(), c.frame.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_EQ(DecodeLink(c.link, prefix).status, LinkStatus::kMalformed)
          << "link " << static_cast<int>(c.link) << " prefix " << n;
    }
    // The header alone is fine: what follows is the IP layer's problem.
    const Bytes header_only(c.frame.begin(),
                            c.frame.begin() + static_cast<std::ptrdiff_t>(c.header));
    const auto r = DecodeLink(c.link, header_only);
    EXPECT_EQ(r.status, LinkStatus::kIp);
    EXPECT_TRUE(r.network.empty());
  }
}

}  // namespace
}  // namespace flightwall
