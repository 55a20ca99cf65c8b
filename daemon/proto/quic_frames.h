// QUIC Initial payload frames (RFC 9000 section 19) and CRYPTO stream
// reassembly.
//
// WalkInitialFrames reads the decrypted payload of one Initial packet: it
// skips PADDING, PING and ACK (with or without ECN counts), hands CRYPTO
// frame data to a CryptoReassembler and stops at CONNECTION_CLOSE. Any other
// frame type is not allowed in an Initial packet and is reported as
// malformed.
//
// CryptoReassembler keeps the first kCapacity bytes of the CRYPTO stream in
// an inline buffer, accepting frames in any order and overlapping; it tracks
// what it holds as a small fixed table of disjoint byte ranges. Nothing here
// allocates. Not thread-safe (one per parser).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace flightwall {

class CryptoReassembler {
 public:
  static constexpr std::size_t kCapacity = 8192;
  static constexpr std::size_t kMaxRanges = 16;

  // Stores data at stream offset `offset`. Bytes at or past kCapacity are
  // dropped, as is the whole frame when it would need a (kMaxRanges+1)th
  // disjoint range; returns the number of bytes that were dropped. Overlapping
  // bytes overwrite what was there (honest peers resend identical bytes).
  std::size_t Add(std::uint64_t offset, std::span<const std::uint8_t> data);

  // The bytes [0, n) received without a gap.
  std::span<const std::uint8_t> Contiguous() const;
  std::size_t RangeCount() const { return range_count_; }
  void Reset() { range_count_ = 0; }

 private:
  struct Range {
    std::uint32_t begin;
    std::uint32_t end;  // exclusive
  };

  std::array<std::uint8_t, kCapacity> buffer_{};
  std::array<Range, kMaxRanges> ranges_{};  // sorted, disjoint, non-adjacent
  std::size_t range_count_ = 0;
};

enum class FrameWalkResult : std::uint8_t {
  kOk,               // every frame read
  kConnectionClose,  // stopped at CONNECTION_CLOSE
  kMalformed,        // truncated frame or a type not allowed in Initial
};

struct FrameWalkStats {
  std::size_t crypto_frames = 0;
  std::size_t crypto_bytes_dropped = 0;
};

FrameWalkResult WalkInitialFrames(std::span<const std::uint8_t> payload, CryptoReassembler* crypto,
                                  FrameWalkStats* stats);

}  // namespace flightwall
