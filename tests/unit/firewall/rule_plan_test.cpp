#include <gtest/gtest.h>

#include "firewall/rule_backend.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

Cidr MakeCidr(const char* text) {
  const Result<Cidr> c = Cidr::Parse(text);
  EXPECT_TRUE(IsOk(c)) << text;
  return c.ok() ? *c : Cidr();
}

Policy TwoApps() {
  Policy p;
  FlightApp tablet;
  tablet.name = "tablet";
  tablet.interfaces = {"lan0"};
  tablet.sources = {MakeCidr("192.0.2.0/24"), MakeCidr("2001:db8:1::/64")};
  FlightApp local;
  local.name = "local-app";
  local.users = {"pilot", "4242", "ghost"};
  local.cgroups = {"/flight.slice", "/missing.slice"};
  p.flight_apps = {tablet, local};
  p.dns.ports = {53, 5353};
  return p;
}

SelectorResolver FakeResolver() {
  SelectorResolver r;
  r.uid_of = [](const std::string& user) -> std::optional<std::uint32_t> {
    if (user == "pilot") return 1001;
    return std::nullopt;
  };
  r.cgroup_exists = [](const std::string& path) {
    if (path == "/flight.slice") return Status();
    return Status::Error("does not exist under /sys/fs/cgroup");
  };
  return r;
}

InterceptSettings Mode(InterceptMode mode) {
  InterceptSettings s;
  s.mode = mode;
  return s;
}

TEST(PlanRulesTest, ForwardModeTakesInterfacesAndSourcesOfEachFamily) {
  RulePlan plan = PlanRules(TwoApps(), Mode(InterceptMode::kForward), FakeResolver());
  ASSERT_EQ(plan.selectors.size(), 3u);
  EXPECT_EQ(plan.selectors[0].kind, RuleSelector::Kind::kInInterface);
  EXPECT_EQ(plan.selectors[0].value, "lan0");
  EXPECT_EQ(plan.selectors[1].kind, RuleSelector::Kind::kSource);
  EXPECT_EQ(plan.selectors[1].value, "192.0.2.0/24");
  EXPECT_FALSE(plan.selectors[1].v6);
  EXPECT_EQ(plan.selectors[2].value, "2001:db8:1::/64");
  EXPECT_TRUE(plan.selectors[2].v6);
  EXPECT_EQ(plan.dns_ports, (std::vector<std::uint16_t>{53, 5353}));
  // The output-mode-only app is named, so the operator knows it is inert.
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "flight app 'local-app' has no interfaces or sources; in forward mode it selects no "
            "traffic");
}

TEST(PlanRulesTest, OutputModeResolvesUsersAndChecksCgroups) {
  RulePlan plan = PlanRules(TwoApps(), Mode(InterceptMode::kOutput), FakeResolver());
  ASSERT_EQ(plan.selectors.size(), 3u);
  EXPECT_EQ(plan.selectors[0].kind, RuleSelector::Kind::kUid);
  EXPECT_EQ(plan.selectors[0].value, "1001");  // pilot, via the resolver
  EXPECT_EQ(plan.selectors[1].value, "4242");  // numeric: passed through
  EXPECT_EQ(plan.selectors[2].kind, RuleSelector::Kind::kCgroup);
  EXPECT_EQ(plan.selectors[2].value, "/flight.slice");
  ASSERT_EQ(plan.warnings.size(), 3u);
  EXPECT_EQ(plan.warnings[0],
            "flight app 'tablet' has no users or cgroups; in output mode it selects no traffic");
  EXPECT_NE(plan.warnings[1].find("user 'ghost' does not exist; skipped"), std::string::npos);
  EXPECT_NE(plan.warnings[2].find("cgroup '/missing.slice' does not exist under /sys/fs/cgroup"),
            std::string::npos);
}

TEST(PlanRulesTest, UnusableSelectorsLeaveAnAppSelectingNothing) {
  Policy p;
  FlightApp app;
  app.name = "ghosts";
  app.users = {"ghost", "4294967295", "99999999999"};  // unknown, (uid_t)-1, out of range
  p.flight_apps = {app};
  RulePlan plan = PlanRules(p, Mode(InterceptMode::kOutput), FakeResolver());
  EXPECT_TRUE(plan.selectors.empty());
  ASSERT_EQ(plan.warnings.size(), 5u);
  EXPECT_NE(plan.warnings[1].find("'4294967295' is not a valid uid"), std::string::npos);
  EXPECT_NE(plan.warnings[2].find("'99999999999' is not a valid uid"), std::string::npos);
  EXPECT_EQ(plan.warnings[3],
            "flight app 'ghosts' has no usable users or cgroups; in output mode it selects no "
            "traffic");
  EXPECT_EQ(plan.warnings[4],
            "no flight app selects any traffic in output mode: nothing will be "
            "inspected");
}

TEST(PlanRulesTest, DuplicateSelectorsAcrossAppsAreRenderedOnceForTheFirstApp) {
  Policy p = TwoApps();
  p.flight_apps.push_back(p.flight_apps[0]);
  p.flight_apps.back().name = "tablet-again";
  RulePlan plan = PlanRules(p, Mode(InterceptMode::kForward), FakeResolver());
  ASSERT_EQ(plan.selectors.size(), 3u);
  for (const RuleSelector& sel : plan.selectors) EXPECT_EQ(sel.app, 0) << sel.value;
  ASSERT_EQ(plan.warnings.size(), 4u);  // local-app selects nothing; three claimed twice
  EXPECT_EQ(plan.warnings[1],
            "flight app 'tablet-again': interface lan0 already selects flight app 'tablet', "
            "which its traffic is attributed to; give each app its own");
  EXPECT_NE(plan.warnings[3].find("source 2001:db8:1::/64 already selects flight app 'tablet'"),
            std::string::npos);
}

TEST(PlanRulesTest, EachSelectorNamesItsApp) {
  Policy p = TwoApps();
  FlightApp fly;
  fly.name = "fly";
  fly.interfaces = {"wlan0"};
  fly.users = {"5005"};
  fly.cgroups = {"/flight.slice"};  // claimed by local-app first
  p.flight_apps.push_back(fly);
  RulePlan forward = PlanRules(p, Mode(InterceptMode::kForward), FakeResolver());
  ASSERT_EQ(forward.selectors.size(), 4u);
  EXPECT_EQ(forward.selectors[0].app, 0);  // lan0
  EXPECT_EQ(forward.selectors[2].app, 0);  // 2001:db8:1::/64
  EXPECT_EQ(forward.selectors[3].value, "wlan0");
  EXPECT_EQ(forward.selectors[3].app, 2);
  RulePlan output = PlanRules(p, Mode(InterceptMode::kOutput), FakeResolver());
  ASSERT_EQ(output.selectors.size(), 4u);
  EXPECT_EQ(output.selectors[0].value, "1001");
  EXPECT_EQ(output.selectors[0].app, 1);
  EXPECT_EQ(output.selectors[2].value, "/flight.slice");
  EXPECT_EQ(output.selectors[2].app, 1);
  EXPECT_EQ(output.selectors[3].value, "5005");
  EXPECT_EQ(output.selectors[3].app, 2);
  EXPECT_NE(output.warnings.back().find(
                "flight app 'fly': cgroup /flight.slice already selects flight app 'local-app'"),
            std::string::npos);
}

TEST(PlanRulesTest, AppsBeyondWhatTheMarkCanNameSelectNothing) {
  Policy p;
  for (int i = 0; i <= kMaxFlightApps; ++i) {
    FlightApp app;
    app.name = "app" + std::to_string(i);
    app.users = {std::to_string(10000 + i)};
    p.flight_apps.push_back(app);
  }
  RulePlan plan = PlanRules(p, Mode(InterceptMode::kOutput), FakeResolver());
  ASSERT_EQ(plan.selectors.size(), static_cast<std::size_t>(kMaxFlightApps));
  EXPECT_EQ(plan.selectors.back().app, kMaxFlightApps - 1);
  EXPECT_EQ(AppFromMark(AppMark(plan.selectors.back().app)), kMaxFlightApps - 1);
  ASSERT_FALSE(plan.warnings.empty());
  EXPECT_NE(plan.warnings[0].find("only the first 255 flight apps select traffic"),
            std::string::npos);
}

TEST(AppMarkTest, NamesAppsInTheirOwnBits) {
  EXPECT_EQ(AppMark(0), 0x00010000u);
  EXPECT_EQ(AppMark(1), 0x00020000u);
  EXPECT_EQ(AppMark(kMaxFlightApps - 1), 0x00ff0000u);
  EXPECT_EQ(AppFromMark(0), -1);  // no app said
  EXPECT_EQ(AppFromMark(kConnmarkAllowed | kConnmarkGoverned | kPacketMarkInjected), -1);
  EXPECT_EQ(AppFromMark(AppMark(1) | kConnmarkDenied | 0xffff), 1);
}

TEST(ResolveFlightAppUidsTest, NamesAndNumbersBecomeUidsUnknownOnesAreLeftOut) {
  Policy p = TwoApps();
  p.flight_apps[1].uids = {7};  // stale: replaced
  ResolveFlightAppUids(&p, FakeResolver());
  EXPECT_TRUE(p.flight_apps[0].uids.empty());
  EXPECT_EQ(p.flight_apps[1].uids, (std::vector<std::uint32_t>{1001, 4242}));
}

TEST(PlanRulesTest, ValuesThatCouldBreakAScriptAreRefused) {
  Policy p;
  FlightApp app;
  app.name = "hostile";
  app.interfaces = {"eth0\n-A INPUT", "wl\"an", "ok0"};
  app.users = {};
  app.cgroups = {"/a b", "relative.slice", "/x\";drop"};
  p.flight_apps = {app};
  RulePlan forward = PlanRules(p, Mode(InterceptMode::kForward), FakeResolver());
  ASSERT_EQ(forward.selectors.size(), 1u);
  EXPECT_EQ(forward.selectors[0].value, "ok0");
  EXPECT_EQ(forward.warnings.size(), 2u);
  RulePlan output = PlanRules(p, Mode(InterceptMode::kOutput), FakeResolver());
  EXPECT_TRUE(output.selectors.empty());
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(output.warnings[i].find("cannot be written into a rule"), std::string::npos) << i;
  }
}

TEST(PlanRulesTest, SystemResolverFindsRootAndNotAnInventedUser) {
  SelectorResolver r = SystemSelectorResolver();
  EXPECT_EQ(r.uid_of("root"), std::optional<std::uint32_t>(0));
  EXPECT_EQ(r.uid_of("no-such-user-flightwall-test"), std::nullopt);
  EXPECT_TRUE(IsOk(r.cgroup_exists("/")));  // the root exists (or cannot be checked)
  // Missing cgroups are caught only where a cgroup2 hierarchy is mounted.
  if (const Status missing = r.cgroup_exists("/no-such-cgroup-flightwall-test"); !missing.ok()) {
    EXPECT_EQ(missing.message().find("does not exist under "), 0u) << missing.ToString();
  }
}

TEST(ChainPrefixTest, AcceptsIdentifiersThatFitIptablesNames) {
  EXPECT_TRUE(IsOk(IsValidChainPrefix("FLIGHTWALL")));
  EXPECT_TRUE(IsOk(IsValidChainPrefix("fw_2")));
  EXPECT_TRUE(IsOk(IsValidChainPrefix(std::string(24, 'A'))));
  EXPECT_NE(IsValidChainPrefix(std::string(25, 'A')).ToString().find("1-24 characters"),
            std::string::npos);
  EXPECT_FALSE(IsValidChainPrefix("").ok());
  EXPECT_FALSE(IsValidChainPrefix("2FW").ok());
  EXPECT_FALSE(IsValidChainPrefix("FW-X").ok());
  EXPECT_FALSE(IsValidChainPrefix("FW X").ok());
  const Status newline = IsValidChainPrefix("FW\n-A");
  EXPECT_FALSE(newline.ok());
  EXPECT_NE(newline.ToString().find("letters, digits and '_'"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
