#include <gtest/gtest.h>

#include "source/nfqueue_source.h"

namespace flightwall {
namespace {

// As net/netfilter/nfnetlink_queue.c prints it: "%5u %6u %5u %1u %5u %5u %5u %8u %2d".
constexpr const char* kProc =
    "    0  12345     3 2 65535     7     9     1024  1\n"
    "    3 4294967295 4096 2 65535 123456789012     0 4294967295  1\n";

TEST(KernelQueueStatsTest, FindsTheRequestedQueue) {
  const KernelQueueStats zero = ParseKernelQueueStats(kProc, 0);
  ASSERT_TRUE(zero.found);
  EXPECT_EQ(zero.peer_portid, 12345u);
  EXPECT_EQ(zero.queue_total, 3u);
  EXPECT_EQ(zero.queue_dropped, 7u);
  EXPECT_EQ(zero.user_dropped, 9u);
  EXPECT_EQ(zero.id_sequence, 1024u);

  const KernelQueueStats three = ParseKernelQueueStats(kProc, 3);
  ASSERT_TRUE(three.found);
  EXPECT_EQ(three.peer_portid, 4294967295u);
  EXPECT_EQ(three.queue_total, 4096u);
  EXPECT_EQ(three.queue_dropped, 123456789012u);
  EXPECT_EQ(three.user_dropped, 0u);
  EXPECT_EQ(three.id_sequence, 4294967295u);
}

TEST(KernelQueueStatsTest, UnboundQueueIsNotFound) {
  EXPECT_FALSE(ParseKernelQueueStats(kProc, 1).found);
  EXPECT_FALSE(ParseKernelQueueStats("", 0).found);
}

TEST(KernelQueueStatsTest, SkipsMalformedAndShortLines) {
  const char* text =
      "garbage line\n"
      "    5     1     2 2\n"                               // too few fields
      "    5 x 2 2 65535 1 1 1 1\n"                         // not a number
      "    5    10     2 2 65535    11    12       13  1";  // no trailing newline
  const KernelQueueStats s = ParseKernelQueueStats(text, 5);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.queue_total, 2u);
  EXPECT_EQ(s.queue_dropped, 11u);
  EXPECT_EQ(s.user_dropped, 12u);
  EXPECT_EQ(s.id_sequence, 13u);
}

TEST(KernelQueueStatsTest, QueueNumbersDoNotMatchByPrefix) {
  EXPECT_FALSE(ParseKernelQueueStats("   30     1     2 2 65535 1 1 1 1\n", 3).found);
  EXPECT_FALSE(ParseKernelQueueStats("65539     1     2 2 65535 1 1 1 1\n", 3).found);
}

}  // namespace
}  // namespace flightwall
