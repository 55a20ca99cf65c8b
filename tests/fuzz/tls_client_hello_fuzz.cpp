// Fuzz target: TLS ClientHello over the record layer and as a bare handshake
// message (the QUIC CRYPTO path). Checks only that parsing stays in bounds
// and that the result is consistent with its own capacities.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/tls_client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  flightwall::ClientHelloInfo info;
  flightwall::ParseTlsClientHelloRecords(input, &info);
  if (info.alpn_count > flightwall::ClientHelloInfo::kMaxAlpn) std::abort();
  flightwall::ParseClientHelloHandshake(input, &info);
  if (info.sni.Size() > flightwall::HostName::Capacity() || (!info.has_sni && !info.sni.Empty())) {
    std::abort();
  }
  return 0;
}
