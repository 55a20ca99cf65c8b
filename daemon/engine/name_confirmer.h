// NameConfirmer: how an engine asks the trusted resolver whether a name a
// flow revealed has the flow's destination address
// (dns.confirm_revealed_names, "active attestation").
//
// The engine never waits: Confirm() answers at once from what is known
// (kPending while a query is in flight) and the engine asks again at its
// next packet or tick of the flow. Anything but kConfirmed denies the flow,
// so an implementation that cannot answer (no room, rate-limited, resolver
// error, timeout) must say kRefuted, never kConfirmed. The daemon's
// implementation is service/dns_name_confirmer.h; `audit` has none, so the
// opt-in has no effect there. Implementations are called by every worker:
// thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/ip_address.h"

namespace flightwall {

enum class ConfirmState : std::uint8_t {
  kPending,      // asked; no answer yet
  kConfirmed,    // the resolver's answer for the name contains the address
  kRefuted,      // it does not (or NXDOMAIN, or a malformed or mismatched answer)
  kTimedOut,     // no usable answer in time
  kRateLimited,  // too many questions: not asked
  kError,        // could not ask (no resolver, socket error, queue full)
};

constexpr std::string_view ConfirmStateName(ConfirmState s) {
  switch (s) {
    case ConfirmState::kPending:
      return "pending";
    case ConfirmState::kConfirmed:
      return "confirmed";
    case ConfirmState::kRefuted:
      return "refuted";
    case ConfirmState::kTimedOut:
      return "timed-out";
    case ConfirmState::kRateLimited:
      return "rate-limited";
    case ConfirmState::kError:
      return "error";
  }
  return "error";
}

struct ConfirmResult {
  ConfirmState state = ConfirmState::kError;
  std::uint32_t ttl = 0;  // kConfirmed: seconds, smallest along the answer's chain
};

// What a confirmer did since it started (metrics: flightwall_name_confirmations_total).
struct DnsConfirmerStats {
  std::uint64_t queries = 0;  // sent to the resolver
  std::uint64_t confirmed = 0;
  std::uint64_t refuted = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t errors = 0;  // no room, socket errors
  std::uint64_t cache_hits = 0;
};

class NameConfirmer {
 public:
  virtual ~NameConfirmer() = default;
  // Does `name` resolve to `address` at `resolver` (A for IPv4, AAAA for
  // IPv6)? Starts a query the first time it is asked; never blocks.
  virtual ConfirmResult Confirm(std::string_view name, const IpAddress& address,
                                const IpAddress& resolver) = 0;
};

}  // namespace flightwall
