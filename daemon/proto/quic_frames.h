// QUIC Initial payload frames (RFC 9000 section 19) and CRYPTO stream
// reassembly.
//
// WalkInitialFrames reads the decrypted payload of one Initial packet: it
// skips PADDING, PING and ACK (with or without ECN counts), hands CRYPTO
// frame data to a CryptoReassembler and stops at CONNECTION_CLOSE. Any other
// frame type is not allowed in an Initial packet and is reported as
// malformed; CRYPTO data that contradicts bytes already received, as a
// conflict.
//
// CryptoReassembler keeps the first kCapacity bytes of the CRYPTO stream,
// accepting frames in any order and overlapping. What it holds is tracked one
// bit per byte, so no pattern of fragments can exhaust the bookkeeping (a
// fixed table of ranges could be filled by a client's own tiny frames, after
// which parts of its real ClientHello would have nowhere to go). Data and
// bitmap live in one heap block allocated once, in the constructor, and never
// zero-filled up front: parsers sit preallocated in a pool, and pages no flow
// has written to cost no resident memory. The bitmap is cleared lazily, only
// as far as a flow has used it, so Reset() is O(1). Nothing allocates after
// construction. Not thread-safe (one per parser).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace flightwall {

class CryptoReassembler {
 public:
  // A ClientHello with a 64 KiB body plus its 4-byte handshake header.
  static constexpr std::size_t kCapacity = 65536 + 4;

  CryptoReassembler();

  struct AddResult {
    std::size_t dropped = 0;  // bytes at or past kCapacity
    // Some byte differs from one already received at the same offset
    // (RFC 9000 2.2: data at an offset MUST NOT change). Nothing of the
    // frame is stored: the first copy stays, as servers keep it.
    bool conflict = false;
  };

  // Stores data at stream offset `offset`.
  AddResult Add(std::uint64_t offset, std::span<const std::uint8_t> data);

  // The bytes [0, n) received without a gap.
  std::span<const std::uint8_t> Contiguous() const { return {storage_.get(), contiguous_}; }
  void Reset() {
    bitmap_valid_ = 0;
    contiguous_ = 0;
  }

 private:
  static constexpr std::size_t kBitmapBytes = (kCapacity + 7) / 8;

  std::uint8_t* Bitmap() const { return storage_.get() + kCapacity; }
  void MarkReceived(std::size_t begin, std::size_t end);
  bool Received(std::size_t offset) const;
  bool Differs(std::size_t begin, std::span<const std::uint8_t> data) const;

  // kCapacity data bytes, then kBitmapBytes of bitmap (bit i of byte i / 8
  // set = stream byte i received). Never value-initialised.
  std::unique_ptr<std::uint8_t[]> storage_;
  std::size_t bitmap_valid_ = 0;  // bitmap bytes [0, n) are meaningful; the rest read as 0
  std::size_t contiguous_ = 0;    // stream bytes [0, n) received
};

enum class FrameWalkResult : std::uint8_t {
  kOk,               // every frame read
  kConnectionClose,  // stopped at CONNECTION_CLOSE
  kMalformed,        // truncated frame or a type not allowed in Initial
  kConflict,         // stopped at CRYPTO data that contradicts data already held
};

struct FrameWalkStats {
  std::size_t crypto_frames = 0;
  std::size_t crypto_bytes_dropped = 0;
};

FrameWalkResult WalkInitialFrames(std::span<const std::uint8_t> payload, CryptoReassembler* crypto,
                                  FrameWalkStats* stats);

}  // namespace flightwall
