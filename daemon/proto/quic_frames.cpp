#include "proto/quic_frames.h"

#include <algorithm>
#include <cstring>

#include "common/byte_cursor.h"

namespace flightwall {

// make_unique_for_overwrite default-initialises: no zero fill, so the pages
// stay untouched until CRYPTO data lands in them.
CryptoReassembler::CryptoReassembler()
    : storage_(std::make_unique_for_overwrite<std::uint8_t[]>(kCapacity + kBitmapBytes)) {}

CryptoReassembler::AddResult CryptoReassembler::Add(std::uint64_t offset,
                                                    std::span<const std::uint8_t> data) {
  if (offset >= kCapacity) return {.dropped = data.size()};
  const auto begin = static_cast<std::size_t>(offset);
  const std::size_t keep = std::min(data.size(), kCapacity - begin);
  if (keep == 0) return {};
  const AddResult result = {.dropped = data.size() - keep,
                            .conflict = Differs(begin, data.first(keep))};
  if (result.conflict) return result;
  std::memcpy(storage_.get() + begin, data.data(), keep);
  MarkReceived(begin, begin + keep);
  if (begin <= contiguous_) {
    // Whole bytes of the bitmap first, then the bits of a partial byte.
    while (contiguous_ < kCapacity) {
      if (contiguous_ % 8 == 0 && contiguous_ / 8 < bitmap_valid_ &&
          Bitmap()[contiguous_ / 8] == 0xff) {
        contiguous_ = std::min(contiguous_ + 8, kCapacity);
      } else if (Received(contiguous_)) {
        ++contiguous_;
      } else {
        break;
      }
    }
  }
  return result;
}

void CryptoReassembler::MarkReceived(std::size_t begin, std::size_t end) {
  std::uint8_t* bitmap = Bitmap();
  const std::size_t needed = (end + 7) / 8;
  if (needed > bitmap_valid_) {
    std::memset(bitmap + bitmap_valid_, 0, needed - bitmap_valid_);
    bitmap_valid_ = needed;
  }
  std::size_t i = begin;
  for (; i < end && i % 8 != 0; ++i) bitmap[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
  if (end - i >= 8) {
    std::memset(bitmap + i / 8, 0xff, end / 8 - i / 8);
    i = end / 8 * 8;
  }
  for (; i < end; ++i) bitmap[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
}

bool CryptoReassembler::Differs(std::size_t begin, std::span<const std::uint8_t> data) const {
  // Only bytes below bitmap_valid_ can have been received: fresh data skips
  // the loop entirely.
  const std::size_t end = std::min(begin + data.size(), bitmap_valid_ * 8);
  const std::uint8_t* held = storage_.get();
  for (std::size_t i = begin; i < end;) {
    const std::uint8_t bits = Bitmap()[i / 8];
    if (i % 8 == 0 && i + 8 <= end && (bits == 0 || bits == 0xff)) {
      if (bits == 0xff && std::memcmp(held + i, data.data() + (i - begin), 8) != 0) return true;
      i += 8;
      continue;
    }
    if ((bits >> (i % 8) & 1) != 0 && held[i] != data[i - begin]) return true;
    ++i;
  }
  return false;
}

bool CryptoReassembler::Received(std::size_t offset) const {
  return offset / 8 < bitmap_valid_ && (Bitmap()[offset / 8] >> (offset % 8) & 1) != 0;
}

namespace {

// Zero bytes at the start of `rest`: the PADDING frames that follow one.
std::size_t PaddingRun(std::span<const std::uint8_t> rest) {
  std::size_t n = 0;
  for (std::uint64_t word = 0; n + sizeof word <= rest.size(); n += sizeof word) {
    std::memcpy(&word, rest.data() + n, sizeof word);
    if (word != 0) break;
  }
  while (n < rest.size() && rest[n] == 0) ++n;
  return n;
}

}  // namespace

FrameWalkResult WalkInitialFrames(std::span<const std::uint8_t> payload, CryptoReassembler* crypto,
                                  FrameWalkStats* stats) {
  ByteCursor c(payload);
  while (c.Remaining() > 0) {
    const std::uint64_t type = c.VarInt();
    if (!c.Ok()) return FrameWalkResult::kMalformed;
    switch (type) {
      case 0x00:  // PADDING
        // One byte each, and Initials carry hundreds (RFC 9000 14.1 pads
        // them to 1200 bytes): a run is skipped at once, not frame by frame.
        c.Skip(PaddingRun(c.Rest()));
        break;
      case 0x01:  // PING
        break;
      case 0x02:     // ACK
      case 0x03: {   // ACK with ECN counts
        c.VarInt();  // largest acknowledged
        c.VarInt();  // ack delay
        const std::uint64_t range_count = c.VarInt();
        c.VarInt();  // first ack range
        // Each range is two varints of at least one byte: a count larger than
        // what is left is a lie, and checking it bounds the loop.
        if (!c.Ok() || range_count > c.Remaining() / 2) return FrameWalkResult::kMalformed;
        for (std::uint64_t i = 0; i < range_count; ++i) {
          c.VarInt();  // gap
          c.VarInt();  // ack range length
        }
        if (type == 0x03) {
          c.VarInt();  // ECT0
          c.VarInt();  // ECT1
          c.VarInt();  // ECN-CE
        }
        if (!c.Ok()) return FrameWalkResult::kMalformed;
        break;
      }
      case 0x06: {  // CRYPTO
        const std::uint64_t offset = c.VarInt();
        const std::uint64_t length = c.VarInt();
        if (!c.Ok() || length > c.Remaining()) return FrameWalkResult::kMalformed;
        const std::span<const std::uint8_t> data = c.Bytes(static_cast<std::size_t>(length));
        // RFC 9000 19.6: the stream may not reach 2^62.
        if (offset > (std::uint64_t{1} << 62) - 1 - length) return FrameWalkResult::kMalformed;
        ++stats->crypto_frames;
        const CryptoReassembler::AddResult added = crypto->Add(offset, data);
        stats->crypto_bytes_dropped += added.dropped;
        if (added.conflict) return FrameWalkResult::kConflict;
        break;
      }
      case 0x1c:  // CONNECTION_CLOSE (transport)
      case 0x1d:  // CONNECTION_CLOSE (application; only legal later, still an end)
        return FrameWalkResult::kConnectionClose;
      default:  // not allowed in Initial packets (RFC 9000 table 3)
        return FrameWalkResult::kMalformed;
    }
  }
  return FrameWalkResult::kOk;
}

}  // namespace flightwall
