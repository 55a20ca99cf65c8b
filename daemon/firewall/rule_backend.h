// Firewall rule backends: how flight-app traffic reaches the daemon's
// NFQUEUE, and how decided connections bypass it (conntrack marks).
//
// PlanRules() turns the policy's flight_apps selectors and the intercept
// settings into a backend-neutral RulePlan; a FirewallBackend renders it
// (for `flightwall rules --print` and operators with `backend: none`),
// installs it in the daemon's own chains/table, and removes exactly what it
// installed. Backends run iptables/ip6tables-restore or nft as child
// processes (no shell). Not thread-safe; used from the daemon's main thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace flightwall {

// Connection marks the daemon sets in verdicts. Chosen in the high bits so
// they rarely clash with marks set by other tools (policy routing, VPNs).
constexpr std::uint32_t kConnmarkGoverned = 0x40000000;  // a flight app's connection
constexpr std::uint32_t kConnmarkAllowed = 0x10000000;   // decided: pass in the kernel
constexpr std::uint32_t kConnmarkDenied = 0x20000000;    // decided: drop in the kernel
constexpr std::uint32_t kConnmarkVerdictMask = 0x30000000;

enum class InterceptMode : std::uint8_t { kForward, kOutput };
enum class BackendKind : std::uint8_t { kIptables, kNftables, kNone };

struct InterceptSettings {
  InterceptMode mode = InterceptMode::kForward;
  std::uint16_t queue_first = 0;
  std::uint16_t queue_last = 0;  // == queue_first for a single queue
  BackendKind backend = BackendKind::kIptables;
  bool fail_open = false;        // --queue-bypass / "bypass": pass when no daemon listens
  bool every_packet = false;     // inspect: every-packet: never bypass by connmark
  std::string chain_prefix = "FLIGHTWALL";
};

// One selector of flight-app traffic, as the kernel can match it.
struct RuleSelector {
  enum class Kind : std::uint8_t { kInInterface, kSource, kUid, kCgroup } kind;
  std::string value;  // interface name, CIDR, numeric uid, or cgroup path
  bool v6 = false;    // for kSource: which family the CIDR is
};

struct RulePlan {
  InterceptSettings settings;
  std::vector<RuleSelector> selectors;
  std::vector<std::string> warnings;  // e.g. "user 'pilot' does not exist; skipped"
};

// Resolves users to uids (getpwnam) and collects the policy's selectors for
// the intercept mode (interfaces+sources in forward, users+cgroups in output).
RulePlan PlanRules(const Policy& policy, const InterceptSettings& settings);

class FirewallBackend {
 public:
  virtual ~FirewallBackend() = default;
  virtual std::string Name() const = 0;
  // Whether this machine can run the plan (tools present, kernel support such
  // as nftables' queue expression); *why says what is missing and what to do.
  virtual bool Available(std::string* why) = 0;
  // The exact rules, as text an operator can read or apply by hand.
  virtual std::string Render(const RulePlan& plan) const = 0;
  // Installs atomically in the backend's own chains; replaces a previous
  // install of the same prefix. *error names the failing command and output.
  virtual bool Install(const RulePlan& plan, std::string* error) = 0;
  // Removes everything Install() added; succeeds if nothing is installed.
  virtual bool Remove(std::string* error) = 0;
};

std::unique_ptr<FirewallBackend> MakeFirewallBackend(BackendKind kind,
                                                     const std::string& chain_prefix);
const char* BackendKindName(BackendKind kind);

}  // namespace flightwall
