// Preallocated pools for per-flow inspection state that only a few flows
// need at once (stream buffers for TLS/HTTP, QUIC Initial parsers, DNS-over-
// TCP reassemblers). Flows hold slot indices; exhaustion is reported to the
// caller, which counts it and skips inspection: memory never grows.
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
      : bytes_each_(bytes_each), storage_(count * bytes_each), sizes_(count, 0) {
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

  std::span<const std::uint8_t> Data(std::uint32_t s) const {
    return {storage_.data() + s * bytes_each_, sizes_[s]};
  }
  bool Full(std::uint32_t s) const { return sizes_[s] == bytes_each_; }
  // Appends what fits; returns false when some bytes did not fit.
  bool Append(std::uint32_t s, std::span<const std::uint8_t> bytes) {
    const std::size_t room = bytes_each_ - sizes_[s];
    const std::size_t n = bytes.size() < room ? bytes.size() : room;
    if (n > 0) std::memcpy(storage_.data() + s * bytes_each_ + sizes_[s], bytes.data(), n);
    sizes_[s] += n;
    return n == bytes.size();
  }
  // Drops the first n bytes (a parsed HTTP request head).
  void Consume(std::uint32_t s, std::size_t n) {
    std::uint8_t* base = storage_.data() + s * bytes_each_;
    if (n >= sizes_[s]) {
      sizes_[s] = 0;
      return;
    }
    std::memmove(base, base + n, sizes_[s] - n);
    sizes_[s] -= n;
  }

 private:
  std::size_t bytes_each_;
  std::vector<std::uint8_t> storage_;
  std::vector<std::size_t> sizes_;
  std::vector<std::uint32_t> free_;
};

template <typename T>
class ObjectPool {
 public:
  static constexpr std::uint32_t kNoSlot = 0xffffffffu;

  explicit ObjectPool(std::size_t count) {
    objects_.reserve(count);
    free_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) objects_.push_back(std::make_unique<T>());
    for (std::size_t i = count; i > 0; --i) free_.push_back(static_cast<std::uint32_t>(i - 1));
  }
  std::uint32_t Acquire() {
    if (free_.empty()) return kNoSlot;
    const std::uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  void Release(std::uint32_t s) { free_.push_back(s); }
  T& Get(std::uint32_t s) { return *objects_[s]; }

 private:
  std::vector<std::unique_ptr<T>> objects_;
  std::vector<std::uint32_t> free_;
};

}  // namespace flightwall
