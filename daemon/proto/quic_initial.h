// QUIC Initial packets (RFC 9000/9001, v2 RFC 9369, drafts 27-29): find the
// client's ClientHello and its SNI.
//
// QuicInitialParser::Feed takes one client->server UDP payload (possibly
// several coalesced QUIC packets). For each long-header Initial it derives the
// client Initial keys from the Destination Connection ID of the flow's first
// Initial (libcrypto HKDF-SHA256 + AES-128-GCM, header protection with
// AES-128-ECB), decrypts, and collects CRYPTO frame data (any order, over
// several packets) into a bounded buffer. Once the ClientHello is contiguous
// from offset 0, Result() holds it. One parser per flow; state is inline and
// bounded (kMaxCryptoBytes); only the libcrypto contexts are allocated, once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "proto/parse_status.h"
#include "proto/tls_client_hello.h"

namespace flightwall {

// kDraft28 covers drafts 27 and 28 (0xff00001b/0xff00001c), which share the
// Initial salt of drafts 23-28; kDraft29 is 0xff00001d only.
enum class QuicVersionKind : std::uint8_t { kUnknown, kV1, kV2, kDraft29, kDraft28 };

struct QuicInitialStats {
  std::uint32_t packets_seen = 0;  // long-header packets of a supported version
  std::uint32_t initials_decrypted = 0;
  std::uint32_t decrypt_failures = 0;      // header/AEAD check failed: packet ignored
  std::uint32_t crypto_bytes_dropped = 0;  // CRYPTO data past kMaxCryptoBytes or range table full
};

class QuicInitialParser {
 public:
  static constexpr std::size_t kMaxCryptoBytes = 8192;

  QuicInitialParser();
  ~QuicInitialParser();
  QuicInitialParser(const QuicInitialParser&) = delete;
  QuicInitialParser& operator=(const QuicInitialParser&) = delete;

  // Quick check without state: does this UDP payload start with a QUIC long
  // header Initial of a supported version whose Length fits the payload?
  static bool LooksLikeInitial(std::span<const std::uint8_t> udp_payload);

  // kOk once the ClientHello is complete (further calls keep returning kOk).
  // kNeedMore while CRYPTO data is missing. kNotMine while the flow has not
  // yet shown a client Initial of a supported version (short header, unknown
  // version, garbage); once it has, datagrams without one give kNeedMore.
  // A packet that fails header or AEAD authentication is counted in
  // Stats().decrypt_failures and ignored (kNeedMore): forged or corrupted
  // datagrams must not stop us from reading the genuine ClientHello.
  // kMalformed (sticky) if an authenticated packet holds invalid frames, or
  // the reassembled ClientHello is invalid or larger than kMaxCryptoBytes;
  // Result() keeps what was read before the problem.
  ParseStatus Feed(std::span<const std::uint8_t> udp_payload);
  const ClientHelloInfo& Result() const { return hello_; }
  QuicVersionKind Version() const { return version_; }
  const QuicInitialStats& Stats() const { return stats_; }
  void Reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // keys, crypto buffer and EVP contexts
  ClientHelloInfo hello_;
  QuicVersionKind version_ = QuicVersionKind::kUnknown;
  QuicInitialStats stats_;
  bool done_ = false;
};

}  // namespace flightwall
