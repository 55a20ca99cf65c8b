#include "service/loss_episode.h"

#include <gtest/gtest.h>

namespace flightwall {
namespace {

using Change = LossEpisode::Change;

TEST(LossEpisodeTest, FirstSampleIsTheBaseline) {
  LossEpisode e(1000);
  EXPECT_EQ(e.Observe(500, 0), Change::kNone);  // losses from before the daemon looked
  EXPECT_EQ(e.Observe(500, 500), Change::kNone);
  EXPECT_FALSE(e.Active());
  EXPECT_EQ(e.Episodes(), 0u);
}

TEST(LossEpisodeTest, AFloodIsOneStartAndOneEnd) {
  LossEpisode e(1000);
  e.Observe(0, 0);
  EXPECT_EQ(e.Observe(10, 500), Change::kStarted);
  for (std::uint64_t t = 1000; t <= 5000; t += 500) {
    EXPECT_EQ(e.Observe(10 + t, t), Change::kNone) << t;  // still rising: no more lines
  }
  EXPECT_TRUE(e.Active());
  EXPECT_EQ(e.Observe(5010, 5500), Change::kNone);  // quiet for 500 ms only
  EXPECT_EQ(e.Observe(5010, 6000), Change::kEnded);
  EXPECT_FALSE(e.Active());
  EXPECT_EQ(e.EpisodeLoss(), 5010u);
  EXPECT_EQ(e.EpisodeMs(), 4500u);
  EXPECT_EQ(e.Observe(5010, 9000), Change::kNone);
  EXPECT_EQ(e.Episodes(), 1u);
}

TEST(LossEpisodeTest, ASecondFloodIsASecondEpisode) {
  LossEpisode e(1000);
  e.Observe(7, 0);
  EXPECT_EQ(e.Observe(8, 100), Change::kStarted);
  EXPECT_EQ(e.Observe(8, 1100), Change::kEnded);
  EXPECT_EQ(e.Observe(20, 3000), Change::kStarted);
  EXPECT_EQ(e.EpisodeLoss(), 12u);
  EXPECT_EQ(e.Observe(20, 4000), Change::kEnded);
  EXPECT_EQ(e.Episodes(), 2u);
}

}  // namespace
}  // namespace flightwall
