#include <gtest/gtest.h>

#include "policy/policy_loader.h"
#include "policy_test_helpers.h"

namespace flightwall {
namespace {

TEST(DescribePolicyTest, IsNormalizedOneFactALine) {
  const std::string text =
      "version: 1\n"
      "name: demo\n"
      "mode: audit\n"
      "flight_apps:\n"
      "  - name: tablet\n"
      "    interfaces: [lan0]\n"
      "    sources: [\"2001:DB8:1::/64\"]\n"
      "  - name: app\n"
      "    users: [pilot]\n"
      "dns:\n"
      "  resolvers: [203.0.113.53]\n"
      "allow:\n"
      "  - name: tiles\n"
      "    hosts: [API.Mapbox.com., \"*.tiles.mapbox.com\"]\n"
      "    ports: [443, \"8000-8100\"]\n"
      "  - name: ntp\n"
      "    cidrs: [198.51.100.123]\n"
      "    transports: [udp]\n"
      "catalog:\n"
      "  - name: b\n"
      "    category: flysafe\n"
      "    hosts: [b.example]\n"
      "  - name: a\n"
      "    category: analytics\n"
      "    hosts: [a.example]\n"
      "  - name: c\n"
      "    category: analytics\n"
      "    hosts: [c.example]\n";
  const PolicyLoadResult r = LoadPolicyFromString(text, "demo.yaml", kPolicyDataDir);
  ASSERT_TRUE(r.policy) << AllErrors(r);
  const std::string expected =
      "policy: demo\n"
      "version: 1\n"
      "mode: audit\n"
      "sha256: " +
      r.policy->sha256 +
      "\n"
      "file: demo.yaml\n"
      "flight-app: tablet interfaces=lan0 sources=2001:db8:1::/64\n"
      "flight-app: app users=pilot\n"
      "dns-resolvers: 203.0.113.53\n"
      "dns-ports: 53\n"
      "dns-ttl-grace-seconds: 30\n"
      "dns-min-ttl-seconds: 60\n"
      "icmp-echo-to-allowed-hosts: no\n"
      "allow: tiles hosts=api.mapbox.com,*.tiles.mapbox.com ports=443,8000-8100 "
      "transports=tcp,udp origin=demo.yaml:13\n"
      "allow: ntp cidrs=198.51.100.123/32 ports=any transports=udp origin=demo.yaml:16\n"
      "catalog-entries: 3\n"
      "catalog-category: analytics 2\n"
      "catalog-category: flysafe 1\n"
      "note: interfaces, users and cgroups select traffic only in the daemon; "
      "`flightwall audit` of a capture selects flight-app traffic by sources alone\n"
      "note: flight app 'app' has no sources, so `flightwall audit` of a capture cannot see its "
      "traffic\n";
  EXPECT_EQ(DescribePolicy(*r.policy), expected);
  EXPECT_EQ(r.policy->sha256.size(), 64u);
}

TEST(DescribePolicyTest, SameInputGivesSameBytes) {
  const PolicyLoadResult a = LoadText(PolicyText());
  const PolicyLoadResult b = LoadText(PolicyText());
  ASSERT_TRUE(a.policy && b.policy);
  EXPECT_EQ(DescribePolicy(*a.policy), DescribePolicy(*b.policy));
}

}  // namespace
}  // namespace flightwall
