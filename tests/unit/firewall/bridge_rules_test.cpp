// Intercept mode bridge: the rule plan and the iptables rules it renders.
#include <gtest/gtest.h>

#include "fake_command_runner.h"
#include "firewall/iptables_backend.h"
#include "firewall/nftables_backend.h"
#include "firewall/rule_backend.h"

namespace flightwall {
namespace {

Policy BridgedTablet() {
  Policy p;
  FlightApp tablet;
  tablet.name = "tablet";
  tablet.interfaces = {"tab0"};
  tablet.sources = {*Cidr::Parse("192.0.2.0/24"), *Cidr::Parse("2001:db8:1::/64")};
  tablet.users = {"4242"};  // output-mode selector: inert in bridge mode
  p.flight_apps = {tablet};
  p.dns.ports = {53};
  return p;
}

RulePlan BridgePlan() {
  InterceptSettings s;
  s.mode = InterceptMode::kBridge;
  s.bridge = "br0";
  return PlanRules(BridgedTablet(), s, SelectorResolver());
}

TEST(BridgePlanTest, TakesPortsAndSourcesLikeForwardMode) {
  const RulePlan plan = BridgePlan();
  ASSERT_EQ(plan.selectors.size(), 3u);
  EXPECT_EQ(plan.selectors[0].kind, RuleSelector::Kind::kInInterface);
  EXPECT_EQ(plan.selectors[0].value, "tab0");
  EXPECT_EQ(plan.selectors[1].value, "192.0.2.0/24");
  EXPECT_EQ(plan.selectors[2].value, "2001:db8:1::/64");
  EXPECT_EQ(plan.settings.bridge, "br0");
  EXPECT_TRUE(plan.warnings.empty()) << plan.warnings[0];
}

TEST(BridgePlanTest, AnAppWithoutPortsOrSourcesIsNamedWithTheMode) {
  Policy p;
  FlightApp app;
  app.name = "local";
  app.users = {"4242"};
  p.flight_apps = {app};
  InterceptSettings s;
  s.mode = InterceptMode::kBridge;
  const RulePlan plan = PlanRules(p, s, SelectorResolver());
  EXPECT_TRUE(plan.selectors.empty());
  ASSERT_EQ(plan.warnings.size(), 2u);
  EXPECT_EQ(plan.warnings[0],
            "flight app 'local' has no interfaces or sources; in bridge mode it selects no "
            "traffic");
}

TEST(BridgeIptablesTest, PortsAreMatchedWithPhysdevInTheForwardChain) {
  const RulePlan plan = BridgePlan();
  const IptablesRuleSet v4 = BuildIptablesRules(plan, "FLIGHTWALL", false);
  const std::string script = RenderIptablesScript(v4);
  EXPECT_NE(script.find("-A FLIGHTWALL -m physdev --physdev-in tab0 -j CONNMARK --set-xmark "
                        "0x10000/0xff0000\n-A FLIGHTWALL -m physdev --physdev-in tab0 -j "
                        "FLIGHTWALL_APP\n"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("-A FLIGHTWALL -s 192.0.2.0/24 -j FLIGHTWALL_APP\n"), std::string::npos);
  // -i would name the bridge for bridged packets, never the port.
  EXPECT_EQ(script.find("-i tab0"), std::string::npos);
  EXPECT_EQ(script.find("uid-owner"), std::string::npos);
  EXPECT_EQ(v4.jumps, std::vector<std::string>{"-I FORWARD 1 -j FLIGHTWALL"});
  // Everything else is forward mode's: replies by connmark, DNS always
  // queued, the HTTP reply bypass, the verdict marks.
  RulePlan forward = plan;
  forward.settings.mode = InterceptMode::kForward;
  const IptablesRuleSet fwd = BuildIptablesRules(forward, "FLIGHTWALL", false);
  ASSERT_EQ(fwd.rules.size(), v4.rules.size());
  for (std::size_t i = 0; i < fwd.rules.size(); ++i) {
    if (fwd.rules[i].find("-i tab0") != std::string::npos) continue;
    EXPECT_EQ(fwd.rules[i], v4.rules[i]);
  }
  const std::string v6 = RenderIptablesScript(BuildIptablesRules(plan, "FLIGHTWALL", true));
  EXPECT_NE(v6.find("-m physdev --physdev-in tab0 -j FLIGHTWALL_APP"), std::string::npos);
  EXPECT_NE(v6.find("-s 2001:db8:1::/64"), std::string::npos);
  EXPECT_EQ(v6.find("192.0.2.0"), std::string::npos);
}

TEST(BridgeIptablesTest, NftablesBackendRefusesBridgeMode) {
  std::vector<RecordedCommand> log;
  NftablesBackend backend("FLIGHTWALL",
                          std::make_unique<FakeCommandRunner>(
                              &log, [](const RecordedCommand&) { return Succeeded(); }));
  const std::string error = backend.Install(BridgePlan()).ToString();
  EXPECT_NE(error.find("needs backend: iptables"), std::string::npos) << error;
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(backend.Render(BridgePlan()).find("# intercept mode bridge needs backend: iptables"),
            0u);
}

}  // namespace
}  // namespace flightwall
