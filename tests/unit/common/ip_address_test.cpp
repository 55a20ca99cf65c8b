#include "common/ip_address.h"

#include <gtest/gtest.h>

#include "unit/status_matchers.h"

namespace flightwall {
namespace {

TEST(IpAddressTest, ParsesAndPrintsBothFamilies) {
  auto v4 = IpAddress::Parse("192.0.2.10");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->IsV6());
  EXPECT_EQ(v4->ToString(), "192.0.2.10");
  auto v6 = IpAddress::Parse("2001:DB8::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->IsV6());
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::Parse("192.0.2"));
  EXPECT_FALSE(IpAddress::Parse("example.com"));
  EXPECT_FALSE(IpAddress::Parse(""));
}

TEST(CidrTest, ContainsRespectsPrefixAndFamily) {
  auto c = Cidr::Parse("198.51.100.0/25");
  ASSERT_TRUE(IsOk(c));
  EXPECT_TRUE(c->Contains(*IpAddress::Parse("198.51.100.127")));
  EXPECT_FALSE(c->Contains(*IpAddress::Parse("198.51.100.128")));
  EXPECT_FALSE(c->Contains(*IpAddress::Parse("2001:db8::1")));
  auto c6 = Cidr::Parse("2001:db8:1::/48");
  ASSERT_TRUE(IsOk(c6));
  EXPECT_TRUE(c6->Contains(*IpAddress::Parse("2001:db8:1:ffff::5")));
  EXPECT_FALSE(c6->Contains(*IpAddress::Parse("2001:db8:2::5")));
  auto any = Cidr::Parse("0.0.0.0/0");
  ASSERT_TRUE(IsOk(any));
  EXPECT_TRUE(any->Contains(*IpAddress::Parse("203.0.113.1")));
}

TEST(CidrTest, RejectsTyposWithReason) {
  EXPECT_NE(Cidr::Parse("192.0.2.1/24").status().message().find("network address"),
            std::string::npos);
  EXPECT_EQ(Cidr::Parse("192.0.2.0/33").status().message(), "IPv4 prefix length is at most 32");
  EXPECT_EQ(Cidr::Parse("192.0.2.0/").status().message(), "prefix length must be a number");
  EXPECT_EQ(Cidr::Parse("192.0.2.0/2x").status().message(), "prefix length must be a number");
  EXPECT_EQ(Cidr::Parse("300.0.2.0/24").status().message(), "not an IPv4 or IPv6 address");
  auto host = Cidr::Parse("203.0.113.53");
  ASSERT_TRUE(IsOk(host));
  EXPECT_EQ(host->PrefixLength(), 32);
}

}  // namespace
}  // namespace flightwall
