// ByteCursor: a bounds-checked reader over untrusted bytes (packets, captures).
//
// Every parser of hostile input reads through a cursor. A read past the end
// never touches memory: it fails, sets the cursor's sticky error flag, and
// returns zero/empty. Parsers check Ok() (or the bool results) once per
// logical step instead of comparing lengths by hand. The cursor does not own
// the bytes; the view lives only as long as the buffer it was made from.
// Not thread-safe (a cursor is a local value).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace flightwall {

class ByteCursor {
 public:
  ByteCursor() = default;
  explicit ByteCursor(std::span<const std::uint8_t> data) : data_(data) {}

  bool Ok() const { return !failed_; }
  std::size_t Remaining() const { return data_.size() - pos_; }
  std::size_t Position() const { return pos_; }
  std::span<const std::uint8_t> Whole() const { return data_; }
  std::span<const std::uint8_t> Rest() const { return data_.subspan(pos_); }

  bool Skip(std::size_t n) {
    if (!Need(n)) return false;
    pos_ += n;
    return true;
  }
  // Moves to an absolute offset inside the buffer (used for DNS compression).
  bool Seek(std::size_t offset) {
    if (failed_ || offset > data_.size()) return Fail();
    pos_ = offset;
    return true;
  }

  std::uint8_t U8() {
    if (!Need(1)) return 0;
    return data_[pos_++];
  }
  std::uint16_t U16() {  // network byte order
    if (!Need(2)) return 0;
    const std::uint16_t v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::uint32_t U24() {
    if (!Need(3)) return 0;
    const std::uint32_t v = (std::uint32_t{data_[pos_]} << 16) |
                            (std::uint32_t{data_[pos_ + 1]} << 8) | data_[pos_ + 2];
    pos_ += 3;
    return v;
  }
  std::uint32_t U32() {
    if (!Need(4)) return 0;
    const std::uint32_t v = (std::uint32_t{data_[pos_]} << 24) |
                            (std::uint32_t{data_[pos_ + 1]} << 16) |
                            (std::uint32_t{data_[pos_ + 2]} << 8) | data_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  std::uint16_t U16Le() {  // little endian (pcap headers, BSD null)
    if (!Need(2)) return 0;
    const std::uint16_t v = static_cast<std::uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  std::uint32_t U32Le() {
    if (!Need(4)) return 0;
    const std::uint32_t v = data_[pos_] | (std::uint32_t{data_[pos_ + 1]} << 8) |
                            (std::uint32_t{data_[pos_ + 2]} << 16) |
                            (std::uint32_t{data_[pos_ + 3]} << 24);
    pos_ += 4;
    return v;
  }
  // QUIC variable-length integer (RFC 9000 section 16).
  std::uint64_t VarInt() {
    if (!Need(1)) return 0;
    const std::size_t len = std::size_t{1} << (data_[pos_] >> 6);
    if (!Need(len)) return 0;
    std::uint64_t v = data_[pos_] & 0x3f;
    for (std::size_t i = 1; i < len; ++i) v = (v << 8) | data_[pos_ + i];
    pos_ += len;
    return v;
  }
  // Returns a view of the next n bytes and advances; empty on failure.
  std::span<const std::uint8_t> Bytes(std::size_t n) {
    if (!Need(n)) return {};
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  // Peeks without advancing; 0 if out of range (does not set the error flag).
  std::uint8_t PeekU8(std::size_t ahead = 0) const {
    return pos_ + ahead < data_.size() ? data_[pos_ + ahead] : 0;
  }

 private:
  bool Need(std::size_t n) {
    if (failed_ || n > data_.size() - pos_) return Fail();
    return true;
  }
  bool Fail() {
    failed_ = true;
    return false;
  }

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace flightwall
