// intercept.mode: bridge in the daemon config.
#include <gtest/gtest.h>

#include "service/daemon.h"
#include "service/daemon_config.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

DaemonConfigResult Load(const std::string& intercept) {
  return LoadDaemonConfigFromString("policy: policy.yaml\nintercept:\n" + intercept,
                                    "flightwall.yaml", "/etc/flightwall");
}

std::string FirstError(const DaemonConfigResult& r) {
  return r.errors.empty() ? "" : r.errors[0].ToString();
}

TEST(DaemonConfigBridgeTest, ReadsModeAndBridge) {
  const auto r = Load("  mode: bridge\n  bridge: br-tablet\n");
  ASSERT_TRUE(r.config) << FirstError(r);
  EXPECT_EQ(r.config->intercept.mode, InterceptMode::kBridge);
  EXPECT_EQ(r.config->intercept.bridge, "br-tablet");
  EXPECT_EQ(r.config->intercept.backend, BackendKind::kIptables);
}

TEST(DaemonConfigBridgeTest, ModeBridgeNeedsABridge) {
  const auto r = Load("  mode: bridge\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("mode: bridge needs 'bridge:'"), std::string::npos)
      << FirstError(r);
}

TEST(DaemonConfigBridgeTest, BridgeOutsideBridgeModeIsAnError) {
  const auto r = Load("  mode: forward\n  bridge: br0\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(r.errors[0].message,
            "'bridge' applies only to mode: bridge; remove it or set mode: bridge");
}

TEST(DaemonConfigBridgeTest, BridgeMustBeOneInterfaceName) {
  for (const char* bad : {"br+", "\"br0 br1\"", "a-very-long-bridge", "\"\""}) {
    const auto r = Load(std::string("  mode: bridge\n  bridge: ") + bad + "\n");
    ASSERT_FALSE(r.config) << bad;
    EXPECT_EQ(r.errors[0].line, 4) << bad;
    EXPECT_NE(r.errors[0].message.find("'bridge' must name one bridge interface"),
              std::string::npos)
        << FirstError(r);
  }
}

TEST(DaemonConfigBridgeTest, NftablesBackendCannotDoBridgeMode) {
  const auto r = Load("  mode: bridge\n  bridge: br0\n  backend: nftables\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 5);
  EXPECT_NE(r.errors[0].message.find("mode: bridge needs backend: iptables"), std::string::npos);
  EXPECT_TRUE(Load("  mode: bridge\n  bridge: br0\n  backend: none\n").config);
}

TEST(DaemonConfigBridgeTest, UnknownModeListsBridge) {
  const auto r = Load("  mode: bridged\n");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("forward | output | bridge"), std::string::npos)
      << FirstError(r);
}

TEST(DaemonConfigBridgeTest, LockdownRefusesAnotherBridge) {
  const auto current = Load("  mode: bridge\n  bridge: br0\n");
  const auto next = Load("  mode: bridge\n  bridge: br1\n");
  ASSERT_TRUE(current.config && next.config);
  EXPECT_TRUE(IsOk(ConfigIsNoLooser(*current.config, *current.config)));
  EXPECT_EQ(ConfigIsNoLooser(*current.config, *next.config).ToString(),
            "the new config changes intercept.bridge (it would govern other traffic)");
}

}  // namespace
}  // namespace flightwall
