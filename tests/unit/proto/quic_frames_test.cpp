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

TEST(CryptoReassemblerTest, TracksTheContiguousPrefix) {
  CryptoReassembler r;
  Bytes data(100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(r.Add(50, std::span(data).subspan(50, 10)), 0u);
  EXPECT_TRUE(r.Contiguous().empty());
  EXPECT_EQ(r.Add(70, std::span(data).subspan(70, 10)), 0u);
  EXPECT_EQ(r.Add(0, std::span(data).first(50)), 0u);  // adjacent to [50,60)
  EXPECT_EQ(r.Contiguous().size(), 60u);
  EXPECT_EQ(r.Add(55, std::span(data).subspan(55, 20)), 0u);  // bridges to [70,80)
  EXPECT_EQ(r.Contiguous().size(), 80u);
  EXPECT_EQ(r.Add(5, std::span(data).subspan(5, 10)), 0u);  // wholly inside
  ASSERT_EQ(r.Contiguous().size(), 80u);
  EXPECT_TRUE(std::equal(r.Contiguous().begin(), r.Contiguous().end(), data.begin()));
  EXPECT_EQ(r.Add(0, {}), 0u);
  EXPECT_EQ(r.Contiguous().size(), 80u);
}

TEST(CryptoReassemblerTest, BoundsCapacity) {
  static_assert(CryptoReassembler::kCapacity == 65536 + 4);
  CryptoReassembler r;
  const Bytes data(16, 1);
  EXPECT_EQ(r.Add(CryptoReassembler::kCapacity, data), 16u);
  EXPECT_EQ(r.Add(CryptoReassembler::kCapacity - 4, data), 12u);
  EXPECT_EQ(r.Add(std::uint64_t{1} << 61, data), 16u);
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
    EXPECT_EQ(r.Add(begin, std::span(stream).subspan(begin, end - begin)), 0u);
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
    EXPECT_EQ(r.Add(i - 2, std::span(stream).subspan(i - 2, 1)), 0u);
  }
  EXPECT_EQ(r.Contiguous().size(), 1u);
  for (std::size_t i = 1; i < stream.size(); i += 2) {
    EXPECT_EQ(r.Add(i, std::span(stream).subspan(i, 1)), 0u);
    EXPECT_EQ(r.Contiguous().size(), i + 2 <= stream.size() ? i + 2 : stream.size());
  }
  EXPECT_TRUE(std::equal(r.Contiguous().begin(), r.Contiguous().end(), stream.begin()));
}

TEST(CryptoReassemblerTest, UnalignedEdgesAndReset) {
  CryptoReassembler r;
  const Bytes data(64, 0x11);
  EXPECT_EQ(r.Add(3, std::span(data).first(21)), 0u);  // [3,24): partial, whole, partial bytes
  EXPECT_EQ(r.Add(0, std::span(data).first(3)), 0u);
  EXPECT_EQ(r.Contiguous().size(), 24u);
  EXPECT_EQ(r.Add(25, std::span(data).first(7)), 0u);  // [25,32) leaves bit 24 clear
  EXPECT_EQ(r.Contiguous().size(), 24u);
  EXPECT_EQ(r.Add(24, std::span(data).first(1)), 0u);
  EXPECT_EQ(r.Contiguous().size(), 32u);
  r.Reset();
  EXPECT_TRUE(r.Contiguous().empty());
  // Bits set before the Reset are forgotten, not revived.
  EXPECT_EQ(r.Add(8, std::span(data).first(8)), 0u);
  EXPECT_EQ(r.Add(0, std::span(data).first(4)), 0u);
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

}  // namespace
}  // namespace flightwall
