#include "proto/quic_frames.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <span>

#include "proto_test_builders.h"

namespace flightwall {
namespace {

using testing::Bytes;
using testing::CryptoFrame;

// Bytes dropped by one Add (failing the test on a conflict).
std::size_t Dropped(CryptoReassembler& r, std::uint64_t offset,
                    std::span<const std::uint8_t> data) {
  const CryptoReassembler::AddResult added = r.Add(offset, data);
  EXPECT_FALSE(added.conflict) << offset;
  return added.dropped;
}

TEST(CryptoReassemblerTest, TracksTheContiguousPrefix) {
  CryptoReassembler r;
  Bytes data(100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(Dropped(r, 50, std::span(data).subspan(50, 10)), 0u);
  EXPECT_TRUE(r.Contiguous().empty());
  EXPECT_EQ(Dropped(r, 70, std::span(data).subspan(70, 10)), 0u);
  EXPECT_EQ(Dropped(r, 0, std::span(data).first(50)), 0u);  // adjacent to [50,60)
  EXPECT_EQ(r.Contiguous().size(), 60u);
  EXPECT_EQ(Dropped(r, 55, std::span(data).subspan(55, 20)), 0u);  // bridges to [70,80)
  EXPECT_EQ(r.Contiguous().size(), 80u);
  EXPECT_EQ(Dropped(r, 5, std::span(data).subspan(5, 10)), 0u);  // wholly inside
  ASSERT_EQ(r.Contiguous().size(), 80u);
  EXPECT_TRUE(std::equal(r.Contiguous().begin(), r.Contiguous().end(), data.begin()));
  EXPECT_EQ(Dropped(r, 0, {}), 0u);
  EXPECT_EQ(r.Contiguous().size(), 80u);
}

TEST(CryptoReassemblerTest, BoundsCapacity) {
  static_assert(CryptoReassembler::kCapacity == 65536 + 4);
  CryptoReassembler r;
  const Bytes data(16, 1);
  EXPECT_EQ(Dropped(r, CryptoReassembler::kCapacity, data), 16u);
  EXPECT_EQ(Dropped(r, CryptoReassembler::kCapacity - 4, data), 12u);
  EXPECT_EQ(Dropped(r, std::uint64_t{1} << 61, data), 16u);
  EXPECT_TRUE(r.Contiguous().empty());
}

TEST(CryptoReassemblerTest, FillsTheWholeBufferBackwards) {
  // The buffer is not zero-filled: every byte read back must be one written.
  CryptoReassembler r;
  Bytes stream(CryptoReassembler::kCapacity);
  for (std::size_t i = 0; i < stream.size(); ++i) stream[i] = static_cast<std::uint8_t>(i * 7);
  constexpr std::size_t kChunk = 1000;
  for (std::size_t end = stream.size(); end > 0;) {
    const std::size_t begin = end > kChunk ? end - kChunk : 0;
    EXPECT_EQ(Dropped(r, begin, std::span(stream).subspan(begin, end - begin)), 0u);
    EXPECT_EQ(r.Contiguous().size(), begin == 0 ? stream.size() : 0u);
    end = begin;
  }
  const std::span<const std::uint8_t> got = r.Contiguous();
  ASSERT_EQ(got.size(), stream.size());
  EXPECT_TRUE(std::equal(got.begin(), got.end(), stream.begin()));
}

TEST(CryptoReassemblerTest, ThousandsOfFragmentsStillReassemble) {
  // Every even byte as its own fragment, from the end backwards, then every
  // odd one: 2 * 4000 fragments, up to 4000 gaps at once. No bookkeeping
  // table to fill, so none of it is dropped.
  CryptoReassembler r;
  Bytes stream(8000);
  for (std::size_t i = 0; i < stream.size(); ++i) stream[i] = static_cast<std::uint8_t>(i ^ 0x5a);
  for (std::size_t i = stream.size(); i >= 2; i -= 2) {
    EXPECT_EQ(Dropped(r, i - 2, std::span(stream).subspan(i - 2, 1)), 0u);
  }
  EXPECT_EQ(r.Contiguous().size(), 1u);
  for (std::size_t i = 1; i < stream.size(); i += 2) {
    EXPECT_EQ(Dropped(r, i, std::span(stream).subspan(i, 1)), 0u);
    EXPECT_EQ(r.Contiguous().size(), i + 2 <= stream.size() ? i + 2 : stream.size());
  }
  EXPECT_TRUE(std::equal(r.Contiguous().begin(), r.Contiguous().end(), stream.begin()));
}

TEST(CryptoReassemblerTest, UnalignedEdgesAndReset) {
  CryptoReassembler r;
  const Bytes data(64, 0x11);
  EXPECT_EQ(Dropped(r, 3, std::span(data).first(21)), 0u);  // [3,24): partial, whole, partial bytes
  EXPECT_EQ(Dropped(r, 0, std::span(data).first(3)), 0u);
  EXPECT_EQ(r.Contiguous().size(), 24u);
  EXPECT_EQ(Dropped(r, 25, std::span(data).first(7)), 0u);  // [25,32) leaves bit 24 clear
  EXPECT_EQ(r.Contiguous().size(), 24u);
  EXPECT_EQ(Dropped(r, 24, std::span(data).first(1)), 0u);
  EXPECT_EQ(r.Contiguous().size(), 32u);
  r.Reset();
  EXPECT_TRUE(r.Contiguous().empty());
  // Bits set before the Reset are forgotten, not revived.
  EXPECT_EQ(Dropped(r, 8, std::span(data).first(8)), 0u);
  EXPECT_EQ(Dropped(r, 0, std::span(data).first(4)), 0u);
  EXPECT_EQ(r.Contiguous().size(), 4u);
}

TEST(CryptoReassemblerTest, ConflictingBytesAreRefused) {
  CryptoReassembler r;
  const Bytes first = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'};
  EXPECT_EQ(Dropped(r, 0, first), 0u);
  EXPECT_EQ(Dropped(r, 2, std::span(first).subspan(2, 5)), 0u);  // identical resend
  const Bytes other = {'c', 'd', 'X'};
  const CryptoReassembler::AddResult added = r.Add(2, other);
  EXPECT_TRUE(added.conflict);
  EXPECT_EQ(added.dropped, 0u);
  ASSERT_EQ(r.Contiguous().size(), first.size());  // the first copy stays
  EXPECT_TRUE(std::equal(r.Contiguous().begin(), r.Contiguous().end(), first.begin()));
  // Overlap checks cover whole bitmap bytes and partial ones, and only held
  // bytes: a frame that overlaps a gap but agrees elsewhere is fine.
  CryptoReassembler sparse;
  Bytes stream(40);
  for (std::size_t i = 0; i < stream.size(); ++i) stream[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(Dropped(sparse, 0, std::span(stream).first(16)), 0u);
  EXPECT_EQ(Dropped(sparse, 20, std::span(stream).subspan(20, 3)), 0u);
  EXPECT_EQ(Dropped(sparse, 5, std::span(stream).subspan(5, 30)), 0u);
  Bytes changed(stream.begin() + 8, stream.begin() + 16);
  changed[7] ^= 1;  // byte 15, in a whole bitmap byte
  EXPECT_TRUE(sparse.Add(8, changed).conflict);
  Bytes late(stream.begin() + 33, stream.begin() + 36);
  late[1] ^= 1;  // byte 34, held since the third Add
  EXPECT_TRUE(sparse.Add(33, late).conflict);
  late[1] ^= 1;
  EXPECT_FALSE(sparse.Add(33, late).conflict);
  EXPECT_EQ(sparse.Contiguous().size(), 36u);
}

TEST(QuicFramesTest, ConflictingCryptoFrameStopsTheWalk) {
  CryptoReassembler r;
  const Bytes a = {1, 2, 3, 4};
  const Bytes b = {1, 2, 9, 4};
  Bytes frames = CryptoFrame(0, a);
  testing::PutBytes(frames, CryptoFrame(0, b));
  testing::PutBytes(frames, CryptoFrame(4, a));
  FrameWalkStats stats;
  EXPECT_EQ(WalkInitialFrames(frames, &r, &stats), FrameWalkResult::kConflict);
  EXPECT_EQ(stats.crypto_frames, 2u);
  EXPECT_EQ(r.Contiguous().size(), 4u);
}

TEST(QuicFramesTest, ManyCryptoFramesInOnePayload) {
  CryptoReassembler r;
  Bytes frames;
  const Bytes one = {0x42};
  for (std::size_t i = 0; i < 500; ++i) testing::PutBytes(frames, CryptoFrame(1 + 2 * i, one));
  for (std::size_t i = 0; i <= 500; ++i) testing::PutBytes(frames, CryptoFrame(2 * i, one));
  FrameWalkStats stats;
  EXPECT_EQ(WalkInitialFrames(frames, &r, &stats), FrameWalkResult::kOk);
  EXPECT_EQ(stats.crypto_frames, 1001u);
  EXPECT_EQ(stats.crypto_bytes_dropped, 0u);
  EXPECT_EQ(r.Contiguous().size(), 1001u);
}

TEST(QuicFramesTest, TruncatedFramesAreMalformed) {
  CryptoReassembler r;
  FrameWalkStats stats;
  const Bytes truncated_crypto = {0x06, 0x00, 0x10, 0x01};
  EXPECT_EQ(WalkInitialFrames(truncated_crypto, &r, &stats), FrameWalkResult::kMalformed);
  const Bytes truncated_ack = {0x03, 0x01, 0x00, 0x00, 0x00, 0x01};
  EXPECT_EQ(WalkInitialFrames(truncated_ack, &r, &stats), FrameWalkResult::kMalformed);
  const Bytes huge_offset = {0x06, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
  EXPECT_EQ(WalkInitialFrames(huge_offset, &r, &stats), FrameWalkResult::kMalformed);
  EXPECT_EQ(WalkInitialFrames(Bytes{0x00, 0x00, 0x01}, &r, &stats), FrameWalkResult::kOk);
  EXPECT_EQ(stats.crypto_frames, 0u);
}

TEST(QuicFramesTest, PaddingRunsOfEveryLengthAroundTheFrames) {
  // PADDING runs are skipped a word at a time: each length across two words,
  // before, between and after frames, must walk like one-byte frames would.
  const Bytes hello = {0x16, 0x03, 0x01, 0x00};
  for (std::size_t run = 0; run <= 17; ++run) {
    for (std::size_t misalign = 0; misalign < 8; ++misalign) {
      CryptoReassembler r;
      FrameWalkStats stats;
      Bytes frames(misalign, 0x01);  // PINGs shift the run against the buffer
      frames.resize(frames.size() + run, 0x00);
      testing::PutBytes(frames, CryptoFrame(0, hello));
      frames.resize(frames.size() + run, 0x00);
      testing::PutBytes(frames, CryptoFrame(hello.size(), hello));
      frames.resize(frames.size() + run, 0x00);
      EXPECT_EQ(WalkInitialFrames(frames, &r, &stats), FrameWalkResult::kOk) << run;
      EXPECT_EQ(stats.crypto_frames, 2u) << run;
      EXPECT_EQ(r.Contiguous().size(), 2 * hello.size()) << run;
      // A frame type not allowed in Initials right after the run still ends the walk.
      frames.push_back(0x08);  // STREAM
      EXPECT_EQ(WalkInitialFrames(frames, &r, &stats), FrameWalkResult::kMalformed) << run;
    }
  }
  // A zero inside a CRYPTO frame's data is data, not padding.
  CryptoReassembler r;
  FrameWalkStats stats;
  const Bytes zeros(20, 0x00);
  Bytes frames = CryptoFrame(0, zeros);
  frames.push_back(0x1c);  // CONNECTION_CLOSE right after it
  EXPECT_EQ(WalkInitialFrames(frames, &r, &stats), FrameWalkResult::kConnectionClose);
  EXPECT_EQ(r.Contiguous().size(), zeros.size());
}

}  // namespace
}  // namespace flightwall
