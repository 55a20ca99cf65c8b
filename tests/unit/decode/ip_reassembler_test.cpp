#include "decode/ip_reassembler.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

Bytes Pattern(std::size_t n, std::uint8_t seed = 0) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), seed);
  return b;
}

class IpReassemblerTest : public ::testing::Test {
 protected:
  Fragment Piece(const Bytes& whole, std::uint32_t offset, std::uint32_t length, bool more,
                 std::uint32_t id = 1, Timestamp time = 0) {
    Fragment f;
    f.key = {testing::Addr("192.0.2.1"), testing::Addr("192.0.2.2"), id, 17};
    f.offset = offset;
    f.more_fragments = more;
    f.data = std::span<const std::uint8_t>(whole).subspan(offset, length);
    f.protocol = 17;
    f.ttl = static_cast<std::uint8_t>(offset == 0 ? 64 : 1);
    f.time = time;
    return f;
  }

  static Bytes View(const ReassemblyResult& r) {
    return Bytes(r.datagram.begin(), r.datagram.end());
  }
};

TEST_F(IpReassemblerTest, InOrder) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(3000);
  EXPECT_EQ(r.Add(Piece(whole, 0, 1480, true)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(whole, 1480, 1480, true)).status, ReassemblyStatus::kHeld);
  const auto done = r.Add(Piece(whole, 2960, 40, false));
  ASSERT_EQ(done.status, ReassemblyStatus::kComplete);
  EXPECT_EQ(View(done), whole);
  EXPECT_EQ(done.protocol, 17);
  EXPECT_EQ(done.ttl, 64);  // from the first fragment
  EXPECT_EQ(r.Reassembled(), 1u);
  EXPECT_EQ(r.DatagramsInProgress(), 0u);
  EXPECT_EQ(r.BytesHeld(), 0u);
}

TEST_F(IpReassemblerTest, ReversedOrder) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(2501);
  EXPECT_EQ(r.Add(Piece(whole, 2000, 501, false)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(whole, 1000, 1000, true)).status, ReassemblyStatus::kHeld);
  const auto done = r.Add(Piece(whole, 0, 1000, true));
  ASSERT_EQ(done.status, ReassemblyStatus::kComplete);
  EXPECT_EQ(View(done), whole);
}

TEST_F(IpReassemblerTest, DuplicatesAndIdenticalOverlapsAreAccepted) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(2400);
  EXPECT_EQ(r.Add(Piece(whole, 0, 1200, true)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(whole, 0, 1200, true)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(whole, 800, 800, true)).status, ReassemblyStatus::kHeld);
  const auto done = r.Add(Piece(whole, 1600, 800, false));
  ASSERT_EQ(done.status, ReassemblyStatus::kComplete);
  EXPECT_EQ(View(done), whole);
  EXPECT_EQ(r.Overlaps(), 0u);
}

TEST_F(IpReassemblerTest, ConflictingOverlapDiscardsTheDatagram) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(2400);
  Bytes forged = whole;
  forged[900] ^= 0xff;
  EXPECT_EQ(r.Add(Piece(whole, 0, 1200, true)).status, ReassemblyStatus::kHeld);
  const auto bad = r.Add(Piece(forged, 800, 800, true));
  EXPECT_EQ(bad.status, ReassemblyStatus::kOverlap);
  EXPECT_EQ(r.Overlaps(), 1u);
  EXPECT_EQ(r.DatagramsInProgress(), 0u);
  // The rest cannot complete what was discarded.
  EXPECT_EQ(r.Add(Piece(whole, 1600, 800, false)).status, ReassemblyStatus::kHeld);
}

TEST_F(IpReassemblerTest, TwoDifferentEndsConflict) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(3000);
  EXPECT_EQ(r.Add(Piece(whole, 1000, 500, false)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(whole, 1000, 600, false)).status, ReassemblyStatus::kOverlap);
  EXPECT_EQ(r.Add(Piece(whole, 1000, 504, false)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(whole, 1600, 800, true)).status, ReassemblyStatus::kOverlap)
      << "data past the last fragment's end";
  EXPECT_EQ(r.Overlaps(), 2u);
}

TEST_F(IpReassemblerTest, KeysSeparateDatagrams) {
  IpReassembler r(DecoderLimits{});
  const Bytes a = Pattern(1600, 1);
  const Bytes b = Pattern(1600, 2);
  EXPECT_EQ(r.Add(Piece(a, 0, 800, true, 1)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(b, 0, 800, true, 2)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.DatagramsInProgress(), 2u);
  const auto done_b = r.Add(Piece(b, 800, 800, false, 2));
  ASSERT_EQ(done_b.status, ReassemblyStatus::kComplete);
  EXPECT_EQ(View(done_b), b);
  const auto done_a = r.Add(Piece(a, 800, 800, false, 1));
  ASSERT_EQ(done_a.status, ReassemblyStatus::kComplete);
  EXPECT_EQ(View(done_a), a);
}

TEST_F(IpReassemblerTest, RejectsInvalidFragments) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(70000);
  auto odd = r.Add(Piece(whole, 0, 1001, true));
  EXPECT_EQ(odd.status, ReassemblyStatus::kMalformed);
  EXPECT_STREQ(odd.error, "IP fragment length is not a multiple of 8");
  EXPECT_EQ(r.Add(Piece(whole, 0, 0, true)).status, ReassemblyStatus::kMalformed);
  auto big = r.Add(Piece(whole, 65528, 16, false));
  EXPECT_EQ(big.status, ReassemblyStatus::kMalformed);
  EXPECT_STREQ(big.error, "IP fragment ends beyond 65535 bytes");
}

TEST_F(IpReassemblerTest, LargestDatagramFits) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(65535);
  ReassemblyResult last;
  for (std::uint32_t off = 0; off < whole.size(); off += 1480) {
    const std::uint32_t len = std::min<std::uint32_t>(1480, 65535 - off);
    last = r.Add(Piece(whole, off, len, off + len < whole.size()));
  }
  ASSERT_EQ(last.status, ReassemblyStatus::kComplete);
  EXPECT_EQ(View(last), whole);
}

TEST_F(IpReassemblerTest, TooManyDatagramsEvictsTheOldest) {
  DecoderLimits limits;
  limits.max_datagrams_in_reassembly = 4;
  IpReassembler r(limits);
  const Bytes whole = Pattern(1600);
  for (std::uint32_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(r.Add(Piece(whole, 0, 800, true, id)).status, ReassemblyStatus::kHeld);
  }
  EXPECT_EQ(r.Evictions(), 1u);
  EXPECT_EQ(r.DatagramsInProgress(), 4u);
  EXPECT_EQ(r.Add(Piece(whole, 800, 800, false, 1)).status, ReassemblyStatus::kHeld)
      << "datagram 1 was evicted, its tail starts a new one";
  EXPECT_EQ(r.Evictions(), 2u);
  EXPECT_EQ(r.Add(Piece(whole, 800, 800, false, 5)).status, ReassemblyStatus::kComplete);
}

TEST_F(IpReassemblerTest, ByteLimitEvictsTheOldestAndDropsWhatCannotFit) {
  DecoderLimits limits;
  limits.max_reassembly_bytes = 64 * 1024;  // the minimum: one largest datagram
  IpReassembler r(limits);
  const Bytes whole = Pattern(65535);
  // Datagram 1 holds 40 KiB; datagram 2 needs 40 KiB more than is left.
  for (std::uint32_t off = 0; off < 40 * 1024; off += 1024) {
    ASSERT_EQ(r.Add(Piece(whole, off, 1024, true, 1)).status, ReassemblyStatus::kHeld);
  }
  for (std::uint32_t off = 0; off < 40 * 1024; off += 1024) {
    ASSERT_EQ(r.Add(Piece(whole, off, 1024, true, 2)).status, ReassemblyStatus::kHeld);
  }
  EXPECT_EQ(r.Evictions(), 1u);
  EXPECT_EQ(r.DatagramsInProgress(), 1u);
  EXPECT_LE(r.BytesHeld(), 64u * 1024);
}

TEST_F(IpReassemblerTest, TimeoutIsMeasuredInPacketTime) {
  DecoderLimits limits;
  limits.fragment_timeout = 30 * kMicrosPerSecond;
  IpReassembler r(limits);
  const Bytes whole = Pattern(1600);
  EXPECT_EQ(r.Add(Piece(whole, 0, 800, true, 1, 0)).status, ReassemblyStatus::kHeld);
  EXPECT_EQ(r.Add(Piece(whole, 0, 800, true, 2, 29 * kMicrosPerSecond)).status,
            ReassemblyStatus::kHeld);
  // 31 s later datagram 1 is gone; datagram 2 (2 s old) completes.
  EXPECT_EQ(r.Add(Piece(whole, 800, 800, false, 2, 31 * kMicrosPerSecond)).status,
            ReassemblyStatus::kComplete);
  EXPECT_EQ(r.Evictions(), 1u);
  EXPECT_EQ(r.Add(Piece(whole, 800, 800, false, 1, 31 * kMicrosPerSecond)).status,
            ReassemblyStatus::kHeld);
}

TEST_F(IpReassemblerTest, OutputSurvivesTheRecyclingOfItsSlot) {
  IpReassembler r(DecoderLimits{});
  const Bytes whole = Pattern(1600, 9);
  r.Add(Piece(whole, 0, 800, true));
  const auto done = r.Add(Piece(whole, 800, 800, false));
  ASSERT_EQ(done.status, ReassemblyStatus::kComplete);
  // Slots and blocks are already recycled; the output buffer is separate.
  r.Add(Piece(Pattern(1600, 200), 0, 800, true, 7));
  EXPECT_EQ(View(done), whole);
}

}  // namespace
}  // namespace flightwall
