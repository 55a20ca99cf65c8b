#include "proto/quic_frames.h"

#include <algorithm>

#include "common/byte_cursor.h"

namespace flightwall {

std::size_t CryptoReassembler::Add(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (data.empty()) return 0;
  if (offset >= kCapacity) return data.size();
  const std::size_t keep = std::min<std::size_t>(data.size(), kCapacity - offset);
  const std::size_t dropped = data.size() - keep;
  const auto begin = static_cast<std::uint32_t>(offset);
  const auto end = static_cast<std::uint32_t>(offset + keep);

  // Ranges [first, last) touch [begin, end) and merge with it.
  std::size_t first = 0;
  while (first < range_count_ && ranges_[first].end < begin) ++first;
  std::size_t last = first;
  while (last < range_count_ && ranges_[last].begin <= end) ++last;
  const std::size_t merged = last - first;
  if (merged == 0 && range_count_ == kMaxRanges) return data.size();

  std::copy_n(data.begin(), keep, buffer_.begin() + begin);
  Range joined{begin, end};
  if (merged > 0) {
    joined.begin = std::min(begin, ranges_[first].begin);
    joined.end = std::max(end, ranges_[last - 1].end);
  }
  if (merged == 0) {
    std::copy_backward(ranges_.begin() + first, ranges_.begin() + range_count_,
                       ranges_.begin() + range_count_ + 1);
    ++range_count_;
  } else if (merged > 1) {
    std::copy(ranges_.begin() + last, ranges_.begin() + range_count_, ranges_.begin() + first + 1);
    range_count_ -= merged - 1;
  }
  ranges_[first] = joined;
  return dropped;
}

std::span<const std::uint8_t> CryptoReassembler::Contiguous() const {
  if (range_count_ == 0 || ranges_[0].begin != 0) return {};
  return std::span<const std::uint8_t>(buffer_).first(ranges_[0].end);
}

FrameWalkResult WalkInitialFrames(std::span<const std::uint8_t> payload, CryptoReassembler* crypto,
                                  FrameWalkStats* stats) {
  ByteCursor c(payload);
  while (c.Remaining() > 0) {
    const std::uint64_t type = c.VarInt();
    if (!c.Ok()) return FrameWalkResult::kMalformed;
    switch (type) {
      case 0x00:  // PADDING
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
        stats->crypto_bytes_dropped += crypto->Add(offset, data);
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
