#include "sink/progress_bar.h"

#include <gtest/gtest.h>

#include <sstream>

namespace flightwall {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(FormatProgressTest, ShowsBytesPercentRateAndTimeLeft) {
  EXPECT_EQ(FormatProgress(12 * kMiB, 48 * kMiB, 2.0),
            "[#####...............]  12.0 MiB of 48.0 MiB  25%  6.3 MB/s  ETA 0:06");
}

TEST(FormatProgressTest, MinutesInTheEta) {
  EXPECT_EQ(FormatProgress(1 * kMiB, 101 * kMiB, 1.0),
            "[....................]  1.0 MiB of 101.0 MiB  0%  1.0 MB/s  ETA 1:40");
}

TEST(FormatProgressTest, NoRateYetAndDoneBeyondTotal) {
  EXPECT_EQ(FormatProgress(0, 10 * kMiB, 0.0),
            "[....................]  0.0 MiB of 10.0 MiB  0%  0.0 MB/s  ETA --:--");
  EXPECT_EQ(FormatProgress(20 * kMiB, 10 * kMiB, 1.0),
            "[####################]  10.0 MiB of 10.0 MiB  100%  10.5 MB/s  ETA 0:00");
}

TEST(ProgressBarTest, SilentForTheFirstSecondThenAtMostFourTimesASecond) {
  std::ostringstream out;
  ProgressBar bar(out, 100 * kMiB, true);
  const auto t0 = ProgressBar::Clock::now();
  EXPECT_FALSE(bar.Due(t0));
  EXPECT_FALSE(bar.Due(t0 + std::chrono::milliseconds(900)));
  const auto t1 = t0 + std::chrono::milliseconds(1100);
  ASSERT_TRUE(bar.Due(t1));
  bar.Draw(10 * kMiB, t1);
  EXPECT_NE(out.str().find("10.0 MiB of 100.0 MiB"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().rfind("\r\033[K", 0), 0u) << "redrawn in place";
  EXPECT_FALSE(bar.Due(t1 + std::chrono::milliseconds(200)));
  EXPECT_TRUE(bar.Due(t1 + std::chrono::milliseconds(250)));
  bar.Clear();
  EXPECT_TRUE(out.str().ends_with("\r\033[K"));
}

TEST(ProgressBarTest, DisabledWritesNothing) {
  std::ostringstream out;
  {
    ProgressBar bar(out, 100, false);
    const auto later = ProgressBar::Clock::now() + std::chrono::seconds(5);
    EXPECT_FALSE(bar.Due(later));
    bar.Draw(50, later);
  }
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace flightwall
