#include "service/daemon_config.h"

#include <gtest/gtest.h>

#include "service/daemon.h"

namespace flightwall {
namespace {

TEST(DaemonConfigTest, ReadsEverySetting) {
  const auto r = LoadDaemonConfigFromString(R"(
policy: policy.yaml
intercept:
  mode: output
  queue: 2-5
  backend: none
  on_failure: open
  inspect: every-packet
  hold_timeout_ms: 1500
dns:
  refuse_with: nxdomain
events:
  path: /tmp/events.jsonl
metrics:
  listen: "[::1]:9714"
)",
                                            "flightwall.yaml", "/etc/flightwall");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].ToString());
  const DaemonConfig& c = *r.config;
  EXPECT_EQ(c.policy_path, "/etc/flightwall/policy.yaml");
  EXPECT_EQ(c.intercept.mode, InterceptMode::kOutput);
  EXPECT_EQ(c.intercept.queue_first, 2);
  EXPECT_EQ(c.intercept.queue_last, 5);
  EXPECT_EQ(c.intercept.backend, BackendKind::kNone);
  EXPECT_TRUE(c.intercept.fail_open);
  EXPECT_TRUE(c.intercept.every_packet);
  EXPECT_EQ(c.hold_timeout_ms, 1500u);
  EXPECT_EQ(c.dns_refusal, DnsRefusal::kNxdomain);
  EXPECT_EQ(c.events_path, "/tmp/events.jsonl");
  EXPECT_EQ(c.metrics_listen, "[::1]:9714");
}

TEST(DaemonConfigTest, DefaultsAreFailClosedOnLoopback) {
  const auto r = LoadDaemonConfigFromString("policy: /etc/flightwall/policy.yaml\n", "f.yaml", "/");
  ASSERT_TRUE(r.config);
  EXPECT_FALSE(r.config->intercept.fail_open);
  EXPECT_EQ(r.config->intercept.mode, InterceptMode::kForward);
  EXPECT_EQ(r.config->intercept.backend, BackendKind::kIptables);
  EXPECT_EQ(r.config->metrics_listen, "127.0.0.1:9714");
}

TEST(DaemonConfigTest, ErrorsNameLineColumnAndFix) {
  auto r =
      LoadDaemonConfigFromString("policy: p.yaml\nintercept:\n  mod: forward\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 3);
  EXPECT_NE(r.errors[0].message.find("did you mean 'mode'"), std::string::npos);

  r = LoadDaemonConfigFromString("policy: p.yaml\nintercept:\n  on_failure: opne\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("closed | open"), std::string::npos);

  r = LoadDaemonConfigFromString("policy: p.yaml\nintercept:\n  queue: 9-3\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("range"), std::string::npos);

  r = LoadDaemonConfigFromString("intercept: {}\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("missing 'policy:'"), std::string::npos);

  r = LoadDaemonConfigFromString("policy: [unclosed\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("YAML syntax"), std::string::npos);
}

Policy LockdownPolicy() {
  Policy p;
  p.mode = PolicyMode::kLockdown;
  FlightApp app;
  app.name = "tablet";
  app.sources.push_back(*Cidr::Parse("192.0.2.0/24"));
  p.flight_apps.push_back(app);
  p.dns.resolvers.push_back(*IpAddress::Parse("203.0.113.53"));
  AllowRule r;
  r.name = "tiles";
  r.hosts.push_back(*HostPattern::Parse("*.tiles.mapbox.com"));
  r.ports.push_back({443, 443});
  p.allow.push_back(r);
  return p;
}

TEST(PolicyTighteningTest, LockdownRefusesLooserPolicies) {
  const Policy current = LockdownPolicy();
  std::string why;
  EXPECT_TRUE(PolicyIsNoLooser(current, current, &why));
  Policy tighter = current;
  tighter.allow.clear();
  EXPECT_TRUE(PolicyIsNoLooser(current, tighter, &why));

  Policy more_hosts = current;
  more_hosts.allow[0].hosts.push_back(*HostPattern::Parse("tile.openstreetmap.org"));
  EXPECT_FALSE(PolicyIsNoLooser(current, more_hosts, &why));
  EXPECT_NE(why.find("tile.openstreetmap.org"), std::string::npos);

  Policy more_ports = current;
  more_ports.allow[0].ports[0] = {80, 443};
  EXPECT_FALSE(PolicyIsNoLooser(current, more_ports, &why));

  Policy fewer_sources = current;
  fewer_sources.flight_apps[0].sources.clear();
  fewer_sources.flight_apps[0].interfaces.push_back("lan0");
  EXPECT_FALSE(PolicyIsNoLooser(current, fewer_sources, &why));
  EXPECT_NE(why.find("stops governing"), std::string::npos);

  Policy new_resolver = current;
  new_resolver.dns.resolvers.push_back(*IpAddress::Parse("203.0.113.99"));
  EXPECT_FALSE(PolicyIsNoLooser(current, new_resolver, &why));

  Policy left_lockdown = current;
  left_lockdown.mode = PolicyMode::kEnforce;
  EXPECT_FALSE(PolicyIsNoLooser(current, left_lockdown, &why));
}

}  // namespace
}  // namespace flightwall
