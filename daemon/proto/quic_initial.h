// QUIC Initial packets (RFC 9000/9001, v2 RFC 9369, drafts 22-34, Facebook
// mvfst): find the client's ClientHello and its SNI.
//
// QuicInitialParser::Feed takes one client->server UDP payload (possibly
// several coalesced QUIC packets). For each long-header Initial it derives the
// client Initial keys from the Destination Connection ID of the flow's first
// Initial (libcrypto HKDF-SHA256 + AES-128-GCM, header protection with
// AES-128-ECB), decrypts, and collects CRYPTO frame data (any order, over
// several packets) into a bounded buffer. Once the ClientHello is contiguous
// from offset 0, Result() holds it. One parser per flow; not thread-safe.
// Memory is bounded and allocated once, in the constructor: the libcrypto
// contexts and a kMaxCryptoBytes CRYPTO buffer with a bit per byte received,
// left uninitialised so that pages no flow has written to need not be
// resident (see CryptoReassembler).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "proto/parse_status.h"
#include "proto/tls_client_hello.h"

namespace flightwall {

// Versions grouped by the Initial salt they use (labels and type bits are
// v1's for all but kV2). QuicVersionKindOf (quic_keys.h) lists the members:
//   kV1      1, draft-33/34, mvfst 0xfaceb003
//   kV2      0x6b3343cf
//   kDraft29 drafts 29-32
//   kDraft28 drafts 23-28, mvfst 0xfaceb002 and 0xfaceb00e (draft-23 salt)
//   kDraft22 draft-22, mvfst 0xfaceb001
// QuicInitialParser::WireVersion() tells members of one kind apart.
enum class QuicVersionKind : std::uint8_t { kUnknown, kV1, kV2, kDraft29, kDraft28, kDraft22 };

// What the first packet of a UDP payload is, as far as its cleartext header
// tells (QuicInitialParser::ClassifyDatagram).
enum class QuicLongHeaderKind : std::uint8_t {
  // Short header, empty, or bytes that do not parse as a long header.
  kNotQuicLongHeader,
  // An Initial of a version we decrypt whose lengths fit the payload (what
  // LooksLikeInitial says).
  kSupportedInitial,
  // A long header of a version we decrypt that is not an Initial (0-RTT or
  // Handshake whose Length fits the payload, or a Retry).
  kSupportedOther,
  // A long header of a version we cannot decrypt (greased 0x?a?a?a?a,
  // version 0 = negotiation, gQUIC Q050/T051, a future version) that has the
  // shape of one: RFC 8999's invariants (both connection IDs present), with
  // the fixed bit set and connection IDs of at most 20 bytes as every version
  // so far has them. A shape, not proof: about one random payload in 150
  // whose first byte has its top two bits set matches.
  kUnknownVersion,
};

struct QuicInitialStats {
  std::uint32_t packets_seen = 0;  // long-header packets of a supported version
  std::uint32_t initials_decrypted = 0;
  std::uint32_t decrypt_failures = 0;      // header/AEAD check failed: packet ignored
  std::uint32_t crypto_bytes_dropped = 0;  // CRYPTO data at or past kMaxCryptoBytes
  // CRYPTO data that contradicted bytes already received (Feed: kMalformed).
  std::uint32_t crypto_conflicts = 0;
};

class QuicInitialParser {
 public:
  // A 64 KiB ClientHello body plus the 4-byte handshake header.
  static constexpr std::size_t kMaxCryptoBytes = 65536 + 4;

  QuicInitialParser();
  ~QuicInitialParser();
  QuicInitialParser(const QuicInitialParser&) = delete;
  QuicInitialParser& operator=(const QuicInitialParser&) = delete;

  // Stateless look at the first packet of a UDP payload; see
  // QuicLongHeaderKind. Never reads past the payload, allocates nothing.
  static QuicLongHeaderKind ClassifyDatagram(std::span<const std::uint8_t> udp_payload);

  // ClassifyDatagram(udp_payload) == kSupportedInitial.
  static bool LooksLikeInitial(std::span<const std::uint8_t> udp_payload);

  // kOk once the ClientHello is complete (further calls keep returning kOk).
  // kNeedMore while CRYPTO data is missing. kNotMine while the flow has not
  // yet shown a client Initial of a supported version (short header, unknown
  // version, garbage); once it has, datagrams without one give kNeedMore.
  // A datagram whose first packet has a well-formed long header of a version
  // we cannot decrypt still gives kNotMine, but sets SawUnknownVersion().
  // A packet that fails header or AEAD authentication is counted in
  // Stats().decrypt_failures and ignored (kNeedMore): forged or corrupted
  // datagrams must not stop us from reading the genuine ClientHello.
  // kTooLarge (sticky) if the ClientHello's handshake length exceeds
  // kMaxCryptoBytes - 4. kMalformed (sticky) if an authenticated packet holds
  // invalid frames, resends CRYPTO bytes with different content
  // (Stats().crypto_conflicts: servers keep the first copy, so whichever copy
  // we read could name another host than the one served), or the reassembled
  // ClientHello is invalid; Result() keeps what was read before the problem.
  // An Initial that only decrypts with keys from its own, new DCID (after a
  // Retry, or a new connection on the same 5-tuple) starts the CRYPTO stream
  // afresh, as the server does. CRYPTO frames may come in any order,
  // size and overlap: how finely a client splits its ClientHello cannot make
  // the parser drop part of it. What Feed cannot bound is how many datagrams
  // a client takes to send it (or whether it ever does): the caller limits
  // the datagrams it feeds a flow and treats running out as "no SNI read".
  ParseStatus Feed(std::span<const std::uint8_t> udp_payload);
  const ClientHelloInfo& Result() const { return hello_; }
  // Kind of the first supported client Initial; kUnknown until one is seen.
  QuicVersionKind Version() const { return version_; }
  // Wire version of that Initial or, before one is seen, of the first
  // well-formed long header of an unknown version; 0 if neither was seen.
  std::uint32_t WireVersion() const { return wire_version_; }
  // A datagram fed since the last Reset() started with a well-formed long
  // header of a version we cannot decrypt (kUnknownVersion).
  bool SawUnknownVersion() const { return saw_unknown_version_; }
  const QuicInitialStats& Stats() const { return stats_; }
  void Reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // keys, crypto buffer and EVP contexts
  ClientHelloInfo hello_;
  QuicVersionKind version_ = QuicVersionKind::kUnknown;
  std::uint32_t wire_version_ = 0;
  bool saw_unknown_version_ = false;
  QuicInitialStats stats_;
  ParseStatus terminal_ = ParseStatus::kNeedMore;  // kOk/kMalformed/kTooLarge once final
};

}  // namespace flightwall
