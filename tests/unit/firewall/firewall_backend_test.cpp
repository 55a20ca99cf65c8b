#include <gtest/gtest.h>

#include "firewall/rule_backend.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

TEST(FirewallBackendTest, FactoryNamesEachKind) {
  for (BackendKind kind : {BackendKind::kIptables, BackendKind::kNftables, BackendKind::kNone}) {
    auto backend = MakeFirewallBackend(kind, "FLIGHTWALL");
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->Name(), BackendKindName(kind));
  }
  EXPECT_STREQ(BackendKindName(BackendKind::kNftables), "nftables");
}

TEST(FirewallBackendTest, NoneBackendRendersIptablesRulesAndInstallsNothing) {
  RulePlan plan;
  plan.selectors = {{RuleSelector::Kind::kSource, "192.0.2.0/24", false}};
  plan.dns_ports = {53};
  auto none = MakeFirewallBackend(BackendKind::kNone, "FLIGHTWALL");
  const std::string text = none->Render(plan);
  EXPECT_EQ(text.find("# backend: none"), 0u);
  EXPECT_NE(text.find("-A FLIGHTWALL -s 192.0.2.0/24 -j FLIGHTWALL_APP\n"), std::string::npos);
  EXPECT_NE(text.find("-I FORWARD 1 -j FLIGHTWALL\n"), std::string::npos);
  EXPECT_TRUE(IsOk(none->Available()));
  EXPECT_TRUE(IsOk(none->Install(plan)));
  EXPECT_TRUE(IsOk(none->Remove()));
}

}  // namespace
}  // namespace flightwall
