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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "policy/policy.h"

namespace flightwall {

// Connection marks the daemon sets in verdicts. Chosen in the high bits so
// they rarely clash with marks set by other tools (policy routing, VPNs).
constexpr std::uint32_t kConnmarkGoverned = 0x40000000;  // a flight app's connection
constexpr std::uint32_t kConnmarkAllowed = 0x10000000;   // decided: pass in the kernel
constexpr std::uint32_t kConnmarkDenied = 0x20000000;    // decided: drop in the kernel
// Plain HTTP between requests: the kernel passes the server's packets that
// carry data (they cannot carry the app's); everything the client sends is
// still queued and judged. kConnmarkInspect turns that off again (every
// packet queued) without being "no mark", which repeat-mark cannot set.
constexpr std::uint32_t kConnmarkRequests = 0x04000000;
constexpr std::uint32_t kConnmarkInspect = 0x34000000;
constexpr std::uint32_t kConnmarkVerdictMask = 0x34000000;
// IP packets longer than this carry TCP payload whatever their headers
// (IPv4 60 + TCP 60 bytes at most; IPv6 40 + 60): the reply bypass passes
// only those, so the server's pure ACKs, FINs and RSTs are still seen.
constexpr int kReplyBypassMinLength = 121;
// Packet mark (SO_MARK) the daemon puts on the packets it injects (RST, ICMP
// unreachable, DNS refusal). In output mode these loop back through OUTPUT on
// a connection marked denied; the chains let them pass untouched instead of
// dropping or re-queueing them. Only CAP_NET_ADMIN can set SO_MARK, so a
// flight app cannot use it to skip inspection.
constexpr std::uint32_t kPacketMarkInjected = 0x08000000;
// Which flight app a packet belongs to, as the kernel rules saw it: each
// app's selector rules put (index + 1) << kMarkAppShift in these bits of the
// connmark, and the rules copy them into the packet mark before queueing, so
// NFQUEUE tells the daemon the app even where it reports no uid (cgroups,
// interfaces, replies). 0 means "no app said". The field's width bounds the
// number of flight apps (kMaxFlightApps in policy.h).
constexpr std::uint32_t kMarkAppMask = 0x00ff0000;
constexpr int kMarkAppShift = 16;
static_assert(kMaxFlightApps <= static_cast<int>(kMarkAppMask >> kMarkAppShift),
              "the app field of the mark must hold every flight app index + 1");
static_assert((kMarkAppMask & (kConnmarkGoverned | kConnmarkVerdictMask | kPacketMarkInjected)) ==
              0);
static_assert((kConnmarkVerdictMask & (kConnmarkGoverned | kPacketMarkInjected)) == 0);

// The mark bits that name flight app `index` (0-based).
constexpr std::uint32_t AppMark(int index) {
  return (static_cast<std::uint32_t>(index) + 1) << kMarkAppShift;
}
// The flight app index a packet mark names, or -1 when it names none.
constexpr int AppFromMark(std::uint32_t mark) {
  return static_cast<int>((mark & kMarkAppMask) >> kMarkAppShift) - 1;
}

// kBridge: the flight apps' devices sit behind a Linux bridge on this host
// (bridged, not routed): their IP traffic reaches the FORWARD rules through
// br_netfilter and their interface selectors name bridge ports (physdev);
// see firewall/bridge_netfilter.h for what the daemon checks and changes.
enum class InterceptMode : std::uint8_t { kForward, kOutput, kBridge };
enum class BackendKind : std::uint8_t { kIptables, kNftables, kNone };

struct InterceptSettings {
  InterceptMode mode = InterceptMode::kForward;
  std::uint16_t queue_first = 0;
  std::uint16_t queue_last = 0;  // == queue_first for a single queue
  BackendKind backend = BackendKind::kIptables;
  bool fail_open = false;     // --queue-bypass / "bypass": pass when no daemon listens
  bool every_packet = false;  // inspect: every-packet: never bypass by connmark
  std::string chain_prefix = "FLIGHTWALL";
  std::string bridge;  // kBridge: the bridge whose ports the interfaces name
};

// One selector of flight-app traffic, as the kernel can match it.
struct RuleSelector {
  enum class Kind : std::uint8_t { kInInterface, kSource, kUid, kCgroup } kind;
  std::string value;  // interface name, CIDR, numeric uid, or cgroup path
  bool v6 = false;    // for kSource: which family the CIDR is
  int app = 0;        // index into Policy::flight_apps: the rules mark it (AppMark)
};

struct RulePlan {
  InterceptSettings settings;
  // In policy order, so the first app whose selector matches a packet is the
  // one it is attributed to, as MatchFlightApp does.
  std::vector<RuleSelector> selectors;
  // The policy's DNS ports: DNS is always queued, even on connections marked
  // allowed, so every question is judged and every answer attests names.
  std::vector<std::uint16_t> dns_ports;
  std::vector<std::string> warnings;  // e.g. "user 'pilot' does not exist; skipped"
};

// How PlanRules looks up what the policy names; tests replace it.
struct SelectorResolver {
  // uid of a user name (getpwnam), nullopt when there is no such user.
  std::function<std::optional<std::uint32_t>(const std::string& user)> uid_of;
  // Ok when a cgroup (path from the cgroup2 root) exists now: the kernel
  // resolves cgroup paths when a rule is loaded and rejects missing ones.
  // The system resolver answers ok when no cgroup2 mount is visible. An
  // error's message completes "cgroup '/x' ..." (e.g. "does not exist under
  // /sys/fs/cgroup"); PlanRules turns it into a warning.
  std::function<Status(const std::string& path)> cgroup_exists;
};
SelectorResolver SystemSelectorResolver();

// Fills each flight app's `uids` from its `users` (numeric ones parsed, names
// looked up with resolver.uid_of), so the engine can tell apps apart by the
// socket uid NFQUEUE reports where no rule mark names the app (backend:
// none with the operator's own rules). Users that do not resolve are left
// out; PlanRules warns about them.
void ResolveFlightAppUids(Policy* policy, const SelectorResolver& resolver);

// Resolves users to uids (getpwnam) and collects the policy's selectors for
// the intercept mode (interfaces+sources in forward and bridge, where the
// interfaces are bridge ports; users+cgroups in output),
// each tagged with its app. Selectors that cannot be used become warnings,
// never errors; so does a selector an earlier app already claims.
RulePlan PlanRules(const Policy& policy, const InterceptSettings& settings);
RulePlan PlanRules(const Policy& policy, const InterceptSettings& settings,
                   const SelectorResolver& resolver);

// Chain prefixes become iptables chain names (with "_APP", at most 28
// characters) and a lower-case nftables table name: 1-24 characters of
// [A-Za-z0-9_], starting with a letter. The error names the prefix.
Status IsValidChainPrefix(std::string_view prefix);

class FirewallBackend {
 public:
  virtual ~FirewallBackend() = default;
  virtual std::string Name() const = 0;
  // Ok when this machine can run the plan (tools present, kernel support such
  // as nftables' queue expression); the error says what is missing and what
  // to do.
  virtual Status Available() = 0;
  // The exact rules, as text an operator can read or apply by hand.
  virtual std::string Render(const RulePlan& plan) const = 0;
  // Installs atomically in the backend's own chains; replaces a previous
  // install of the same prefix. The error names the failing command and its
  // output.
  virtual Status Install(const RulePlan& plan) = 0;
  // Removes everything Install() added; ok if nothing is installed.
  virtual Status Remove() = 0;
};

std::unique_ptr<FirewallBackend> MakeFirewallBackend(BackendKind kind,
                                                     const std::string& chain_prefix);
const char* BackendKindName(BackendKind kind);
const char* InterceptModeName(InterceptMode mode);

}  // namespace flightwall
