#include "common/duration.h"

#include <gtest/gtest.h>

namespace flightwall {
namespace {

TEST(DurationTest, WholeNumberWithOneUnit) {
  EXPECT_EQ(ParseDurationSeconds("30s"), 30u);
  EXPECT_EQ(ParseDurationSeconds("5m"), 300u);
  EXPECT_EQ(ParseDurationSeconds("1h"), 3600u);
  EXPECT_EQ(ParseDurationSeconds("90m"), 5400u);
}

TEST(DurationTest, AnythingElseIsRefused) {
  for (const char* bad : {"", "s", "30", "0s", "-5s", "1.5m", "5 m", " 5m", "5M", "5ms", "1h30m",
                          "5d", "9999999999s", "+5s"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).has_value()) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace flightwall
