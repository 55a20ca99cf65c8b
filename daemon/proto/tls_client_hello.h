// TLS ClientHello parser: SNI, ALPN, ECH/ESNI flags.
//
// ParseTlsClientHelloRecords reads the client's first bytes of a TLS stream
// (one or more TLS records, the handshake possibly split across records) and
// returns kNeedMore until the whole ClientHello handshake message is present.
// It rereads the stream from the start on every call; a caller that gets the
// stream a segment at a time should keep a TlsHelloReader (tls_hello_reader.h)
// per flow instead (declared there, included here). ParseClientHelloHandshake reads a bare
// handshake message (type 1 + 24-bit length + body), as QUIC carries it in CRYPTO frames. Handshake
// bodies up to TlsHelloReader::kMaxClientHelloLength (64 KiB: post-quantum key shares, or a hostile
// client's thousands of ALPN values) are read; a larger length field is kTooLarge. Neither
// allocates per call: a message split across records is joined in a per-thread heap buffer
// allocated once. On kMalformed, fields read before the inconsistency (for example the SNI when a
// later extension overruns) stay in `out`; the caller decides whether to trust
// them. SNI bytes are kept as sent (ASCII letters lower-cased, NUL and
// non-ASCII kept), truncated to HostName's 255 bytes. Stateless and
// thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/fixed_string.h"
#include "proto/parse_status.h"
#include "proto/tls_hello_reader.h"

namespace flightwall {

struct ClientHelloInfo {
  static constexpr std::size_t kMaxAlpn = 8;

  std::uint16_t legacy_version = 0;
  HostName sni;  // server_name (host_name type), lower-cased; empty if absent
  bool has_sni = false;
  std::size_t alpn_count = 0;
  std::array<FixedString<32>, kMaxAlpn> alpn;
  bool has_ech = false;   // encrypted_client_hello (0xfe0d)
  bool has_esni = false;  // draft encrypted_server_name (0xffce)
  bool has_quic_transport_parameters = false;
};

// Record-layer input: bytes from the start of the client->server stream.
// kNotMine if the first record is not a handshake record / not a ClientHello.
// The statuses are those of TlsHelloReader::Feed; `out` is reset first.
ParseStatus ParseTlsClientHelloRecords(std::span<const std::uint8_t> stream, ClientHelloInfo* out);

// Handshake-layer input: bytes starting at the handshake type byte. Bytes
// after the message are ignored. kTooLarge when the length field exceeds
// TlsHelloReader::kMaxClientHelloLength (even if the bytes are not all there).
ParseStatus ParseClientHelloHandshake(std::span<const std::uint8_t> handshake,
                                      ClientHelloInfo* out);

}  // namespace flightwall
