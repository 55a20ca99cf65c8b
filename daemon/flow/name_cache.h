// NameCache: address -> names that DNS answers gave it (name attribution).
//
// Bounded: at most `capacity` addresses (LRU eviction, counted) and
// kNamesPerAddress names per address (the oldest binding is replaced).
// Preallocated, so Bind/Lookup never allocate. Expiry is judged by the
// caller (policy decides how long an answer attests), so stale bindings stay
// until replaced and can still name a destination in a report.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/bounded_table.h"
#include "common/ip_address.h"
#include "common/name_binding.h"

namespace flightwall {

struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const { return a.Hash(); }
};

struct NameCacheStats {
  std::uint64_t bindings = 0;
  std::uint64_t address_evictions = 0;
  std::uint64_t name_replacements = 0;
};

class NameCache {
 public:
  static constexpr std::size_t kNamesPerAddress = 6;

  explicit NameCache(std::size_t capacity);

  // Records a binding; a repeated (address, name) refreshes it.
  void Bind(const IpAddress& address, const NameBinding& binding);
  // Every binding known for address (fresh or not), newest first.
  std::span<const NameBinding> Lookup(const IpAddress& address) const;
  std::size_t Addresses() const { return table_.Size(); }
  const NameCacheStats& Stats() const { return stats_; }
  // Calls fn(address, binding) for every binding (newest first per address).
  template <typename Fn>
  void ForEach(Fn&& fn) {
    table_.ForEach([&fn](const IpAddress& address, const Entry& e) {
      for (std::size_t i = 0; i < e.count; ++i) fn(address, e.names[i]);
    });
  }

 private:
  struct Entry {
    std::array<NameBinding, kNamesPerAddress> names{};
    std::size_t count = 0;
  };
  BoundedTable<IpAddress, Entry, IpAddressHash> table_;
  NameCacheStats stats_;
};

}  // namespace flightwall
