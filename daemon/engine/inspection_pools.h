// Preallocated pools for per-flow inspection state that only a few flows
// need at once (stream buffers, in flow/stream_buffer_pool.h; QUIC Initial
// parsers; DNS-over-TCP reassemblers). Flows hold slot indices; exhaustion is
// reported to the caller, which denies the newcomer (never evicts an
// inspection in progress, never allows): memory never grows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "flow/stream_buffer_pool.h"

namespace flightwall {

template <typename T>
class ObjectPool {
 public:
  static constexpr std::uint32_t kNoSlot = 0xffffffffu;

  // Objects are built the first time their slot is taken and kept after,
  // so an idle pool costs a few pointers and a busy one never allocates.
  explicit ObjectPool(std::size_t count) : objects_(count) {
    free_.reserve(count);
    for (std::size_t i = count; i > 0; --i) free_.push_back(static_cast<std::uint32_t>(i - 1));
  }
  std::uint32_t Acquire() {
    if (free_.empty()) return kNoSlot;
    const std::uint32_t s = free_.back();
    free_.pop_back();
    if (!objects_[s]) objects_[s] = std::make_unique<T>();
    return s;
  }
  void Release(std::uint32_t s) { free_.push_back(s); }
  T& Get(std::uint32_t s) { return *objects_[s]; }

 private:
  std::vector<std::unique_ptr<T>> objects_;
  std::vector<std::uint32_t> free_;
};

}  // namespace flightwall
