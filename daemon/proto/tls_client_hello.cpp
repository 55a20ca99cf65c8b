#include "proto/tls_client_hello.h"

#include <algorithm>
#include <string_view>

#include "common/byte_cursor.h"

namespace flightwall {
namespace {

constexpr std::uint8_t kHandshakeClientHello = 1;

constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;
constexpr std::uint16_t kExtQuicTransportParameters = 0x39;
constexpr std::uint16_t kExtQuicTransportParametersDraft = 0xffa5;
constexpr std::uint16_t kExtEncryptedClientHello = 0xfe0d;
constexpr std::uint16_t kExtEncryptedServerName = 0xffce;

char AsciiLower(std::uint8_t b) {
  return static_cast<char>(b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b);
}

// server_name (RFC 6066 section 3): the first host_name entry wins.
bool ParseServerName(std::span<const std::uint8_t> data, ClientHelloInfo* out) {
  ByteCursor c(data);
  const std::uint16_t list_length = c.U16();
  ByteCursor list(c.Bytes(list_length));
  if (!c.Ok()) return false;
  while (list.Remaining() > 0) {
    const std::uint8_t name_type = list.U8();
    const std::uint16_t name_length = list.U16();
    const std::span<const std::uint8_t> name = list.Bytes(name_length);
    if (!list.Ok()) return false;
    if (name_type != 0 || out->has_sni) continue;
    if (name.empty()) return false;  // HostName is opaque<1..2^16-1>
    // Bytes are kept as sent (even NUL or non-ASCII) so policy sees exactly
    // what the server would; only ASCII letters are folded, and the name is
    // bounded by HostName's capacity (a DNS name is at most 255 bytes).
    out->sni.Clear();
    for (std::uint8_t b : name.first(std::min(name.size(), HostName::Capacity()))) {
      out->sni.Append(AsciiLower(b));
    }
    out->has_sni = true;
  }
  return true;
}

// application_layer_protocol_negotiation (RFC 7301 section 3.1).
bool ParseAlpn(std::span<const std::uint8_t> data, ClientHelloInfo* out) {
  ByteCursor c(data);
  const std::uint16_t list_length = c.U16();
  ByteCursor list(c.Bytes(list_length));
  if (!c.Ok()) return false;
  while (list.Remaining() > 0) {
    const std::uint8_t length = list.U8();
    const std::span<const std::uint8_t> name = list.Bytes(length);
    if (!list.Ok() || length == 0) return false;
    if (out->alpn_count < ClientHelloInfo::kMaxAlpn) {
      out->alpn[out->alpn_count++].Assign(
          std::string_view(reinterpret_cast<const char*>(name.data()), name.size()));
    }
  }
  return true;
}

ParseStatus ParseExtensions(ByteCursor& body, ClientHelloInfo* out) {
  const std::uint16_t extensions_length = body.U16();
  ByteCursor extensions(body.Bytes(extensions_length));
  if (!body.Ok()) return ParseStatus::kMalformed;
  while (extensions.Remaining() > 0) {
    const std::uint16_t type = extensions.U16();
    const std::uint16_t length = extensions.U16();
    const std::span<const std::uint8_t> data = extensions.Bytes(length);
    if (!extensions.Ok()) return ParseStatus::kMalformed;
    switch (type) {
      case kExtServerName:
        if (!ParseServerName(data, out)) return ParseStatus::kMalformed;
        break;
      case kExtAlpn:
        if (!ParseAlpn(data, out)) return ParseStatus::kMalformed;
        break;
      case kExtEncryptedClientHello:
        out->has_ech = true;
        break;
      case kExtEncryptedServerName:
        out->has_esni = true;
        break;
      case kExtQuicTransportParameters:
      case kExtQuicTransportParametersDraft:
        out->has_quic_transport_parameters = true;
        break;
      default:
        break;
    }
  }
  return ParseStatus::kOk;
}

}  // namespace

ParseStatus ParseClientHelloHandshake(std::span<const std::uint8_t> handshake,
                                      ClientHelloInfo* out) {
  *out = ClientHelloInfo{};
  ByteCursor c(handshake);
  if (c.Remaining() == 0) return ParseStatus::kNeedMore;
  if (c.U8() != kHandshakeClientHello) return ParseStatus::kNotMine;
  const std::uint32_t length = c.U24();
  if (!c.Ok()) return ParseStatus::kNeedMore;
  if (length > TlsHelloReader::kMaxClientHelloLength) return ParseStatus::kTooLarge;
  if (length > c.Remaining()) return ParseStatus::kNeedMore;
  ByteCursor body(c.Bytes(length));

  out->legacy_version = body.U16();
  body.Skip(32);  // random
  const std::uint8_t session_id_length = body.U8();
  if (session_id_length > 32) return ParseStatus::kMalformed;
  body.Skip(session_id_length);
  const std::uint16_t cipher_suites_length = body.U16();
  if (cipher_suites_length % 2 != 0) return ParseStatus::kMalformed;
  body.Skip(cipher_suites_length);
  const std::uint8_t compression_methods_length = body.U8();
  body.Skip(compression_methods_length);
  if (!body.Ok()) return ParseStatus::kMalformed;
  // SSL 3.0 / TLS 1.0 clients may omit the extensions block entirely.
  if (body.Remaining() == 0) return ParseStatus::kOk;
  return ParseExtensions(body, out);
}

ParseStatus ParseTlsClientHelloRecords(std::span<const std::uint8_t> stream, ClientHelloInfo* out) {
  *out = ClientHelloInfo{};
  TlsHelloReader reader;
  return reader.Feed(stream, out);
}

}  // namespace flightwall
