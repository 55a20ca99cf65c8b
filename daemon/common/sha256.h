// SHA-256 and HMAC-SHA256 (libcrypto) as lower-case hex: evidence hashes of
// capture files, policy files, and the event log's hash chain (keyed or not).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace flightwall {

std::string Sha256Hex(std::span<const std::uint8_t> bytes);
std::string Sha256Hex(std::string_view text);

// Incremental hashing for files read in chunks. Not thread-safe.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::span<const std::uint8_t> bytes);
  std::string FinalHex();  // the hasher is reset afterwards

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Incremental HMAC-SHA256 under one key, reused for many messages (the
// keyed event chain hashes every line with it). The key is copied into
// libcrypto's context, which wipes it when freed; the caller's copy may go.
// Not thread-safe.
class HmacSha256Hasher {
 public:
  explicit HmacSha256Hasher(std::span<const std::uint8_t> key);
  ~HmacSha256Hasher();
  HmacSha256Hasher(const HmacSha256Hasher&) = delete;
  HmacSha256Hasher& operator=(const HmacSha256Hasher&) = delete;
  void Update(std::string_view bytes);
  std::string FinalHex();  // ready for the next message under the same key afterwards

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace flightwall
