#include "flow/name_cache.h"

#include <algorithm>

namespace flightwall {

NameCache::NameCache(std::size_t capacity) : table_(capacity) {}

void NameCache::Bind(const IpAddress& address, const NameBinding& binding) {
  auto r = table_.FindOrInsert(address);
  if (r.evicted) ++stats_.address_evictions;
  Entry& e = *r.value;
  ++stats_.bindings;
  // Keep newest first: drop an existing binding of the same name, or the
  // oldest one when full, then shift and put the new binding in front.
  std::size_t drop = e.count;
  for (std::size_t i = 0; i < e.count; ++i) {
    if (e.names[i].name == binding.name) {
      drop = i;
      break;
    }
  }
  if (drop == e.count) {
    if (e.count == kNamesPerAddress) {
      drop = e.count - 1;
      ++stats_.name_replacements;
    } else {
      ++e.count;
    }
  }
  for (std::size_t i = drop; i > 0; --i) e.names[i] = e.names[i - 1];
  e.names[0] = binding;
}

std::span<const NameBinding> NameCache::Lookup(const IpAddress& address) const {
  const Entry* e = table_.Peek(address);
  if (!e) return {};
  return std::span<const NameBinding>(e->names.data(), e->count);
}

}  // namespace flightwall
