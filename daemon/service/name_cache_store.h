// NameCacheStore: keeps the daemon's DNS name cache across a restart, in
// dns.state_file (default /var/lib/flightwall/names.bin; see
// service/name_cache_file.h for the format).
//
// Why: a tablet caches DNS answers for their TTL. After a restart (or a
// reboot of the box) it connects to addresses the new daemon never saw
// attested, and those connections were refused until the app resolved the
// name again. The store saves what was attested and restores it at start.
//
// Only attestations come back, never more: Save() keeps bindings that were
// answered by an allowed resolver and still attest; Restore() judges every
// entry again under the running policy (its resolver still allowed, TTL +
// grace not yet past, not answered in the future beyond kClockSkew) and
// binds only those. A file that is corrupt, truncated, oversized or not ours
// is ignored whole with a warning: names are then learned again from DNS,
// exactly as without the file.
//
// Restore() runs before the workers start; Save() from the main loop. Save
// walks the shared cache one shard lock at a time and does its I/O with no
// lock held. Not thread-safe: one thread (the daemon's main thread) uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "flow/shared_name_cache.h"
#include "policy/policy.h"
#include "service/name_cache_file.h"

namespace flightwall {

struct NameRestoreCounts {
  std::uint64_t restored = 0;
  std::uint64_t expired = 0;    // TTL + grace past
  std::uint64_t untrusted = 0;  // no allowed resolver (any more) vouches for it
  std::uint64_t future = 0;     // answered after now: the clock went back
  bool file_ignored = false;    // the whole file was rejected
};

// Binds each entry that still attests under `policy` at `now` (oldest
// first, so the newest binding of an address stays in front).
NameRestoreCounts RestoreNames(const Policy& policy, std::span<const StoredName> names,
                               Timestamp now, SharedNameCache* cache);
// Replaces *out with the cache's bindings that attest under `policy` at
// `now`, at most `max_names`. *out keeps its capacity from call to call, so
// once warmed up no shard lock is held across an allocation.
void SnapshotNames(const Policy& policy, const SharedNameCache& cache, Timestamp now,
                   std::size_t max_names, std::vector<StoredName>* out);

class NameCacheStore {
 public:
  // How far in the future an answer may lie (clock steps, NTP).
  static constexpr Timestamp kClockSkew = 2 * kMicrosPerSecond;
  // Saves at most this often while the cache changes (and at stop).
  static constexpr Timestamp kSaveInterval = 2 * kMicrosPerSecond;

  // `path` "" disables the store; `max_names` bounds the file (the cache
  // holds at most that many bindings).
  NameCacheStore(std::string path, std::size_t max_names);

  bool Enabled() const { return !path_.empty(); }
  const std::string& Path() const { return path_; }

  // Reads the file and restores what still attests. *log gets one line for
  // the operator ("restored N names from F ..." or why the file was
  // ignored).
  NameRestoreCounts Restore(const Policy& policy, SharedNameCache* cache, Timestamp now,
                            std::string* log);
  // Writes the file when the cache changed since the last write and
  // kSaveInterval has passed on `monotonic_now` (always, when `force`).
  // Returns false and sets *log when writing failed (the previous file
  // stays); a failure is reported once until a write succeeds again.
  bool Save(const Policy& policy, const SharedNameCache& cache, Timestamp now,
            Timestamp monotonic_now, bool force, std::string* log);

 private:
  std::string path_;
  std::size_t max_names_;
  std::uint64_t saved_generation_ = 0;
  bool saved_once_ = false;
  Timestamp last_save_ = 0;
  bool failing_ = false;
  std::vector<StoredName> scratch_;
};

}  // namespace flightwall
