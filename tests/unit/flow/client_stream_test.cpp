// ClientStream: bytes judged once stay judged.
#include "flow/client_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flightwall {
namespace {

std::span<const std::uint8_t> View(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class ClientStreamTest : public ::testing::Test {
 protected:
  ClientStreamTest() : pool_(2, 16), slot_(pool_.Acquire()) { StartClientStream(s_, 99); }
  SegmentResult Take(std::uint32_t offset, const std::string& bytes) {
    return TakeClientSegment(s_, pool_, slot_, 100 + offset, View(bytes));
  }
  StreamBufferPool pool_;
  std::uint32_t slot_;
  ClientStream s_;
};

TEST_F(ClientStreamTest, FreshBytesAreKeptInOrder) {
  const auto r = Take(0, "hello");
  EXPECT_EQ(r.fate, SegmentFate::kFresh);
  EXPECT_EQ(std::string(r.fresh.begin(), r.fresh.end()), "hello");
  EXPECT_EQ(Take(5, " you").fate, SegmentFate::kFresh);
  EXPECT_EQ(pool_.Data(slot_).size(), 9u);
  EXPECT_EQ(s_.next_seq, 109u);
}

TEST_F(ClientStreamTest, IdenticalRetransmissionIsADuplicate) {
  Take(0, "hello you");
  EXPECT_EQ(Take(0, "hello").fate, SegmentFate::kDuplicate);
  EXPECT_EQ(Take(3, "lo y").fate, SegmentFate::kDuplicate);
  const auto r = Take(6, "you all");  // overlap then new bytes
  EXPECT_EQ(r.fate, SegmentFate::kFresh);
  EXPECT_EQ(std::string(r.fresh.begin(), r.fresh.end()), " all");
}

TEST_F(ClientStreamTest, DifferingOverlapIsAConflictAndChangesNothing) {
  Take(0, "hello you");
  EXPECT_EQ(Take(0, "jello").fate, SegmentFate::kConflict);
  EXPECT_EQ(Take(6, "yoU and more").fate, SegmentFate::kConflict);
  EXPECT_EQ(s_.next_seq, 109u);
}

TEST_F(ClientStreamTest, SegmentBeyondAHoleIsRefused) {
  Take(0, "abc");
  EXPECT_EQ(Take(5, "fgh").fate, SegmentFate::kAhead);
  EXPECT_EQ(s_.next_seq, 103u);
  EXPECT_EQ(Take(3, "de").fate, SegmentFate::kFresh);
  EXPECT_EQ(Take(5, "fgh").fate, SegmentFate::kFresh);
}

TEST_F(ClientStreamTest, NoRoomRefusesWithoutTakingAnything) {
  Take(0, "0123456789");
  EXPECT_EQ(Take(10, "abcdefghij").fate, SegmentFate::kNoRoom);
  EXPECT_EQ(s_.next_seq, 110u);
  // Acknowledged bytes make room.
  EXPECT_TRUE(AckClientStream(s_, pool_, slot_, 108, 110));
  EXPECT_EQ(pool_.Data(slot_).size(), 2u);
  EXPECT_EQ(Take(10, "abcdefghij").fate, SegmentFate::kFresh);
  // A late copy of acknowledged bytes cannot change what the server read.
  EXPECT_EQ(Take(0, "XXXXXXXX").fate, SegmentFate::kDuplicate);
  EXPECT_EQ(Take(6, "XXXX").fate, SegmentFate::kConflict);  // 108, 109 are still held
}

TEST_F(ClientStreamTest, KeepFromHoldsBytesTheInspectorStillNeeds) {
  Take(0, "0123456789");
  AckClientStream(s_, pool_, slot_, 110, 104);
  EXPECT_EQ(pool_.Data(slot_).size(), 6u);
  EXPECT_EQ(s_.base_seq, 104u);
}

TEST_F(ClientStreamTest, BogusAcknowledgementIsIgnored) {
  Take(0, "0123");
  EXPECT_FALSE(AckClientStream(s_, pool_, slot_, 200, 200));
  EXPECT_EQ(pool_.Data(slot_).size(), 4u);
}

TEST_F(ClientStreamTest, UnretainedStreamOnlyCountsSequence) {
  Take(0, "hello");
  s_.retain = false;
  EXPECT_EQ(Take(5, "0123456789abcdefgh").fate, SegmentFate::kFresh);
  EXPECT_EQ(pool_.Data(slot_).size(), 5u);
  EXPECT_EQ(Take(0, "jello").fate, SegmentFate::kConflict);  // held bytes are still compared
}

TEST(ClientStreamStartTest, WithoutItsStartNothingIsTaken) {
  StreamBufferPool pool(1, 16);
  ClientStream s;
  const std::string bytes = "x";
  EXPECT_EQ(TakeClientSegment(s, pool, pool.Acquire(), 5, View(bytes)).fate, SegmentFate::kNoStart);
}

}  // namespace
}  // namespace flightwall
