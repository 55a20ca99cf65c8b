// The name cache file (dns.state_file): DNS bindings kept across a restart
// of the daemon, as bytes. This file only encodes, decodes and replaces the
// file; what goes in and what may come back out is decided by
// NameCacheStore (service/name_cache_store.h) against the policy.
//
// Format, version 1, all integers big-endian:
//   header  "FLWNAMES" | u32 version | u32 count | u64 written_at (us,
//           realtime) | u64 payload bytes | 64 hex digits: SHA-256 of the
//           header's first 32 bytes and the payload
//   record  u8 family (4|6) | 16 address bytes | u8 resolver family
//           (0|4|6) | 16 resolver bytes | u64 answered_at (us) | u32 ttl |
//           u8 flags (1 = trusted, 2 = confirmed) | u8 name length |
//           name bytes
// The decoder trusts nothing: a wrong magic or version, a size that does
// not add up, more records than the caller allows, a truncated record or a
// checksum mismatch rejects the whole file with a reason. The checksum
// catches corruption (a torn disk, a flipped byte), not a forger: the file
// lives in a directory only the daemon's user can write.
// Functions only; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/name_binding.h"
#include "common/status.h"

namespace flightwall {

// One binding of the cache: address -> binding (its packet number is not
// kept: it numbered a packet of an earlier run).
struct StoredName {
  IpAddress address;
  NameBinding binding;
};

inline constexpr std::uint32_t kNameCacheFileVersion = 1;
inline constexpr std::size_t kNameCacheHeaderBytes = 8 + 4 + 4 + 8 + 8 + 64;
inline constexpr std::size_t kNameCacheMaxRecordBytes = 1 + 16 + 1 + 16 + 8 + 4 + 1 + 1 + 255;

// The largest file that `max_names` records can make; a bigger file is not
// read at all.
std::uint64_t NameCacheFileBound(std::size_t max_names);

std::string EncodeNameCacheFile(std::span<const StoredName> names, std::int64_t written_at);

struct NameCacheFileContents {
  bool ok = false;
  std::string error;  // why the file was rejected (when !ok)
  std::int64_t written_at = 0;
  std::vector<StoredName> names;
};
NameCacheFileContents DecodeNameCacheFile(std::span<const std::uint8_t> bytes,
                                          std::size_t max_names);

// Reads and decodes `path`; a missing file is ok with no names (first start).
NameCacheFileContents ReadNameCacheFile(const std::string& path, std::size_t max_names);

// Atomic replace: writes `bytes` to a temporary file beside `path` (mode
// 0600), fsyncs it, renames it over `path` and fsyncs the directory. On
// failure the previous file is left as it was, the temporary file is
// removed and the Status says what failed.
Status ReplaceFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace flightwall
