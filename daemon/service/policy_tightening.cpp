// Lockdown mode refuses reloads that loosen the policy. "Looser" is judged
// conservatively by text: every allow entry, resolver and DNS port of the
// new policy must already be in the old one, and every flight-app selector
// of the old policy must still be in the new one.
#include <algorithm>
#include <set>
#include <string>

#include "common/status.h"
#include "policy/policy.h"
#include "service/daemon.h"

namespace flightwall {
namespace {

std::set<std::string> AllowEntries(const Policy& p) {
  std::set<std::string> out;
  for (const AllowRule& r : p.allow) {
    std::string ports;
    for (const PortRange& pr : r.ports) {
      ports += std::to_string(pr.first) + "-" + std::to_string(pr.last) + ",";
    }
    std::string transports;
    for (Transport t : r.transports) transports += t == Transport::kTcp ? "tcp," : "udp,";
    std::string scope = " ";
    scope.append(ports).append(transports);
    // The opt-ins loosen a rule: a rule that gains one is a new entry.
    if (r.allow_without_name) scope += " allow_without_name";
    if (r.trust_ech_outer_name) scope += " trust_ech_outer_name";
    for (const HostPattern& h : r.hosts)
      out.insert(std::string("host ").append(h.Text()).append(scope));
    for (const Cidr& c : r.cidrs)
      out.insert(std::string("cidr ").append(c.ToString()).append(scope));
  }
  return out;
}

std::set<std::string> Selectors(const Policy& p) {
  std::set<std::string> out;
  for (const FlightApp& a : p.flight_apps) {
    for (const auto& i : a.interfaces) out.insert("interface " + i);
    for (const auto& s : a.sources) out.insert("source " + s.ToString());
    for (const auto& u : a.users) out.insert("user " + u);
    for (const auto& c : a.cgroups) out.insert("cgroup " + c);
  }
  return out;
}

}  // namespace

Status PolicyIsNoLooser(const Policy& current, const Policy& next) {
  if (next.mode != PolicyMode::kLockdown) {
    return Status::Error("the new policy leaves lockdown mode");
  }
  const auto old_allow = AllowEntries(current);
  for (const auto& e : AllowEntries(next)) {
    if (!old_allow.count(e)) {
      return Status::Error("the new policy adds an allow entry: " + e);
    }
  }
  for (const auto& r : next.dns.resolvers) {
    if (std::find(current.dns.resolvers.begin(), current.dns.resolvers.end(), r) ==
        current.dns.resolvers.end()) {
      return Status::Error("the new policy adds DNS resolver " + r.ToString());
    }
  }
  for (auto port : next.dns.ports) {
    if (std::find(current.dns.ports.begin(), current.dns.ports.end(), port) ==
        current.dns.ports.end()) {
      return Status::Error("the new policy adds DNS port " + std::to_string(port));
    }
  }
  const auto new_selectors = Selectors(next);
  for (const auto& s : Selectors(current)) {
    if (!new_selectors.count(s)) {
      return Status::Error("the new policy stops governing " + s);
    }
  }
  if (next.icmp_echo_to_allowed_hosts && !current.icmp_echo_to_allowed_hosts) {
    return Status::Error("the new policy allows ICMP echo");
  }
  if (next.dns.confirm_revealed_names && !current.dns.confirm_revealed_names) {
    return Status::Error(
        "the new policy turns on dns.confirm_revealed_names (SYNs reach unattested addresses)");
  }
  // DNS answers that attest longer attest more.
  if (next.dns.ttl_grace_seconds > current.dns.ttl_grace_seconds ||
      next.dns.min_ttl_seconds > current.dns.min_ttl_seconds) {
    return Status::Error(
        "the new policy lets DNS answers attest for longer (ttl_grace_seconds/min_ttl_seconds)");
  }
  return {};
}

Status ConfigIsNoLooser(const DaemonConfig& current, const DaemonConfig& next) {
  if (next.intercept.fail_open && !current.intercept.fail_open) {
    return Status::Error("the new config sets on_failure: open");
  }
  if (next.intercept.mode != current.intercept.mode) {
    return Status::Error("the new config changes intercept.mode (it would govern other traffic)");
  }
  if (next.intercept.bridge != current.intercept.bridge) {
    return Status::Error("the new config changes intercept.bridge (it would govern other traffic)");
  }
  return {};
}

}  // namespace flightwall
