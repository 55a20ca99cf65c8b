// NameBinding: "DNS said `name` has this address", learned from one answer.
// The flow stage stores them (NameCache); the policy stage judges whether a
// binding still attests an address (TTL, grace, trusted resolver).
#pragma once

#include <cstdint>

#include "common/fixed_string.h"
#include "common/ip_address.h"
#include "common/timestamp.h"

namespace flightwall {

struct NameBinding {
  HostName name;              // the question name (CNAME chains are followed back)
  Timestamp answered_at = 0;  // time of the DNS response
  std::uint32_t ttl = 0;      // seconds, as answered (smallest TTL along the chain)
  bool trusted = false;       // answered by an allowed resolver
  IpAddress resolver;         // who answered (unset when not learned from a DNS answer)
  std::uint64_t packet = 0;   // packet number of the answer (evidence)
  // Learned by asking the trusted resolver about a name a flow revealed
  // (dns.confirm_revealed_names), not from an answer the app received.
  bool confirmed = false;
};

}  // namespace flightwall
