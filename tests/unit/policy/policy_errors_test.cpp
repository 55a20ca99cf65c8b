// Every kind of policy error, each pinned to its exact file:line:column so
// an operator's editor jumps to the right spot.
#include <gtest/gtest.h>

#include "policy/policy_loader.h"
#include "policy_test_helpers.h"

namespace flightwall {
namespace {

const std::string kTiles = "  - name: tiles\n    hosts: [api.mapbox.com]\n";

TEST(PolicyErrorsTest, WrongVersion) {
  std::string text = PolicyText();
  text.replace(text.find("version: 1"), 10, "version: 2");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_FALSE(r.policy);
  EXPECT_TRUE(HasError(r, "test.yaml", 1, 10, {"unsupported policy version 2", "version 1"}));
}

TEST(PolicyErrorsTest, UnknownKeySuggestsTheClosestValidKey) {
  std::string text = PolicyText();
  text.replace(text.find("resolvers:"), 10, "resolver: ");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 7, 3,
                       {"unknown key 'resolver' in 'dns'", "(did you mean 'resolvers'?)"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 7, 3, {"missing the required key 'resolvers'"}));
}

TEST(PolicyErrorsTest, UnknownKeyFarFromAnyListsValidKeys) {
  const PolicyLoadResult r = LoadText(PolicyText(kTiles, "colour: blue\n"));
  ASSERT_TRUE(
      HasError(r, "test.yaml", 11, 1, {"unknown key 'colour'", "valid keys here: version"}));
  EXPECT_EQ(r.errors[0].message.find("did you mean"), std::string::npos);
}

TEST(PolicyErrorsTest, ScalarWhereListExpected) {
  const PolicyLoadResult r = LoadText(PolicyText("  - name: tiles\n    hosts: api.mapbox.com\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 10, 12, {"'hosts' must be a list", "[a, b]"}));
}

TEST(PolicyErrorsTest, MapWhereListExpected) {
  std::string text = PolicyText();
  text.replace(text.find("  - name: tablet\n"), 17, "  name: tablet\n");
  text.replace(text.find("    sources"), 4, "  ");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 4, 3, {"'flight_apps' must be a list", "not a map"}));
}

TEST(PolicyErrorsTest, MoreFlightAppsThanTheRulesCanNameIsOneError) {
  std::string apps;
  for (int i = 1; i < kMaxFlightApps + 3; ++i) {  // the tablet plus 257 more
    apps += "  - name: app" + std::to_string(i) + "\n    users: [\"" + std::to_string(10000 + i) +
            "\"]\n";
  }
  std::string text = PolicyText();
  text.insert(text.find("dns:"), apps);
  const PolicyLoadResult r = LoadText(text);
  EXPECT_FALSE(r.policy);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  // The 256th app: the tablet on lines 4-5, then two lines per app.
  EXPECT_TRUE(HasError(r, "test.yaml", 4 + 2 * kMaxFlightApps, 5,
                       {"more than 255 flight apps", "8 bits of the packet mark",
                        "merge apps that share selectors"}))
      << AllErrors(r);
}

TEST(PolicyErrorsTest, BadCidrUsesCidrParseReason) {
  const PolicyLoadResult r = LoadText(PolicyText("  - name: ntp\n    cidrs: [192.0.2.1/24]\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 10, 13,
                       {"bad CIDR '192.0.2.1/24'", "bits set past the prefix length"}));
}

TEST(PolicyErrorsTest, BadSourceCidr) {
  std::string text = PolicyText();
  text.replace(text.find("192.0.2.0/24"), 12, "192.0.2.0/33");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 5, 15, {"bad source '192.0.2.0/33'", "at most 32"}));
}

TEST(PolicyErrorsTest, BadHostPatternUsesHostPatternReason) {
  const PolicyLoadResult r = LoadText(PolicyText("  - name: t\n    hosts: [\"a.*.b\"]\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 10, 13, {"bad host 'a.*.b'", "first label"}));
}

TEST(PolicyErrorsTest, PortsOutOfRangeMalformedAndBackwards) {
  const PolicyLoadResult r = LoadText(PolicyText(
      "  - name: t\n    hosts: [a.com]\n    ports: [0, 70000, \"9000-8000\", abc, 1-2-3]\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 13, {"'0' is not a port", "1 to 65535"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 16, {"'70000' is not a port"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 23, {"'9000-8000' runs backwards"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 36, {"'abc' is not a port", "\"8000-8100\""}));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 41, {"'1-2-3' is not a port"}));
  EXPECT_EQ(r.errors.size(), 5u) << AllErrors(r);
}

TEST(PolicyErrorsTest, DnsPortsTakeNoRanges) {
  std::string text = PolicyText();
  text.insert(text.find("allow:"), "  ports: [\"53-54\"]\n");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 8, 11, {"'53-54' is not a port"}));
  EXPECT_EQ(r.errors.size(), 1u) << AllErrors(r);
}

TEST(PolicyErrorsTest, UnknownModeSuggestsClosest) {
  const PolicyLoadResult r = LoadText(PolicyText(kTiles, "mode: enforcee\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 7,
                       {"unknown mode 'enforcee'", "(did you mean 'enforce'?)", "lockdown"}));
}

TEST(PolicyErrorsTest, UnknownTransportSuggestsClosest) {
  const PolicyLoadResult r =
      LoadText(PolicyText("  - name: t\n    hosts: [a.com]\n    transports: [tcpp]\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 18, {"unknown transport 'tcpp'", "'tcp'"}));
}

TEST(PolicyErrorsTest, YamlSyntaxErrorCarriesParserMark) {
  const PolicyLoadResult r = LoadText(PolicyText("  - name: t\n    hosts: [a.com\n"));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  // yaml-cpp notices the missing ']' only at the end of the input.
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 1, {"YAML syntax error", "end of sequence"}));
}

TEST(PolicyErrorsTest, UnquotedWildcardGetsAQuotingHint) {
  const PolicyLoadResult r = LoadText(PolicyText("  - name: t\n    hosts: [*.mapbox.com]\n"));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].line, 10);
  EXPECT_NE(r.errors[0].message.find("quote wildcard hosts"), std::string::npos) << AllErrors(r);
}

TEST(PolicyErrorsTest, DuplicateRuleNamesPointAtBoth) {
  const PolicyLoadResult r = LoadText(
      PolicyText("  - name: tiles\n    hosts: [a.com]\n  - name: tiles\n    hosts: [b.com]\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 11,
                       {"duplicate allow rule name 'tiles'", "first defined at test.yaml:9"}));
}

TEST(PolicyErrorsTest, DuplicateKeyInOneMap) {
  const PolicyLoadResult r = LoadText(PolicyText(kTiles, "name: again\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 11, 1, {"key 'name' appears twice"}));
}

TEST(PolicyErrorsTest, MissingRequiredKeys) {
  const PolicyLoadResult r = LoadText("version: 1\nname: x\n");
  EXPECT_TRUE(HasError(r, "test.yaml", 1, 1, {"missing the required key 'flight_apps'"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 1, 1, {"missing the required key 'dns'"}));
  EXPECT_EQ(r.errors.size(), 2u) << AllErrors(r);
}

TEST(PolicyErrorsTest, AllowRuleNeedsNameAndDestinations) {
  const PolicyLoadResult r =
      LoadText(PolicyText("  - hosts: [a.com]\n  - name: empty\n    ports: [1]\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 9, 5, {"missing the required key 'name'"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 10, 5, {"needs 'hosts' (names) or 'cidrs'"}));
}

TEST(PolicyErrorsTest, AllowRuleWithEmptyDestinations) {
  const PolicyLoadResult r = LoadText(PolicyText("  - name: t\n    hosts: []\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 9, 5, {"are empty, so it allows nothing"}));
}

TEST(PolicyErrorsTest, FlightAppNeedsASelector) {
  std::string text = PolicyText();
  text.erase(text.find("    sources: [192.0.2.0/24]\n"), 28);
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 4, 5, {"needs at least one selector"}));
}

TEST(PolicyErrorsTest, FlightAppSelectorValuesAreChecked) {
  std::string text = PolicyText();
  text.insert(text.find("dns:"),
              "    users: [\"bad user\"]\n    interfaces: [this-name-is-too-long]\n"
              "    cgroups: [system.slice]\n");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 6, 13, {"'bad user'", "not a user name or numeric uid"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 7, 18, {"not a network interface name"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 8, 15, {"not a cgroup path"}));
}

TEST(PolicyErrorsTest, EmptyOrMissingFlightApps) {
  std::string text = PolicyText();
  const std::string apps = "flight_apps:\n  - name: tablet\n    sources: [192.0.2.0/24]\n";
  text.replace(text.find(apps), apps.size(), "flight_apps: []\n");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 3, 14, {"needs at least one entry"}));
}

TEST(PolicyErrorsTest, ResolversMustBeNonEmptyAddresses) {
  std::string text = PolicyText();
  text.replace(text.find("[203.0.113.53]"), 14, "[]");
  EXPECT_TRUE(HasError(LoadText(text), "test.yaml", 7, 14, {"at least one DNS server"}));
  text = PolicyText();
  text.replace(text.find("203.0.113.53"), 12, "dns.google");
  EXPECT_TRUE(
      HasError(LoadText(text), "test.yaml", 7, 15, {"resolver 'dns.google' is not an IP address"}));
}

TEST(PolicyErrorsTest, NumbersAndBooleansAreRangeChecked) {
  std::string text = PolicyText();
  text.insert(text.find("allow:"), "  ttl_grace_seconds: -1\n  min_ttl_seconds: 99999999\n");
  const PolicyLoadResult r = LoadText(text + "icmp:\n  echo_to_allowed_hosts: maybe\n");
  EXPECT_TRUE(HasError(r, "test.yaml", 8, 22, {"'ttl_grace_seconds' must be a whole number"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 9, 20, {"from 0 to 86400"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 15, 26, {"must be true or false"}));
}

TEST(PolicyErrorsTest, CatalogEntriesAreValidated) {
  const PolicyLoadResult r =
      LoadText(PolicyText(kTiles, "catalog:\n  - name: c\n    category: Flight Logs\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 13, 15, {"category 'Flight Logs'", "lower-case"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 12, 5, {"missing the required key 'hosts'"}));
}

TEST(PolicyErrorsTest, TopLevelMustBeAMap) {
  EXPECT_TRUE(HasError(LoadText("just a string\n"), "test.yaml", 1, 1, {"must be a map"}));
  const PolicyLoadResult empty = LoadText("");
  ASSERT_EQ(empty.errors.size(), 1u);
  EXPECT_NE(empty.errors[0].message.find("must be a map"), std::string::npos);
}

TEST(PolicyErrorsTest, CollectsManyErrorsInOnePass) {
  const PolicyLoadResult r =
      LoadText("version: 3\nname: [x]\nmode: loose\nflight_apps: nope\ndns: {resolvers: [bad]}\n");
  EXPECT_TRUE(HasError(r, "test.yaml", 1, 10, {"version 3"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 2, 7, {"'name' must be a single value"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 3, 7, {"unknown mode 'loose'"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 4, 14, {"'flight_apps' must be a list"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 5, 19, {"resolver 'bad'"}));
  EXPECT_EQ(r.errors.size(), 5u) << AllErrors(r);
}

TEST(PolicyErrorsTest, OversizedTextIsRefused) {
  const PolicyLoadResult r = LoadText(std::string((1 << 20) + 1, '#'));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("larger than 1 MiB"), std::string::npos);
}

TEST(PolicyErrorsTest, AliasAmplificationIsBounded) {
  // One 1000-host list repeated through aliases by 300 rules would be
  // 300,000 list items from a file of a few kilobytes.
  std::string hosts = "[";
  for (int i = 0; i < 1000; ++i) hosts += (i ? ", h" : "h") + std::to_string(i) + ".example.com";
  hosts += "]";
  std::string body = "  - name: r0\n    hosts: &h " + hosts + "\n";
  for (int i = 1; i < 300; ++i) body += "  - name: r" + std::to_string(i) + "\n    hosts: *h\n";
  const PolicyLoadResult r = LoadText(PolicyText(body));
  EXPECT_FALSE(r.policy);
  bool reported = false;
  for (const PolicyError& e : r.errors) {
    reported = reported || e.message.find("list items in total") != std::string::npos;
  }
  EXPECT_TRUE(reported) << AllErrors(r);
}

}  // namespace
}  // namespace flightwall
