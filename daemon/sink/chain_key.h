// ChainKey: the secret of an HMAC-keyed event chain (event_log.h), read from
// the file that `events.hmac_key_file` (the daemon) or `verify-log
// --key-file` names. The key is the file's bytes exactly, 32 to 4096 of them
// (a trailing newline is part of the key: the daemon and the verifier read
// the same file, so they agree).
//
// Who may read the key decides what a keyed chain proves: whoever can write
// or copy the log but cannot read the key cannot forge or rewrite lines.
// ReadChainKey therefore refuses, for the daemon, a key file that every user
// may read or write.
//
// A ChainKey owns its bytes and wipes them when destroyed; it is moved, not
// copied. Not thread-safe (read it once, hand its Bytes() to the hashers).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace flightwall {

constexpr std::size_t kMinChainKeyBytes = 32;
constexpr std::size_t kMaxChainKeyBytes = 4096;

class ChainKey {
 public:
  ChainKey() = default;
  explicit ChainKey(std::span<const std::uint8_t> bytes);
  ~ChainKey();
  ChainKey(ChainKey&& other) noexcept;
  ChainKey& operator=(ChainKey&& other) noexcept;
  ChainKey(const ChainKey&) = delete;
  ChainKey& operator=(const ChainKey&) = delete;

  bool Empty() const { return bytes_.empty(); }
  std::span<const std::uint8_t> Bytes() const { return bytes_; }

 private:
  void Wipe();
  std::vector<std::uint8_t> bytes_;
};

// Whether the key file's permissions are checked: the daemon requires that
// no other user may read or write it; verify-log only needs to read it.
enum class KeyFileCheck : std::uint8_t { kPrivate, kReadable };

// Reads the key at `path` into *key; *key is left as it was on an error,
// whose message names the file and what to do (for the config loader and
// verify-log).
Status ReadChainKey(const std::string& path, KeyFileCheck check, ChainKey* key);

}  // namespace flightwall
