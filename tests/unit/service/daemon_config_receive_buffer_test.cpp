// intercept.receive_buffer_bytes: the queue sockets' receive buffer.
#include <gtest/gtest.h>

#include "service/daemon_config.h"

namespace flightwall {
namespace {

DaemonConfigResult Load(const std::string& intercept_line) {
  return LoadDaemonConfigFromString("policy: p.yaml\nintercept:\n  " + intercept_line + "\n",
                                    "flightwall.yaml", "/etc/flightwall");
}

TEST(DaemonConfigReceiveBufferTest, DefaultsToEightMebibytes) {
  const DaemonConfigResult r = Load("queue: 0");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->receive_buffer_bytes, 8u << 20);
}

TEST(DaemonConfigReceiveBufferTest, TakesAValueInRange) {
  const DaemonConfigResult r = Load("receive_buffer_bytes: 131072");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->receive_buffer_bytes, 131072u);
}

TEST(DaemonConfigReceiveBufferTest, RefusesTooSmallWithTheRange) {
  const DaemonConfigResult r = Load("receive_buffer_bytes: 4096");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("65536"), std::string::npos) << r.errors[0].message;
}

}  // namespace
}  // namespace flightwall
