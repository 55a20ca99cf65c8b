// Builders for TLS ClientHellos and protected QUIC Initial packets, shared by
// the TLS and QUIC parser tests. They produce well-formed bytes so tests can
// then cut, reorder or corrupt them. Test-only; allocation is fine here.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/quic_keys.h"

namespace flightwall::testing {

using Bytes = std::vector<std::uint8_t>;

inline Bytes FromHex(std::string_view hex) {
  Bytes out;
  auto nibble = [](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    return static_cast<std::uint8_t>(c - 'A' + 10);
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

inline std::string ToHex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

inline void PutU16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void PutU24(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  PutU16(b, v & 0xffff);
}
inline void PutBytes(Bytes& b, std::span<const std::uint8_t> v) {
  b.insert(b.end(), v.begin(), v.end());
}
inline void PutString(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline void PutVarInt(Bytes& b, std::uint64_t v) {
  if (v < 64) {
    b.push_back(static_cast<std::uint8_t>(v));
  } else if (v < 16384) {
    PutU16(b, 0x4000 | v);
  } else {
    b.push_back(static_cast<std::uint8_t>(0x80 | (v >> 24)));
    PutU24(b, v & 0xffffff);
  }
}

struct ClientHelloSpec {
  std::string sni = "example.com";
  bool include_sni = true;
  std::vector<std::string> alpn;
  bool ech = false;
  bool esni = false;
  bool quic_transport_parameters = false;
  std::size_t padding = 0;  // bytes of a padding extension (21) to grow the hello
  std::vector<std::pair<std::uint16_t, Bytes>> extra_extensions;
  bool omit_extensions_block = false;
};

inline void PutExtension(Bytes& b, std::uint16_t type, std::span<const std::uint8_t> data) {
  PutU16(b, type);
  PutU16(b, data.size());
  PutBytes(b, data);
}

// The handshake message: type 1, 24-bit length, body.
inline Bytes BuildClientHello(const ClientHelloSpec& spec) {
  Bytes body;
  PutU16(body, 0x0303);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<std::uint8_t>(i));
  body.push_back(32);  // session id
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<std::uint8_t>(0xa0 + i));
  PutU16(body, 6);
  PutU16(body, 0x1301);
  PutU16(body, 0x1302);
  PutU16(body, 0x1303);
  body.push_back(1);  // compression methods
  body.push_back(0);
  if (!spec.omit_extensions_block) {
    Bytes ext;
    if (spec.include_sni) {
      Bytes sn;
      PutU16(sn, spec.sni.size() + 3);
      sn.push_back(0);
      PutU16(sn, spec.sni.size());
      PutString(sn, spec.sni);
      PutExtension(ext, 0, sn);
    }
    if (!spec.alpn.empty()) {
      Bytes list;
      for (const std::string& p : spec.alpn) {
        list.push_back(static_cast<std::uint8_t>(p.size()));
        PutString(list, p);
      }
      Bytes a;
      PutU16(a, list.size());
      PutBytes(a, list);
      PutExtension(ext, 16, a);
    }
    const Bytes supported_versions = {0x02, 0x03, 0x04};
    PutExtension(ext, 43, supported_versions);
    if (spec.ech) PutExtension(ext, 0xfe0d, Bytes{0x00, 0x00, 0x01, 0x00, 0x01});
    if (spec.esni) PutExtension(ext, 0xffce, Bytes{0x13, 0x01});
    if (spec.quic_transport_parameters) PutExtension(ext, 0x39, Bytes{0x01, 0x01, 0x00});
    for (const auto& [type, data] : spec.extra_extensions) PutExtension(ext, type, data);
    if (spec.padding > 0) PutExtension(ext, 21, Bytes(spec.padding, 0));
    PutU16(body, ext.size());
    PutBytes(body, ext);
  }
  Bytes message = {1};
  PutU24(message, body.size());
  PutBytes(message, body);
  return message;
}

// TLS records (type 22, version 0x0301) carrying `handshake`, cut into
// fragments of the given sizes; the last fragment takes the rest.
inline Bytes WrapInRecords(std::span<const std::uint8_t> handshake,
                           const std::vector<std::size_t>& fragment_sizes = {}) {
  Bytes out;
  std::size_t pos = 0;
  std::size_t i = 0;
  while (pos < handshake.size()) {
    std::size_t n = i < fragment_sizes.size() ? fragment_sizes[i] : handshake.size() - pos;
    n = std::min(n, handshake.size() - pos);
    out.push_back(22);
    PutU16(out, 0x0301);
    PutU16(out, n);
    PutBytes(out, handshake.subspan(pos, n));
    pos += n;
    ++i;
  }
  return out;
}

// A CRYPTO frame carrying data at the given stream offset.
inline Bytes CryptoFrame(std::uint64_t offset, std::span<const std::uint8_t> data) {
  Bytes f = {0x06};
  PutVarInt(f, offset);
  PutVarInt(f, data.size());
  PutBytes(f, data);
  return f;
}

struct InitialSpec {
  std::uint32_t wire_version = 1;
  QuicVersionKind version = QuicVersionKind::kV1;
  Bytes dcid = FromHex("8394c8f03e515708");
  Bytes key_dcid;  // DCID the keys come from; empty = dcid
  Bytes scid = {};
  Bytes token = {};
  std::uint64_t packet_number = 0;
  std::size_t pn_length = 4;
  std::size_t pad_to = 1200;  // PADDING frames appended until the packet is this long
};

// A protected client Initial packet whose payload is `frames` (+ PADDING),
// built independently of the parser with libcrypto directly.
inline Bytes SealInitial(const InitialSpec& spec, const Bytes& frames) {
  QuicInitialCrypto crypto;
  QuicPacketKeys keys;
  const Bytes& key_dcid = spec.key_dcid.empty() ? spec.dcid : spec.key_dcid;
  if (!crypto.DeriveClientInitialKeys(spec.version, key_dcid, &keys)) return {};
  const std::uint8_t type_bits = QuicInitialTypeBits(spec.version);
  Bytes header = {static_cast<std::uint8_t>(0xc0 | (type_bits << 4) | (spec.pn_length - 1))};
  header.push_back(static_cast<std::uint8_t>(spec.wire_version >> 24));
  PutU24(header, spec.wire_version & 0xffffff);
  header.push_back(static_cast<std::uint8_t>(spec.dcid.size()));
  PutBytes(header, spec.dcid);
  header.push_back(static_cast<std::uint8_t>(spec.scid.size()));
  PutBytes(header, spec.scid);
  PutVarInt(header, spec.token.size());
  PutBytes(header, spec.token);
  Bytes payload = frames;
  const std::size_t fixed = header.size() + 2 + spec.pn_length + 16;
  while (fixed + payload.size() < spec.pad_to || payload.size() + spec.pn_length < 20) {
    payload.push_back(0);
  }
  PutU16(header, 0x4000 | (spec.pn_length + payload.size() + 16));
  const std::size_t pn_offset = header.size();
  for (std::size_t i = spec.pn_length; i > 0; --i) {
    header.push_back(static_cast<std::uint8_t>(spec.packet_number >> (8 * (i - 1))));
  }
  std::array<std::uint8_t, 12> nonce = keys.iv;
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[11 - i] ^= static_cast<std::uint8_t>(spec.packet_number >> (8 * i));
  }
  Bytes sealed(payload.size() + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, keys.key.data(), nonce.data());
  EVP_EncryptUpdate(ctx, nullptr, &len, header.data(), static_cast<int>(header.size()));
  EVP_EncryptUpdate(ctx, sealed.data(), &len, payload.data(), static_cast<int>(payload.size()));
  EVP_EncryptFinal_ex(ctx, sealed.data() + payload.size(), &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, sealed.data() + payload.size());
  EVP_CIPHER_CTX_free(ctx);

  Bytes packet = header;
  PutBytes(packet, sealed);
  std::array<std::uint8_t, 16> mask{};
  ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, keys.hp.data(), nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EVP_EncryptUpdate(ctx, mask.data(), &len, packet.data() + pn_offset + 4, 16);
  EVP_CIPHER_CTX_free(ctx);
  packet[0] ^= mask[0] & 0x0f;
  for (std::size_t i = 0; i < spec.pn_length; ++i) packet[pn_offset + i] ^= mask[1 + i];
  return packet;
}

}  // namespace flightwall::testing
