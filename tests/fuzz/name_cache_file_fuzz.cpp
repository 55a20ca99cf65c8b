// Fuzzes the name cache file decoder (dns.state_file): a file the daemon
// reads at start, which a torn disk or a stray write can corrupt. Any bytes
// must decode without crashing, never to more names than allowed; whatever
// decodes must encode again to a file that decodes to the same names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "service/name_cache_file.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Same(const flightwall::StoredName& a, const flightwall::StoredName& b) {
  return a.address == b.address && a.binding.name.View() == b.binding.name.View() &&
         a.binding.answered_at == b.binding.answered_at && a.binding.ttl == b.binding.ttl &&
         a.binding.trusted == b.binding.trusted && a.binding.confirmed == b.binding.confirmed &&
         a.binding.resolver == b.binding.resolver;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxNames = 64;
  const auto first = flightwall::DecodeNameCacheFile(std::span(data, size), kMaxNames);
  if (!first.ok) {
    Check(!first.error.empty());
    Check(first.names.empty());
    return 0;
  }
  Check(first.names.size() <= kMaxNames);
  Check(size <= flightwall::NameCacheFileBound(kMaxNames));
  const std::string again = flightwall::EncodeNameCacheFile(first.names, first.written_at);
  const auto second = flightwall::DecodeNameCacheFile(
      std::span(reinterpret_cast<const std::uint8_t*>(again.data()), again.size()), kMaxNames);
  Check(second.ok);
  Check(second.written_at == first.written_at);
  Check(second.names.size() == first.names.size());
  for (std::size_t i = 0; i < first.names.size(); ++i) Check(Same(first.names[i], second.names[i]));
  return 0;
}
