// Fuzzes how the daemon judges its own DNS questions' answers
// (dns.confirm_revealed_names): a reply from the network, so arbitrary
// bytes. Whatever they are, nothing but a well-formed answer to the exact
// question, with the same id, confirms; and a reply never confirms an
// address for a question whose id or name differ.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "common/ip_address.h"
#include "proto/dns_query.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flightwall::AnswerVerdict;
  const std::span<const std::uint8_t> reply(data, size);
  // The question the fuzzer's bytes most likely answer: the reply's own id.
  const std::uint16_t id = size >= 2 ? static_cast<std::uint16_t>(data[0] << 8 | data[1]) : 0;
  const flightwall::IpAddress v4 = *flightwall::IpAddress::Parse("198.51.100.10");
  const flightwall::IpAddress v6 = *flightwall::IpAddress::Parse("2001:db8::10");
  for (const char* name : {"api.mapbox.com", "a.b", "x"}) {
    std::uint32_t ttl = 0;
    const AnswerVerdict a = flightwall::JudgeConfirmAnswer(reply, id, name, 1, v4, &ttl);
    const AnswerVerdict b = flightwall::JudgeConfirmAnswer(reply, id, name, 28, v6, &ttl);
    // A reply that is too short for a DNS header answers nothing.
    if (size < 12) Check(a != AnswerVerdict::kConfirmed && b != AnswerVerdict::kConfirmed);
    // A different id is never a confirmation.
    const AnswerVerdict c = flightwall::JudgeConfirmAnswer(
        reply, static_cast<std::uint16_t>(id ^ 0x5a5a), name, 1, v4, &ttl);
    Check(c != AnswerVerdict::kConfirmed);
  }
  // BuildDnsQuery: bounded whatever the name.
  std::uint8_t query[flightwall::kMaxDnsQueryBytes];
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  const std::size_t n = flightwall::BuildDnsQuery(id, name, 1, query);
  Check(n <= sizeof(query));
  if (n > 0) {
    // A query is not an answer to itself (QR is 0).
    std::uint32_t ttl = 0;
    Check(flightwall::JudgeConfirmAnswer(std::span(query, n), id, name, 1, v4, &ttl) !=
          AnswerVerdict::kConfirmed);
  }
  return 0;
}
