#include "service/name_cache_store.h"

#include <algorithm>

#include "policy/decide.h"
#include "policy/dns_rules.h"

namespace flightwall {
namespace {

// Vouched for by a resolver the policy (still) allows.
bool Trusted(const Policy& policy, const NameBinding& b) {
  return b.trusted && b.resolver.IsSet() && IsAllowedResolver(policy, b.resolver);
}

}  // namespace

NameRestoreCounts RestoreNames(const Policy& policy, std::span<const StoredName> names,
                               Timestamp now, SharedNameCache* cache) {
  NameRestoreCounts counts;
  std::vector<const StoredName*> keep;
  keep.reserve(names.size());
  for (const StoredName& n : names) {
    if (!Trusted(policy, n.binding)) {
      ++counts.untrusted;
    } else if (n.binding.answered_at > now + NameCacheStore::kClockSkew) {
      ++counts.future;
    } else if (n.binding.answered_at <= now && !BindingAttests(policy, n.binding, now)) {
      ++counts.expired;
    } else {
      keep.push_back(&n);
    }
  }
  std::stable_sort(keep.begin(), keep.end(), [](const StoredName* a, const StoredName* b) {
    return a->binding.answered_at < b->binding.answered_at;
  });
  for (const StoredName* n : keep) {
    NameBinding b = n->binding;
    b.packet = 0;  // numbered a packet of an earlier run
    cache->Bind(n->address, b);
    ++counts.restored;
  }
  return counts;
}

void SnapshotNames(const Policy& policy, const SharedNameCache& cache, Timestamp now,
                   std::size_t max_names, std::vector<StoredName>* out) {
  out->clear();
  cache.ForEach([&](const IpAddress& address, const NameBinding& b) {
    if (out->size() >= max_names) return;
    if (!Trusted(policy, b) || !BindingAttests(policy, b, now)) return;
    out->push_back({address, b});
  });
}

NameCacheStore::NameCacheStore(std::string path, std::size_t max_names)
    : path_(std::move(path)), max_names_(max_names) {}

NameRestoreCounts NameCacheStore::Restore(const Policy& policy, SharedNameCache* cache,
                                          Timestamp now, std::string* log) {
  NameRestoreCounts counts;
  log->clear();
  if (!Enabled()) return counts;
  const NameCacheFileContents file = ReadNameCacheFile(path_, max_names_);
  if (!file.ok) {
    counts.file_ignored = true;
    *log = "warning: ignoring name cache " + path_ + ": " + file.error +
           "; names will be learned again from DNS (the file is replaced at the next save)";
  } else {
    counts = RestoreNames(policy, file.names, now, cache);
    *log = "restored " + std::to_string(counts.restored) + " names from " + path_ + " (" +
           std::to_string(counts.expired) + " expired, " + std::to_string(counts.untrusted) +
           " without an allowed resolver, " + std::to_string(counts.future) +
           " answered in the future)";
  }
  // What was just restored is on disk already.
  saved_generation_ = cache->Generation();
  saved_once_ = !counts.file_ignored;
  return counts;
}

bool NameCacheStore::Save(const Policy& policy, const SharedNameCache& cache, Timestamp now,
                          Timestamp monotonic_now, bool force, std::string* log) {
  log->clear();
  if (!Enabled()) return true;
  const std::uint64_t generation = cache.Generation();
  if (saved_once_ && generation == saved_generation_) return true;
  if (!force && saved_once_ && monotonic_now - last_save_ < kSaveInterval) return true;
  SnapshotNames(policy, cache, now, max_names_, &scratch_);
  const std::string bytes = EncodeNameCacheFile(scratch_, now);
  last_save_ = monotonic_now;
  if (const Status saved = ReplaceFileAtomically(path_, bytes); !saved.ok()) {
    if (!failing_) {
      *log = "warning: cannot save the name cache to " + path_ + ": " + saved.ToString() +
             "; names stay in memory only (check that the directory exists and is writable, "
             "e.g. StateDirectory=flightwall)";
    }
    failing_ = true;
    return false;
  }
  if (failing_) *log = "name cache saved to " + path_ + " again";
  failing_ = false;
  saved_generation_ = generation;
  saved_once_ = true;
  return true;
}

}  // namespace flightwall
