#include "proto/quic_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <string>

namespace flightwall {
namespace {

struct VersionParams {
  std::array<std::uint8_t, 20> salt;
  std::string_view key_label;
  std::string_view iv_label;
  std::string_view hp_label;
};

// Initial salts. The drafts and mvfst reuse the v1 labels ("quic key",
// "quic iv", "quic hp"); only QUIC v2 changes them.
//
// RFC 9001 section 5.2.
constexpr VersionParams kV1Params = {{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                      0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
                                     "quic key",
                                     "quic iv",
                                     "quic hp"};
// RFC 9369 section 3.3.
constexpr VersionParams kV2Params = {{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                      0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
                                     "quicv2 key",
                                     "quicv2 iv",
                                     "quicv2 hp"};
// draft-ietf-quic-tls-29 section 5.2; Wireshark's packet-quic.c
// (handshake_salt_draft_29) uses it up to draft-32.
constexpr VersionParams kDraft29Params = {
    {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
     0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99},
    "quic key",
    "quic iv",
    "quic hp"};
// draft-ietf-quic-tls-23 to -28 section 5.2; Wireshark's packet-quic.c
// handshake_salt_draft_23 (drafts 23-28) and mvfst's kQuicDraft23Salt.
constexpr VersionParams kDraft28Params = {
    {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
     0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02},
    "quic key",
    "quic iv",
    "quic hp"};
// draft-ietf-quic-tls-22 section 5.2; Wireshark's packet-quic.c
// handshake_salt_draft_22 and mvfst's kQuicDraft22Salt (quic/QuicConstants.h).
constexpr VersionParams kDraft22Params = {
    {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
     0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a},
    "quic key",
    "quic iv",
    "quic hp"};

const VersionParams* ParamsFor(QuicVersionKind version) {
  switch (version) {
    case QuicVersionKind::kV1:
      return &kV1Params;
    case QuicVersionKind::kV2:
      return &kV2Params;
    case QuicVersionKind::kDraft29:
      return &kDraft29Params;
    case QuicVersionKind::kDraft28:
      return &kDraft28Params;
    case QuicVersionKind::kDraft22:
      return &kDraft22Params;
    case QuicVersionKind::kUnknown:
      break;
  }
  return nullptr;
}

// The HKDF implementation and the AES ciphers are fetched once per process:
// an implicit fetch on every EVP_*Init would search the provider store.
EVP_KDF* FetchHkdf() {
  static EVP_KDF* const kKdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kKdf;
}
const EVP_CIPHER* AesEcb() {
  static EVP_CIPHER* const kCipher = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  return kCipher;
}
const EVP_CIPHER* AesGcm() {
  static EVP_CIPHER* const kCipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  return kCipher;
}

// OSSL_PARAM wants a mutable char*; this is the digest name HKDF uses.
char sha256_name[] = "SHA256";

}  // namespace

// Which wire versions use which salt. Sources, besides the drafts:
// - Wireshark epan/dissectors/packet-quic.c: quic_draft_version() maps
//   0xfaceb001 to draft 22 and 0xfaceb002, 0xfaceb00e to draft 27;
//   quic_derive_initial_secrets() uses the draft-22 salt up to draft 22, the
//   draft-23 salt up to 28, the draft-29 salt up to 32 and the v1 salt up to
//   34.
// - mvfst quic/fizz/handshake/FizzCryptoFactory.cpp makeInitialTrafficSecret():
//   QUIC_V1_ALIAS (0xfaceb003) takes the v1 salt; MVFST (0xfaceb002) and the
//   default branch, which MVFST_EXPERIMENTAL (0xfaceb00e) takes, the draft-23
//   salt; earlier revisions give MVFST_D24 (0xfaceb001) the draft-22 salt
//   ("we never updated the salt").
// Drafts before 22 encoded both connection ID lengths in one byte, so they
// are not claimed; nor are newer mvfst aliases (0xfaceb010 and up), whose
// salt only mvfst's "arbitrary" default branch gives.
QuicVersionKind QuicVersionKindOf(std::uint32_t wire_version) {
  switch (wire_version) {
    case 0x00000001:
    case 0xff000021:  // draft-33
    case 0xff000022:  // draft-34
    case 0xfaceb003:  // mvfst QUIC_V1_ALIAS
      return QuicVersionKind::kV1;
    case 0x6b3343cf:
      return QuicVersionKind::kV2;
    case 0xff00001d:  // draft-29
    case 0xff00001e:  // draft-30
    case 0xff00001f:  // draft-31
    case 0xff000020:  // draft-32
      return QuicVersionKind::kDraft29;
    case 0xff000017:  // draft-23
    case 0xff000018:  // draft-24
    case 0xff000019:  // draft-25
    case 0xff00001a:  // draft-26
    case 0xff00001b:  // draft-27
    case 0xff00001c:  // draft-28
    case 0xfaceb002:  // mvfst MVFST
    case 0xfaceb00e:  // mvfst MVFST_EXPERIMENTAL
      return QuicVersionKind::kDraft28;
    case 0xff000016:  // draft-22
    case 0xfaceb001:  // mvfst MVFST_D24
      return QuicVersionKind::kDraft22;
    default:
      return QuicVersionKind::kUnknown;
  }
}

std::uint8_t QuicInitialTypeBits(QuicVersionKind version) {
  return version == QuicVersionKind::kV2 ? 0b01 : 0b00;
}

QuicLongType QuicLongTypeOf(QuicVersionKind version, std::uint8_t first_byte) {
  const std::uint8_t bits = (first_byte >> 4) & 0x03;
  if (version == QuicVersionKind::kV2) {
    constexpr QuicLongType kV2Types[] = {QuicLongType::kRetry, QuicLongType::kInitial,
                                         QuicLongType::kZeroRtt, QuicLongType::kHandshake};
    return kV2Types[bits];
  }
  constexpr QuicLongType kV1Types[] = {QuicLongType::kInitial, QuicLongType::kZeroRtt,
                                       QuicLongType::kHandshake, QuicLongType::kRetry};
  return kV1Types[bits];
}

QuicInitialCrypto::QuicInitialCrypto() {
  if (EVP_KDF* kdf = FetchHkdf()) kdf_ = EVP_KDF_CTX_new(kdf);
  hp_ctx_ = EVP_CIPHER_CTX_new();
  aead_ctx_ = EVP_CIPHER_CTX_new();
}

QuicInitialCrypto::~QuicInitialCrypto() {
  EVP_KDF_CTX_free(kdf_);
  EVP_CIPHER_CTX_free(hp_ctx_);
  EVP_CIPHER_CTX_free(aead_ctx_);
}

bool QuicInitialCrypto::Ok() const {
  return kdf_ != nullptr && hp_ctx_ != nullptr && aead_ctx_ != nullptr && AesEcb() != nullptr &&
         AesGcm() != nullptr;
}

bool QuicInitialCrypto::HkdfExtract(std::span<const std::uint8_t> salt,
                                    std::span<const std::uint8_t> ikm, Secret* prk) {
  if (!Ok()) return false;
  int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
  // A zero-length DCID is legal; OpenSSL rejects an empty key buffer pointer
  // of nullptr, so point at the salt (any non-null address) with length 0.
  const std::uint8_t* ikm_ptr = ikm.empty() ? salt.data() : ikm.data();
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, sha256_name, 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm_ptr),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_end()};
  EVP_KDF_CTX_reset(kdf_);
  return EVP_KDF_derive(kdf_, prk->data(), prk->size(), params) == 1;
}

bool QuicInitialCrypto::HkdfExpandLabel(std::span<const std::uint8_t> secret,
                                        std::string_view label, std::span<std::uint8_t> out) {
  if (!Ok() || out.size() > 255 || label.size() > 255 - 6 || secret.empty()) return false;
  // struct { uint16 length; opaque label<7..255> = "tls13 " + label;
  //          opaque context<0..255> = ""; } HkdfLabel;
  std::array<std::uint8_t, 2 + 1 + 255 + 1> info{};
  std::size_t n = 0;
  info[n++] = 0;
  info[n++] = static_cast<std::uint8_t>(out.size());
  info[n++] = static_cast<std::uint8_t>(6 + label.size());
  for (char c : std::string_view("tls13 ")) info[n++] = static_cast<std::uint8_t>(c);
  for (char c : label) info[n++] = static_cast<std::uint8_t>(c);
  info[n++] = 0;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, sha256_name, 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<std::uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), n),
      OSSL_PARAM_construct_end()};
  EVP_KDF_CTX_reset(kdf_);
  return EVP_KDF_derive(kdf_, out.data(), out.size(), params) == 1;
}

bool QuicInitialCrypto::DeriveClientInitialSecret(QuicVersionKind version,
                                                  std::span<const std::uint8_t> dcid,
                                                  Secret* secret) {
  const VersionParams* params = ParamsFor(version);
  if (params == nullptr || dcid.size() > kQuicMaxCidLength) return false;
  Secret initial_secret{};
  if (!HkdfExtract(params->salt, dcid, &initial_secret)) return false;
  return HkdfExpandLabel(initial_secret, "client in", *secret);
}

bool QuicInitialCrypto::DeriveKeys(QuicVersionKind version, const Secret& secret,
                                   QuicPacketKeys* keys) {
  const VersionParams* params = ParamsFor(version);
  if (params == nullptr) return false;
  return HkdfExpandLabel(secret, params->key_label, keys->key) &&
         HkdfExpandLabel(secret, params->iv_label, keys->iv) &&
         HkdfExpandLabel(secret, params->hp_label, keys->hp);
}

bool QuicInitialCrypto::DeriveClientInitialKeys(QuicVersionKind version,
                                                std::span<const std::uint8_t> dcid,
                                                QuicPacketKeys* keys) {
  Secret secret{};
  return DeriveClientInitialSecret(version, dcid, &secret) && DeriveKeys(version, secret, keys);
}

bool QuicInitialCrypto::LoadKeys(const QuicPacketKeys& keys) {
  keys_loaded_ = false;
  if (!Ok()) return false;
  if (EVP_EncryptInit_ex2(hp_ctx_, AesEcb(), keys.hp.data(), nullptr, nullptr) != 1) return false;
  EVP_CIPHER_CTX_set_padding(hp_ctx_, 0);
  if (EVP_DecryptInit_ex2(aead_ctx_, AesGcm(), keys.key.data(), nullptr, nullptr) != 1) {
    return false;
  }
  iv_ = keys.iv;
  keys_loaded_ = true;
  return true;
}

bool QuicInitialCrypto::HeaderProtectionMask(
    std::span<const std::uint8_t, kQuicHpSampleLength> sample, std::array<std::uint8_t, 5>* mask) {
  if (!keys_loaded_) return false;
  std::array<std::uint8_t, kQuicHpSampleLength> block{};
  int out_len = 0;
  if (EVP_EncryptUpdate(hp_ctx_, block.data(), &out_len, sample.data(),
                        static_cast<int>(sample.size())) != 1 ||
      out_len != static_cast<int>(block.size())) {
    return false;
  }
  std::copy_n(block.begin(), mask->size(), mask->begin());
  return true;
}

bool QuicInitialCrypto::Open(std::uint64_t packet_number,
                             std::span<const std::span<const std::uint8_t>> aad_parts,
                             std::span<const std::uint8_t> sealed,
                             std::span<std::uint8_t> plaintext) {
  if (!keys_loaded_ || sealed.size() < kQuicAeadTagLength) return false;
  const std::size_t text_len = sealed.size() - kQuicAeadTagLength;
  if (plaintext.size() < text_len || text_len > static_cast<std::size_t>(INT32_MAX)) return false;
  std::array<std::uint8_t, 12> nonce = iv_;
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<std::uint8_t>(packet_number >> (8 * i));
  }
  if (EVP_DecryptInit_ex2(aead_ctx_, nullptr, nullptr, nonce.data(), nullptr) != 1) return false;
  int out_len = 0;
  for (std::span<const std::uint8_t> part : aad_parts) {
    if (part.empty()) continue;
    if (EVP_DecryptUpdate(aead_ctx_, nullptr, &out_len, part.data(),
                          static_cast<int>(part.size())) != 1) {
      return false;
    }
  }
  if (text_len > 0 && EVP_DecryptUpdate(aead_ctx_, plaintext.data(), &out_len, sealed.data(),
                                        static_cast<int>(text_len)) != 1) {
    return false;
  }
  std::array<std::uint8_t, kQuicAeadTagLength> tag{};
  std::copy_n(sealed.begin() + static_cast<std::ptrdiff_t>(text_len), tag.size(), tag.begin());
  if (EVP_CIPHER_CTX_ctrl(aead_ctx_, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          tag.data()) != 1) {
    return false;
  }
  int final_len = 0;
  return EVP_DecryptFinal_ex(aead_ctx_, plaintext.data() + text_len, &final_len) == 1;
}

}  // namespace flightwall
