// Policy: the validated, immutable model of a local-data-mode policy file.
//
// Built only by LoadPolicy (policy_loader.h), so every value here has been
// checked. Shared read-only between threads once built (the daemon swaps a
// std::shared_ptr<const Policy> on reload).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "policy/host_pattern.h"

namespace flightwall {

enum class PolicyMode : std::uint8_t { kEnforce, kAudit, kLockdown };

struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  bool Contains(std::uint16_t p) const { return p >= first && p <= last; }
};

enum class Transport : std::uint8_t { kTcp, kUdp };

// Which traffic a policy governs. In forward mode the daemon selects by
// interfaces and sources; in output mode by users/uids and cgroups. A
// capture shows only addresses, so `audit` uses sources alone.
struct FlightApp {
  std::string name;
  std::vector<std::string> interfaces;
  std::vector<Cidr> sources;
  std::vector<std::string> users;  // user names or numeric uids, as written
  std::vector<std::string> cgroups;
  // `users` as uids, filled by the daemon when it loads the policy
  // (ResolveFlightAppUids, firewall/rule_backend.h); empty elsewhere.
  std::vector<std::uint32_t> uids;
};

// The daemon's kernel rules name a packet's flight app in 8 bits of its mark
// (firewall/rule_backend.h), 0 meaning none: a policy holds at most this many.
constexpr int kMaxFlightApps = 255;

struct AllowRule {
  std::string name;
  std::string origin;  // "file:line" where the rule was defined
  std::vector<HostPattern> hosts;
  std::vector<Cidr> cidrs;            // literal-IP destinations allowed without DNS
  std::vector<PortRange> ports;       // empty = any port
  std::vector<Transport> transports;  // empty = tcp and udp
  // Traffic to an attested host of this rule that reveals no name (TLS
  // without SNI, HTTP without Host, a protocol flightwall does not read) is
  // denied unless the operator opts in here.
  bool allow_without_name = false;
  // A TLS Encrypted ClientHello hides the real name behind the outer SNI;
  // denied unless the operator trusts the outer name for this rule.
  bool trust_ech_outer_name = false;
  bool AllowsPort(std::uint16_t port) const;
  bool AllowsTransport(Transport t) const;
};

// A catalog entry labels destinations in reports ("who was this for"). It
// never allows anything.
struct CatalogEntry {
  std::string name;      // e.g. "dji-flight-log-sync"
  std::string vendor;    // e.g. "DJI"
  std::string category;  // e.g. "flight-logs", "analytics", "crash-reporting"
  std::string source;    // public reference the entry was taken from
  std::string note;      // optional: e.g. that a host's role is inferred
  std::vector<HostPattern> hosts;
};

struct DnsPolicy {
  std::vector<IpAddress> resolvers;  // the only DNS servers flight apps may use
  std::vector<std::uint16_t> ports = {53};
  std::uint32_t ttl_grace_seconds = 30;  // attestation lasts TTL + grace
  std::uint32_t min_ttl_seconds = 60;    // very low TTLs are raised to this
  // Opt-in active attestation: a connection to an unattested address on a
  // port an allow rule covers gets its handshake through; its first payload
  // is held and, when it reveals an allowed name, the daemon asks the first
  // resolver whether that name has this address. Loosens the policy (a SYN
  // reaches an address nobody attested); no effect in `audit`.
  bool confirm_revealed_names = false;
};

struct Policy {
  int version = 1;
  std::string name;
  std::string path;                         // file it was loaded from
  std::string sha256;                       // of the top-level file's bytes
  std::vector<std::string> included_files;  // every file read, in load order
  PolicyMode mode = PolicyMode::kEnforce;
  std::vector<FlightApp> flight_apps;
  DnsPolicy dns;
  std::vector<AllowRule> allow;
  std::vector<CatalogEntry> catalog;
  bool icmp_echo_to_allowed_hosts = false;  // allow ping to attested, allowed hosts
};

const char* PolicyModeName(PolicyMode mode);

}  // namespace flightwall
