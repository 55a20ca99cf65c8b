// DNS questions the daemon asks itself (dns.confirm_revealed_names), and
// how their answers are judged.
//
// BuildDnsQuery writes one A or AAAA question with recursion desired into a
// caller's buffer, with bounds. JudgeConfirmAnswer reads a reply with
// ParseDnsMessage and says whether it confirms that `name` has `address`:
// only a well-formed response with the same id, the same single question
// (name, type, class IN), RCODE 0, not truncated, whose answer chain from
// `name` (CNAMEs followed) reaches an A/AAAA record equal to `address`.
// Anything else is refuted or not an answer to this question; nothing else
// is ever confirmed. Pure functions; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/ip_address.h"

namespace flightwall {

// Bytes of the longest query BuildDnsQuery writes (header + 255-byte name +
// type and class).
constexpr std::size_t kMaxDnsQueryBytes = 12 + 256 + 4;

// Writes the query into `out`; returns its length, or 0 when the name is
// not a valid host name (empty label, label over 63 bytes, name over 253
// bytes) or `out` is too small.
std::size_t BuildDnsQuery(std::uint16_t id, std::string_view name, std::uint16_t qtype,
                          std::span<std::uint8_t> out);

enum class AnswerVerdict : std::uint8_t {
  kNotOurs,    // not a response to this question (id, question or QR differ): keep waiting
  kConfirmed,  // the answer chain for name contains address
  kRefuted,    // a response to the question that does not contain it (or NXDOMAIN, SERVFAIL,
               // truncated, malformed)
};

// *ttl receives, for kConfirmed, the smallest TTL along the chain.
AnswerVerdict JudgeConfirmAnswer(std::span<const std::uint8_t> reply, std::uint16_t id,
                                 std::string_view name, std::uint16_t qtype,
                                 const IpAddress& address, std::uint32_t* ttl);

}  // namespace flightwall
