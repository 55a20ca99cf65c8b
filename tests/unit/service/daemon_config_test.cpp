#include "service/daemon_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "service/daemon.h"
#include "unit/status_matchers.h"

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

  // Checked at load, with its line, not when the daemon tries to listen.
  for (const char* bad : {"9714", "localhost:9714", "127.0.0.1:9714,[::1]:9714", "::1:9714",
                          "127.0.0.1:70000", "127.0.0.1:9714s"}) {
    r = LoadDaemonConfigFromString(
        std::string("policy: p.yaml\nmetrics:\n  listen: \"") + bad + "\"\n", "f.yaml", "/");
    ASSERT_FALSE(r.config) << bad;
    EXPECT_EQ(r.errors[0].line, 3) << bad;
    EXPECT_NE(r.errors[0].message.find("such as 127.0.0.1:9714 or [::1]:9714"), std::string::npos)
        << r.errors[0].message;
  }
  // A number is a number: no unit suffix, no sign, no exponent.
  for (const char* bad : {"150ms", "-150", "1e3", " ", "99", "30001"}) {
    r = LoadDaemonConfigFromString(
        std::string("policy: p.yaml\nintercept:\n  hold_timeout_ms: \"") + bad + "\"\n", "f.yaml",
        "/");
    ASSERT_FALSE(r.config) << bad;
    EXPECT_EQ(r.errors[0].line, 3) << bad;
    EXPECT_NE(r.errors[0].message.find("whole number from 100 to 30000"), std::string::npos)
        << r.errors[0].message;
  }
  r = LoadDaemonConfigFromString("policy: p.yaml\nmetrics:\n  listen: \"\"\n", "f.yaml", "/");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->metrics_listen, "");

  r = LoadDaemonConfigFromString("intercept: {}\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("missing 'policy:'"), std::string::npos);

  r = LoadDaemonConfigFromString("policy: [unclosed\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("YAML syntax"), std::string::npos);
}

// A directory holding chain.key (`bytes` long, mode `mode`), removed after.
class KeyDir {
 public:
  KeyDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "flightwall-config-XXXXXX").string();
    path_ = mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~KeyDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  KeyDir(const KeyDir&) = delete;
  KeyDir& operator=(const KeyDir&) = delete;
  std::string Key(std::size_t bytes, mode_t mode) const {
    std::string key = path_ + "/chain.key";
    std::ofstream(key, std::ios::binary | std::ios::trunc) << std::string(bytes, 'k');
    chmod(key.c_str(), mode);
    return key;
  }
  const std::string& Path() const { return path_; }

 private:
  std::string path_;
};

DaemonConfigResult WithKeyFile(const std::string& key_file, const std::string& base_dir) {
  return LoadDaemonConfigFromString(
      "policy: p.yaml\nevents:\n  path: /tmp/e.jsonl\n  hmac_key_file: " + key_file + "\n",
      "flightwall.yaml", base_dir);
}

TEST(DaemonConfigTest, ReadsAnHmacKeyFileRelativeToTheConfig) {
  KeyDir dir;
  dir.Key(32, 0640);
  const auto r = WithKeyFile("chain.key", dir.Path());
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].ToString());
  EXPECT_EQ(r.config->events_hmac_key_file, dir.Path() + "/chain.key");
  const auto unkeyed = LoadDaemonConfigFromString("policy: p.yaml\n", "f.yaml", "/");
  ASSERT_TRUE(unkeyed.config);
  EXPECT_EQ(unkeyed.config->events_hmac_key_file, "");
}

TEST(DaemonConfigTest, AnUnreadableHmacKeyFileIsAnErrorAtItsLine) {
  KeyDir dir;
  const auto r = WithKeyFile(dir.Path() + "/missing.key", "/");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "flightwall.yaml");
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(r.errors[0].column, 18);
  EXPECT_NE(r.errors[0].message.find("cannot read the chain key " + dir.Path() + "/missing.key"),
            std::string::npos)
      << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("head -c 32 /dev/urandom"), std::string::npos);
  const auto directory = WithKeyFile(dir.Path(), "/");
  ASSERT_FALSE(directory.config);
  EXPECT_NE(directory.errors[0].message.find("not a regular file"), std::string::npos);
}

TEST(DaemonConfigTest, AShortHmacKeyIsRefused) {
  KeyDir dir;
  const auto r = WithKeyFile(dir.Key(16, 0600), "/");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_NE(r.errors[0].message.find("is 16 bytes; a key is 32 to 4096 bytes"), std::string::npos)
      << r.errors[0].message;
}

TEST(DaemonConfigTest, AWorldReadableHmacKeyIsRefused) {
  KeyDir dir;
  const std::string key = dir.Key(32, 0644);
  const auto r = WithKeyFile(key, "/");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_NE(r.errors[0].message.find("may be read or written by every user (mode 0644)"),
            std::string::npos)
      << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("chmod o-rw " + key), std::string::npos);
  EXPECT_FALSE(WithKeyFile(dir.Key(32, 0602), "/").config);  // world-writable: same
}

TEST(DaemonConfigTest, AnEmptyHmacKeyFileSettingSaysWhatToDo) {
  const auto r =
      LoadDaemonConfigFromString("policy: p.yaml\nevents:\n  hmac_key_file: \"\"\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("remove the setting for an unkeyed chain"), std::string::npos);
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
  EXPECT_TRUE(IsOk(PolicyIsNoLooser(current, current)));
  Policy tighter = current;
  tighter.allow.clear();
  EXPECT_TRUE(IsOk(PolicyIsNoLooser(current, tighter)));

  Policy more_hosts = current;
  more_hosts.allow[0].hosts.push_back(*HostPattern::Parse("tile.openstreetmap.org"));
  std::string why = PolicyIsNoLooser(current, more_hosts).ToString();
  EXPECT_NE(why.find("tile.openstreetmap.org"), std::string::npos);

  Policy more_ports = current;
  more_ports.allow[0].ports[0] = {80, 443};
  EXPECT_FALSE(PolicyIsNoLooser(current, more_ports).ok());

  Policy fewer_sources = current;
  fewer_sources.flight_apps[0].sources.clear();
  fewer_sources.flight_apps[0].interfaces.push_back("lan0");
  why = PolicyIsNoLooser(current, fewer_sources).ToString();
  EXPECT_NE(why.find("stops governing"), std::string::npos);

  Policy new_resolver = current;
  new_resolver.dns.resolvers.push_back(*IpAddress::Parse("203.0.113.99"));
  EXPECT_FALSE(PolicyIsNoLooser(current, new_resolver).ok());

  Policy left_lockdown = current;
  left_lockdown.mode = PolicyMode::kEnforce;
  EXPECT_FALSE(PolicyIsNoLooser(current, left_lockdown).ok());
}

}  // namespace
}  // namespace flightwall
