// control.socket in the daemon config (daemon_config.h).
#include <gtest/gtest.h>

#include "service/daemon_config.h"

namespace flightwall {
namespace {

TEST(ControlConfigTest, DefaultsToTheRunDirectory) {
  const auto r = LoadDaemonConfigFromString("policy: p.yaml\n", "f.yaml", "/");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->control_socket, "/run/flightwall/control.sock");
}

TEST(ControlConfigTest, ReadsAPathOrEmptyToDisable) {
  auto r = LoadDaemonConfigFromString("policy: p.yaml\ncontrol:\n  socket: /tmp/x/c.sock\n",
                                      "f.yaml", "/");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->control_socket, "/tmp/x/c.sock");
  r = LoadDaemonConfigFromString("policy: p.yaml\ncontrol:\n  socket: \"\"\n", "f.yaml", "/");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->control_socket, "");
}

TEST(ControlConfigTest, ErrorsNameTheLineAndWhatToWrite) {
  auto r =
      LoadDaemonConfigFromString("policy: p.yaml\ncontrol:\n  socket: run/c.sock\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("absolute path"), std::string::npos);

  r = LoadDaemonConfigFromString(
      "policy: p.yaml\ncontrol:\n  socket: /" + std::string(120, 'a') + "\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.errors[0].message.find("at most 107 bytes"), std::string::npos);

  r = LoadDaemonConfigFromString("policy: p.yaml\ncontrol:\n  sockt: /run/c.sock\n", "f.yaml", "/");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("did you mean 'socket'"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
