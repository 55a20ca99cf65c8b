// StreamBufferPool: a fixed number of byte buffers for the client streams
// under inspection (TLS ClientHellos, HTTP request heads, DNS over TCP).
//
// Memory is reserved once and not zero-filled, so the pages of a buffer
// become resident only when bytes are written to them: the bound is
// count * bytes_each, what is used is what the flows under inspection hold.
// Flows hold slot indices; when every slot is taken Acquire() says so and
// the caller denies the newcomer (nothing is evicted). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace flightwall {

class StreamBufferPool {
 public:
  static constexpr std::uint32_t kNoSlot = 0xffffffffu;

  StreamBufferPool(std::size_t count, std::size_t bytes_each)
      : bytes_each_(bytes_each),
        storage_(new std::uint8_t[count * bytes_each]),  // not value-initialised on purpose
        sizes_(count, 0) {
    free_.reserve(count);
    for (std::size_t i = count; i > 0; --i) free_.push_back(static_cast<std::uint32_t>(i - 1));
  }

  std::uint32_t Acquire() {
    if (free_.empty()) return kNoSlot;
    const std::uint32_t s = free_.back();
    free_.pop_back();
    sizes_[s] = 0;
    return s;
  }
  void Release(std::uint32_t s) { free_.push_back(s); }
  std::size_t Capacity() const { return bytes_each_; }
  std::size_t InUse() const { return sizes_.size() - free_.size(); }

  std::span<const std::uint8_t> Data(std::uint32_t s) const {
    return {storage_.get() + s * bytes_each_, sizes_[s]};
  }
  std::size_t Room(std::uint32_t s) const { return bytes_each_ - sizes_[s]; }
  // Appends all of `bytes` or nothing; false when they do not fit.
  bool Append(std::uint32_t s, std::span<const std::uint8_t> bytes) {
    if (bytes.size() > Room(s)) return false;
    if (!bytes.empty())
      std::memcpy(storage_.get() + s * bytes_each_ + sizes_[s], bytes.data(), bytes.size());
    sizes_[s] += bytes.size();
    return true;
  }
  // Drops the first n bytes (acknowledged by the server, or parsed).
  void Consume(std::uint32_t s, std::size_t n) {
    std::uint8_t* base = storage_.get() + s * bytes_each_;
    if (n >= sizes_[s]) {
      sizes_[s] = 0;
      return;
    }
    std::memmove(base, base + n, sizes_[s] - n);
    sizes_[s] -= n;
  }

 private:
  std::size_t bytes_each_;
  std::unique_ptr<std::uint8_t[]> storage_;
  std::vector<std::size_t> sizes_;
  std::vector<std::uint32_t> free_;
};

}  // namespace flightwall
