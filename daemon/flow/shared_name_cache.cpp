#include "flow/shared_name_cache.h"

#include <algorithm>

namespace flightwall {

SharedNameCache::SharedNameCache(std::size_t capacity) {
  const std::size_t each = std::max<std::size_t>(1, (capacity + kShards - 1) / kShards);
  for (auto& s : shards_) s = std::make_unique<Shard>(each);
}

SharedNameCache::Shard& SharedNameCache::ShardOf(const IpAddress& address) const {
  // The table inside hashes the low bits; take the shard from higher ones.
  return *shards_[(address.Hash() >> 8) % kShards];
}

void SharedNameCache::Bind(const IpAddress& address, const NameBinding& binding) {
  Shard& s = ShardOf(address);
  std::lock_guard<std::mutex> lock(s.mutex);
  s.cache.Bind(address, binding);
  generation_.fetch_add(1, std::memory_order_relaxed);
}

std::size_t SharedNameCache::Copy(const IpAddress& address, std::span<NameBinding> out) const {
  Shard& s = ShardOf(address);
  std::lock_guard<std::mutex> lock(s.mutex);
  const std::span<const NameBinding> found = s.cache.Lookup(address);
  const std::size_t n = std::min(found.size(), out.size());
  std::copy_n(found.begin(), n, out.begin());
  return n;
}

std::size_t SharedNameCache::Addresses() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mutex);
    n += s->cache.Addresses();
  }
  return n;
}

std::uint64_t SharedNameCache::AddressEvictions() const {
  std::uint64_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mutex);
    n += s->cache.Stats().address_evictions;
  }
  return n;
}

}  // namespace flightwall
