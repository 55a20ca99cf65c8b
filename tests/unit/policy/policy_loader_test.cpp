#include "policy/policy_loader.h"

#include <gtest/gtest.h>

#include "policy_test_helpers.h"

namespace flightwall {
namespace {

TEST(PolicyLoaderTest, LoadsMinimalPolicyWithDefaults) {
  const PolicyLoadResult r = LoadText(PolicyText());
  ASSERT_TRUE(r.policy) << AllErrors(r);
  const Policy& p = *r.policy;
  EXPECT_EQ(p.name, "test");
  EXPECT_EQ(p.mode, PolicyMode::kEnforce);
  ASSERT_EQ(p.flight_apps.size(), 1u);
  EXPECT_EQ(p.flight_apps[0].sources[0].ToString(), "192.0.2.0/24");
  ASSERT_EQ(p.dns.resolvers.size(), 1u);
  EXPECT_EQ(p.dns.ports, std::vector<std::uint16_t>{53});
  EXPECT_EQ(p.dns.ttl_grace_seconds, 30u);
  EXPECT_EQ(p.dns.min_ttl_seconds, 60u);
  ASSERT_EQ(p.allow.size(), 1u);
  EXPECT_EQ(p.allow[0].origin, "test.yaml:9");
  EXPECT_TRUE(p.allow[0].AllowsPort(443));
  EXPECT_FALSE(p.allow[0].AllowsPort(80));
  EXPECT_TRUE(p.allow[0].AllowsTransport(Transport::kUdp));
  EXPECT_FALSE(p.icmp_echo_to_allowed_hosts);
  EXPECT_EQ(p.included_files, std::vector<std::string>{"test.yaml"});
}

TEST(PolicyLoaderTest, Sha256IsOfTheTopLevelBytes) {
  // Computed independently with Python hashlib over PolicyText().
  const PolicyLoadResult r = LoadText(PolicyText());
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->sha256, "ae2d0d37fdaad03e98d2c017c9d28ea00c833b3f00ececae9414a57cb6ad51a0");
}

TEST(PolicyLoaderTest, ReadsEveryOptionalKey) {
  const std::string text =
      "version: 1\n"
      "name: full\n"
      "description: all keys\n"
      "mode: lockdown\n"
      "flight_apps:\n"
      "  - name: tablet\n"
      "    interfaces: [lan0, wlan+]\n"
      "    sources: [192.0.2.0/24, \"2001:db8:1::/64\"]\n"
      "  - name: app\n"
      "    users: [pilot, 1000]\n"
      "    cgroups: [/system.slice/pilot.service]\n"
      "dns:\n"
      "  resolvers: [203.0.113.53, \"2001:db8::53\"]\n"
      "  ports: [53, 5353]\n"
      "  ttl_grace_seconds: 5\n"
      "  min_ttl_seconds: 0\n"
      "allow:\n"
      "  - name: ntp\n"
      "    cidrs: [198.51.100.123/32]\n"
      "    ports: [123, \"8000-8100\"]\n"
      "    transports: [udp]\n"
      "icmp:\n"
      "  echo_to_allowed_hosts: true\n"
      "catalog:\n"
      "  - name: logs\n"
      "    vendor: Example\n"
      "    category: flight-logs\n"
      "    source: https://example.com/docs\n"
      "    note: inferred\n"
      "    hosts: [\"*.logs.example.com\"]\n";
  const PolicyLoadResult r = LoadText(text);
  ASSERT_TRUE(r.policy) << AllErrors(r);
  const Policy& p = *r.policy;
  EXPECT_EQ(p.mode, PolicyMode::kLockdown);
  EXPECT_EQ(p.flight_apps[0].interfaces, (std::vector<std::string>{"lan0", "wlan+"}));
  EXPECT_EQ(p.flight_apps[0].sources[1].ToString(), "2001:db8:1::/64");
  EXPECT_EQ(p.flight_apps[1].users, (std::vector<std::string>{"pilot", "1000"}));
  EXPECT_EQ(p.flight_apps[1].cgroups[0], "/system.slice/pilot.service");
  EXPECT_EQ(p.dns.resolvers[1].ToString(), "2001:db8::53");
  EXPECT_EQ(p.dns.ports, (std::vector<std::uint16_t>{53, 5353}));
  EXPECT_EQ(p.dns.ttl_grace_seconds, 5u);
  EXPECT_EQ(p.dns.min_ttl_seconds, 0u);
  const AllowRule& ntp = p.allow[0];
  EXPECT_TRUE(ntp.AllowsPort(123));
  EXPECT_TRUE(ntp.AllowsPort(8000));
  EXPECT_TRUE(ntp.AllowsPort(8100));
  EXPECT_FALSE(ntp.AllowsPort(8101));
  EXPECT_FALSE(ntp.AllowsTransport(Transport::kTcp));
  EXPECT_TRUE(ntp.AllowsTransport(Transport::kUdp));
  EXPECT_TRUE(p.icmp_echo_to_allowed_hosts);
  ASSERT_EQ(p.catalog.size(), 1u);
  EXPECT_EQ(p.catalog[0].category, "flight-logs");
  EXPECT_EQ(p.catalog[0].note, "inferred");
  EXPECT_TRUE(p.catalog[0].hosts[0].Matches("eu.logs.example.com"));
}

TEST(PolicyLoaderTest, AcceptsEmptyAllowList) {
  const PolicyLoadResult r = LoadText(PolicyText("  []\n"));
  ASSERT_TRUE(r.policy) << AllErrors(r);
  EXPECT_TRUE(r.policy->allow.empty());
}

TEST(PolicyLoaderTest, ErrorToStringHasFileLineColumn) {
  EXPECT_EQ((PolicyError{"a.yaml", 3, 7, "bad"}).ToString(), "a.yaml:3:7: bad");
  EXPECT_EQ((PolicyError{"a.yaml", 0, 0, "bad"}).ToString(), "a.yaml: bad");
}

TEST(PolicyLoaderTest, MissingTopLevelFileIsAnError) {
  const PolicyLoadResult r = LoadPolicy(kPolicyDataDir + "/does-not-exist.yaml");
  EXPECT_FALSE(r.policy);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("not found"), std::string::npos);
}

TEST(PolicyLoaderTest, DirectoryIsNotAPolicyFile) {
  const PolicyLoadResult r = LoadPolicy(kPolicyDataDir);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
