// QUIC Initial packet protection (RFC 9001 section 5, RFC 9369 section 3.3):
// the version table (salt, HKDF labels, Initial type bits), client Initial
// key derivation and the two AES primitives needed to read a client Initial.
//
// QuicInitialCrypto owns the libcrypto contexts (HKDF, AES-128-ECB for header
// protection, AES-128-GCM for the payload). They are created once in the
// constructor and reused for every packet; keys are loaded into them only when
// they change (LoadKeys), so per-packet work allocates nothing. One object per
// parser; not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/quic_initial.h"

struct evp_kdf_ctx_st;
struct evp_cipher_ctx_st;

namespace flightwall {

inline constexpr std::size_t kQuicMaxCidLength = 20;
inline constexpr std::size_t kQuicAeadTagLength = 16;
inline constexpr std::size_t kQuicHpSampleLength = 16;

struct QuicPacketKeys {
  std::array<std::uint8_t, 16> key{};
  std::array<std::uint8_t, 12> iv{};
  std::array<std::uint8_t, 16> hp{};
};

// The salt family of a wire version (see QuicVersionKind); kUnknown for
// versions we cannot decrypt (including 0 = version negotiation and greased
// 0x?a?a?a?a versions).
QuicVersionKind QuicVersionKindOf(std::uint32_t wire_version);

// The two long-header type bits (byte 0, bits 4-5) of an Initial packet:
// 0b00 in v1, the drafts and mvfst, 0b01 in v2 (RFC 9369 section 3.2).
std::uint8_t QuicInitialTypeBits(QuicVersionKind version);

// Long-header packet kinds, independent of the version's bit encoding.
enum class QuicLongType : std::uint8_t { kInitial, kZeroRtt, kHandshake, kRetry };
QuicLongType QuicLongTypeOf(QuicVersionKind version, std::uint8_t first_byte);

class QuicInitialCrypto {
 public:
  static constexpr std::size_t kSecretLength = 32;  // SHA-256
  using Secret = std::array<std::uint8_t, kSecretLength>;

  QuicInitialCrypto();
  ~QuicInitialCrypto();
  QuicInitialCrypto(const QuicInitialCrypto&) = delete;
  QuicInitialCrypto& operator=(const QuicInitialCrypto&) = delete;

  // False if libcrypto could not create a context (out of memory or the
  // default provider is missing); every other call then fails.
  bool Ok() const;

  // client_initial_secret = HKDF-Expand-Label(HKDF-Extract(salt, dcid),
  //                                           "client in", "", 32).
  bool DeriveClientInitialSecret(QuicVersionKind version, std::span<const std::uint8_t> dcid,
                                 Secret* secret);
  // key/iv/hp from a traffic secret with the version's labels.
  bool DeriveKeys(QuicVersionKind version, const Secret& secret, QuicPacketKeys* keys);
  // Both steps above.
  bool DeriveClientInitialKeys(QuicVersionKind version, std::span<const std::uint8_t> dcid,
                               QuicPacketKeys* keys);
  // TLS 1.3 HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context.
  bool HkdfExpandLabel(std::span<const std::uint8_t> secret, std::string_view label,
                       std::span<std::uint8_t> out);

  // Loads hp and key into the AES contexts; Mask/Open use the last keys loaded.
  bool LoadKeys(const QuicPacketKeys& keys);
  // mask = AES-128-ECB(hp, sample); the first 5 bytes are used.
  bool HeaderProtectionMask(std::span<const std::uint8_t, kQuicHpSampleLength> sample,
                            std::array<std::uint8_t, 5>* mask);
  // AES-128-GCM open with nonce = iv XOR packet_number. The associated data
  // is the concatenation of aad_parts (the unprotected header, passed in
  // pieces so the caller need not copy it). sealed = ciphertext || 16-byte
  // tag; plaintext must hold sealed.size() - 16 bytes. False when the tag
  // does not verify (plaintext contents are then unspecified).
  bool Open(std::uint64_t packet_number, std::span<const std::span<const std::uint8_t>> aad_parts,
            std::span<const std::uint8_t> sealed, std::span<std::uint8_t> plaintext);

 private:
  bool HkdfExtract(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                   Secret* prk);

  evp_kdf_ctx_st* kdf_ = nullptr;
  evp_cipher_ctx_st* hp_ctx_ = nullptr;
  evp_cipher_ctx_st* aead_ctx_ = nullptr;
  std::array<std::uint8_t, 12> iv_{};
  bool keys_loaded_ = false;
};

}  // namespace flightwall
