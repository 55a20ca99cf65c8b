#include "sink/recent_denials.h"

#include <utility>

namespace flightwall {

void RecentDenials::Add(Denial denial) {
  std::lock_guard<std::mutex> lock(mutex_);
  ring_[added_ % kCapacity] = std::move(denial);
  ++added_;
}

std::vector<Denial> RecentDenials::Snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::uint64_t n = added_ < kCapacity ? added_ : kCapacity;
  std::vector<Denial> out;
  out.reserve(n);
  for (std::uint64_t i = added_ - n; i < added_; ++i) out.push_back(ring_[i % kCapacity]);
  return out;
}

std::uint64_t RecentDenials::Total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return added_;
}

}  // namespace flightwall
