// BridgeNetfilter: what `intercept.mode: bridge` needs from the kernel
// besides the iptables rules, checked before and set up after they load.
//
// A tablet bridged (not routed) to the uplink sends frames the IP rules see
// only through br_netfilter, and only if the bridge calls iptables. So:
//  * Check() (read only) refuses bridge mode unless the named bridge exists
//    in this namespace, every flight-app interface is one of its ports,
//    br_netfilter is loaded, and the tools are here (nft, the iptables
//    physdev match). The error says what to do.
//  * Engage() loads the L2 guard, an nftables bridge-family table that drops
//    every frame to or from a tablet port that is not IPv4, IPv6 or ARP
//    (VLAN-tagged and PPPoE frames would skip the IP rules), then turns the
//    bridge's own nf_call_iptables/nf_call_ip6tables on (netlink, via `ip`)
//    where they are off, and reads them back. The per-bridge switch leaves
//    other bridges alone and holds even if the namespace-wide sysctl
//    net.bridge.bridge-nf-call-iptables is set to 0 later.
//  * Reassert(), from the daemon's main loop, turns a switch back on that
//    someone turned off while the daemon enforces.
//  * Release() deletes the guard and puts back the switches Engage() changed.
//
// Not thread-safe; used from the daemon's main thread and `flightwall rules`.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "firewall/command_runner.h"
#include "firewall/rule_backend.h"

namespace flightwall {

// How BridgeNetfilter reads the kernel's state; tests replace it.
struct BridgeProbe {
  // A sysfs/procfs file's first line, nullopt when it cannot be read.
  std::function<std::optional<std::string>(const std::string& path)> read;
  // The last component of a symlink's target, nullopt when it is no link.
  std::function<std::optional<std::string>(const std::string& path)> link_name;
  // The interface's index in this process's network namespace, 0 if none.
  std::function<unsigned(const std::string& name)> ifindex;
};
BridgeProbe SystemBridgeProbe();

// The tablet-side ports bridge mode governs: the plan's interface selectors.
std::vector<std::string> BridgePorts(const RulePlan& plan);

// The L2 guard as an `nft -f` script that replaces a previous one.
std::string RenderBridgeGuard(const RulePlan& plan, const std::string& prefix);

// Ok for interface names that fit IFNAMSIZ and a rule token; `+` only at
// the end. The error names the interface.
Status IsValidInterfaceName(const std::string& name);

class BridgeNetfilter {
 public:
  BridgeNetfilter(std::string prefix, std::unique_ptr<CommandRunner> runner, BridgeProbe probe);
  // Read only. Notes are things the operator should know (nothing fatal).
  Status Check(const RulePlan& plan, std::vector<std::string>* notes);
  // Call after the iptables rules are in. On an error the caller must not
  // start enforcing: bridged traffic may bypass the rules.
  Status Engage(const RulePlan& plan, std::vector<std::string>* notes);
  // While enforcing (cheap: two sysfs reads): turns a switch someone turned
  // off back on, with a note. An error when it cannot.
  Status Reassert(std::vector<std::string>* notes);
  // Undoes Engage(); ok when nothing was engaged. Tries every step and
  // reports the first that failed.
  Status Release();
  // Deletes the guard whoever loaded it (`flightwall rules --remove`).
  Status RemoveGuard();

 private:
  // Sets the bridge's switch `name` and reads it back.
  Status SetSwitch(const std::string& bridge, const std::string& name, int value);

  std::string prefix_;
  std::unique_ptr<CommandRunner> runner_;
  BridgeProbe probe_;
  std::string engaged_bridge_;
  std::vector<std::string> switches_turned_on_;  // restored to 0 by Release()
  bool guard_loaded_ = false;
};

}  // namespace flightwall
