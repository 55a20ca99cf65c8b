// SharedNameCache: the DNS name cache shared by every worker of the daemon
// (and owned alone by an audit's engine).
//
// A DNS answer and the connection it attests may be queued to different
// workers, so each worker binds what it sees here and reads what others
// bound. The cache is split into shards by address, each a NameCache behind
// its own mutex: writers are rare (one per DNS answer) and readers copy at
// most NameCache::kNamesPerAddress bindings once per decision, so a lock is
// held for a few hundred nanoseconds and two workers contend only for the
// same shard. Sharded locks were chosen over an RCU-style snapshot (which
// would copy or reclaim a table per answer) and over a seqlock (whose
// readers would retry a multi-kilobyte copy while a writer runs). A binding
// made by Bind() is visible to every Copy() that starts after Bind()
// returned: the worker that reads an answer binds it before it issues the
// verdict that releases the answer to the app, so no connection can race
// ahead of its attestation. Thread-safe; never allocates after construction.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "flow/name_cache.h"

namespace flightwall {

class SharedNameCache {
 public:
  static constexpr std::size_t kShards = 16;

  // `capacity` addresses in all (at least one per shard).
  explicit SharedNameCache(std::size_t capacity);

  void Bind(const IpAddress& address, const NameBinding& binding);
  // Copies the bindings of `address`, newest first, into `out`; returns how
  // many (at most out.size() and NameCache::kNamesPerAddress).
  std::size_t Copy(const IpAddress& address, std::span<NameBinding> out) const;
  std::size_t Addresses() const;
  // Addresses dropped (LRU) because their shard was full, over all shards.
  std::uint64_t AddressEvictions() const;

  // Bumped by every Bind(): whoever saves the cache (service/
  // name_cache_store.h) writes only when it changed.
  std::uint64_t Generation() const { return generation_.load(std::memory_order_relaxed); }
  // Calls fn(address, binding) for every binding, shard by shard, holding
  // one shard's lock at a time (a worker waits at most for one shard's
  // walk). fn must be quick and must not call back into the cache.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& s : shards_) {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->cache.ForEach(fn);
    }
  }

 private:
  struct Shard {
    explicit Shard(std::size_t capacity) : cache(capacity) {}
    mutable std::mutex mutex;
    NameCache cache;
  };
  Shard& ShardOf(const IpAddress& address) const;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace flightwall
