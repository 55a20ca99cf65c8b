#include "common/sha256.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdexcept>

namespace flightwall {
namespace {

std::string Hex(const unsigned char* digest, std::size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (std::size_t i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

struct Sha256Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Sha256Hasher::Sha256Hasher() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("libcrypto: cannot initialise SHA-256");
  }
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_->md); }

void Sha256Hasher::Update(std::span<const std::uint8_t> bytes) {
  EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

std::string Sha256Hasher::FinalHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, digest, &len);
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

struct HmacSha256Hasher::Ctx {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
};

HmacSha256Hasher::HmacSha256Hasher(std::span<const std::uint8_t> key)
    : ctx_(std::make_unique<Ctx>()) {
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  ctx_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ctx_->ctx = ctx_->mac != nullptr ? EVP_MAC_CTX_new(ctx_->mac) : nullptr;
  if (ctx_->ctx == nullptr || EVP_MAC_init(ctx_->ctx, key.data(), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx_->ctx);
    EVP_MAC_free(ctx_->mac);
    throw std::runtime_error("libcrypto: cannot initialise HMAC-SHA256");
  }
}

HmacSha256Hasher::~HmacSha256Hasher() {
  EVP_MAC_CTX_free(ctx_->ctx);
  EVP_MAC_free(ctx_->mac);
}

void HmacSha256Hasher::Update(std::string_view bytes) {
  EVP_MAC_update(ctx_->ctx, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string HmacSha256Hasher::FinalHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_MAC_final(ctx_->ctx, digest, &len, sizeof digest);
  // A null key keeps the one given at construction (OpenSSL 3).
  EVP_MAC_init(ctx_->ctx, nullptr, 0, nullptr);
  return Hex(digest, len);
}

std::string Sha256Hex(std::span<const std::uint8_t> bytes) {
  Sha256Hasher h;
  h.Update(bytes);
  return h.FinalHex();
}

std::string Sha256Hex(std::string_view text) {
  return Sha256Hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                                 text.size()));
}

}  // namespace flightwall
