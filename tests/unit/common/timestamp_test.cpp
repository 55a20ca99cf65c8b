#include "common/timestamp.h"

#include <gtest/gtest.h>

#include <limits>

namespace flightwall {
namespace {

TEST(PacketTimeOfTest, KeepsOrdinaryTimes) {
  EXPECT_EQ(PacketTimeOf(0, 0), 0);
  EXPECT_EQ(PacketTimeOf(1733000000, 123456), 1733000000 * kMicrosPerSecond + 123456);
}

TEST(PacketTimeOfTest, ClampsWhatACaptureMayClaim) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  // Before 1970, as a pcapng file can say (pcap_source_fuzz): the epoch.
  EXPECT_EQ(PacketTimeOf(-93145927, 301651), 0);
  EXPECT_EQ(PacketTimeOf(kMin, kMin), 0);
  // Seconds whose microseconds do not fit: the end of the range.
  EXPECT_EQ(PacketTimeOf(kMax, 999999), kMaxPacketTime);
  EXPECT_EQ(PacketTimeOf(kMaxPacketTime / kMicrosPerSecond, 0), kMaxPacketTime);
  // Microseconds out of their range stay within the second.
  EXPECT_EQ(PacketTimeOf(5, -1), 5 * kMicrosPerSecond);
  EXPECT_EQ(PacketTimeOf(5, 7000000), 6 * kMicrosPerSecond - 1);
}

TEST(PacketTimeOfTest, DifferencesAndTimeoutsNeverOverflow) {
  // What the fragment, flow and name expiries compute from two packet times.
  const Timestamp newest = PacketTimeOf(std::numeric_limits<std::int64_t>::max(), 0);
  const Timestamp oldest = PacketTimeOf(std::numeric_limits<std::int64_t>::min(), 0);
  EXPECT_EQ(newest - oldest, kMaxPacketTime);
  EXPECT_EQ(oldest - newest, -kMaxPacketTime);
  EXPECT_GT(newest + 365LL * 24 * 3600 * kMicrosPerSecond, newest);
}

}  // namespace
}  // namespace flightwall
