// Fuzz target: TLS ClientHello over the record layer and as a bare handshake
// message (the QUIC CRYPTO path), and the incremental TlsHelloReader. Checks
// that parsing stays in bounds, that the result is consistent with its own
// capacities, and that feeding the stream in fuzzer-chosen growing prefixes
// ends where parsing the whole stream at once does.
//
// Input layout: byte 0 = how many bytes at the end choose the prefix steps
// (0..15, each step 1..256 bytes, cycled); the TLS stream is what lies
// between. With byte 0 = 0 the stream is fed in one step.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/tls_client_hello.h"
#include "proto/tls_hello_reader.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool SameInfo(const flightwall::ClientHelloInfo& a, const flightwall::ClientHelloInfo& b) {
  if (a.legacy_version != b.legacy_version || a.has_sni != b.has_sni ||
      a.sni.View() != b.sni.View() || a.alpn_count != b.alpn_count || a.has_ech != b.has_ech ||
      a.has_esni != b.has_esni ||
      a.has_quic_transport_parameters != b.has_quic_transport_parameters) {
    return false;
  }
  for (std::size_t i = 0; i < a.alpn_count && i < flightwall::ClientHelloInfo::kMaxAlpn; ++i) {
    if (a.alpn[i].View() != b.alpn[i].View()) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flightwall::ParseStatus;
  const std::span<const std::uint8_t> input(data, size);
  flightwall::ClientHelloInfo info;
  flightwall::ParseTlsClientHelloRecords(input, &info);
  Check(info.alpn_count <= flightwall::ClientHelloInfo::kMaxAlpn);
  flightwall::ParseClientHelloHandshake(input, &info);
  Check(info.sni.Size() <= flightwall::HostName::Capacity() && (info.has_sni || info.sni.Empty()));

  if (input.empty()) return 0;
  const std::size_t step_count = input[0] % 16;
  if (input.size() < 1 + step_count) return 0;
  const std::span<const std::uint8_t> steps = input.last(step_count);
  const std::span<const std::uint8_t> stream = input.subspan(1, input.size() - 1 - step_count);

  flightwall::ClientHelloInfo whole_info;
  const ParseStatus whole = flightwall::ParseTlsClientHelloRecords(stream, &whole_info);

  flightwall::TlsHelloReader reader;
  flightwall::ClientHelloInfo fed_info;
  ParseStatus fed = ParseStatus::kNeedMore;
  std::size_t fed_bytes = 0;
  for (std::size_t i = 0; fed_bytes < stream.size(); ++i) {
    const std::size_t step =
        step_count == 0 ? stream.size() : std::size_t{steps[i % step_count]} + 1;
    fed_bytes = step < stream.size() - fed_bytes ? fed_bytes + step : stream.size();
    fed = reader.Feed(stream.first(fed_bytes), &fed_info);
    // Only the last call may see every byte; before that a result other
    // than kNeedMore is final and must not change.
    if (fed != ParseStatus::kNeedMore) break;
  }
  if (fed != ParseStatus::kNeedMore) {
    // Sticky: once decided, feeding the whole stream gives the same answer.
    flightwall::ClientHelloInfo again;
    Check(reader.Feed(stream, &again) == fed);
    if (fed == ParseStatus::kOk) Check(SameInfo(again, fed_info));
  }
  Check(fed == whole);
  // `out` is written only once the message is complete, so even a kMalformed
  // body leaves the same partial fields both ways.
  Check(SameInfo(fed_info, whole_info));
  // ConsumedBytes ends a record whose header was read (9 = header + the
  // smallest handshake header), or is 0 while no message is complete.
  const std::size_t consumed = reader.ConsumedBytes();
  if (fed == ParseStatus::kOk) Check(consumed >= 9);
  if (fed != ParseStatus::kOk && fed != ParseStatus::kMalformed) Check(consumed == 0);
  Check(consumed <= stream.size() + (1u << 14) + 2048);
  return 0;
}
