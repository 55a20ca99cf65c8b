// Which flows carry DNS and which servers a flight app may ask: the one
// definition the decisions and the engine share.
#include "policy/dns_rules.h"

#include <gtest/gtest.h>

#include "policy/decide.h"

namespace flightwall {
namespace {

Policy DnsOnPort(std::uint16_t port) {
  Policy p;
  p.dns.resolvers = {*IpAddress::Parse("203.0.113.53"), *IpAddress::Parse("2001:db8::53")};
  p.dns.ports = {port};
  return p;
}

TEST(DnsRulesTest, OnlyListedResolversMayBeAsked) {
  const Policy p = DnsOnPort(53);
  EXPECT_TRUE(IsAllowedResolver(p, *IpAddress::Parse("203.0.113.53")));
  EXPECT_TRUE(IsAllowedResolver(p, *IpAddress::Parse("2001:db8::53")));
  EXPECT_FALSE(IsAllowedResolver(p, *IpAddress::Parse("203.0.113.54")));
  EXPECT_FALSE(IsAllowedResolver(p, *IpAddress::Parse("8.8.8.8")));
}

TEST(DnsRulesTest, PolicyPortsAnd53AlwaysCarryDns) {
  const Policy p = DnsOnPort(5300);
  EXPECT_TRUE(IsDnsPort(p, 5300));
  EXPECT_FALSE(IsDnsPort(p, 53));
  for (Transport t : {Transport::kTcp, Transport::kUdp}) {
    EXPECT_TRUE(CarriesDns(p, t, 5300));
    EXPECT_TRUE(CarriesDns(p, t, 53));  // whatever the policy lists
    EXPECT_FALSE(CarriesDns(p, t, 443));
  }
  EXPECT_TRUE(CarriesDns(p, Transport::kUdp, 5353));  // mDNS
  EXPECT_FALSE(CarriesDns(p, Transport::kTcp, 5353));
}

TEST(DnsRulesTest, DnsToAnotherServerIsDeniedOnEveryDnsPort) {
  // A CIDR rule that would allow the address does not let DNS reach a
  // server that is not a resolver, even on a port the policy does not list.
  Policy p = DnsOnPort(5300);
  AllowRule rule;
  rule.name = "lan";
  rule.cidrs.push_back(*Cidr::Parse("198.51.100.0/24"));
  p.allow.push_back(rule);
  FlowFacts f;
  f.transport = Transport::kUdp;
  f.dst = *IpAddress::Parse("198.51.100.7");
  for (std::uint16_t port : {std::uint16_t{53}, std::uint16_t{5300}, std::uint16_t{5353}}) {
    f.dst_port = port;
    EXPECT_EQ(DecideFlow(p, f).reason, Reason::kDnsResolverNotAllowed) << port;
  }
  f.dst_port = 123;
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kAllowedCidr);
  f.dst = *IpAddress::Parse("203.0.113.53");
  f.dst_port = 53;
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kDnsAllowed);
  EXPECT_EQ(DecideDnsQuestion(p, *IpAddress::Parse("198.51.100.7"), "a.com").reason,
            Reason::kDnsResolverNotAllowed);
}

}  // namespace
}  // namespace flightwall
