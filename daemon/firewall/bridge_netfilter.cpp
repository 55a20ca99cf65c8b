// BridgeNetfilter: checks and sets up br_netfilter for intercept mode bridge.
#include "firewall/bridge_netfilter.h"

#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <utility>

#include "firewall/nftables_backend.h"

namespace flightwall {
namespace {

const std::string kSysNet = "/sys/class/net/";
const std::string kProcBridge = "/proc/sys/net/bridge/";
constexpr const char* kSwitches[] = {"nf_call_iptables", "nf_call_ip6tables"};

bool IsWildcard(const std::string& port) { return port.ends_with('+'); }

// iptables' "wlan+" is nftables' "wlan*".
std::string NftName(const std::string& port) {
  return IsWildcard(port) ? port.substr(0, port.size() - 1) + "*" : port;
}

std::string FirstLine(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

BridgeProbe SystemBridgeProbe() {
  BridgeProbe probe;
  probe.read = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
  };
  probe.link_name = [](const std::string& path) -> std::optional<std::string> {
    char target[4096];
    const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n <= 0) return std::nullopt;
    const std::string text(target, static_cast<std::size_t>(n));
    const auto slash = text.rfind('/');
    return slash == std::string::npos ? text : text.substr(slash + 1);
  };
  probe.ifindex = [](const std::string& name) { return ::if_nametoindex(name.c_str()); };
  return probe;
}

std::vector<std::string> BridgePorts(const RulePlan& plan) {
  std::vector<std::string> ports;
  for (const RuleSelector& sel : plan.selectors) {
    if (sel.kind == RuleSelector::Kind::kInInterface &&
        std::find(ports.begin(), ports.end(), sel.value) == ports.end()) {
      ports.push_back(sel.value);
    }
  }
  return ports;
}

std::string RenderBridgeGuard(const RulePlan& plan, const std::string& prefix) {
  const std::string table = "table bridge " + NftablesTableName(prefix);
  std::string text = table + "\ndelete " + table + "\n" + table + " {\n\tchain forward {\n";
  // Before any other bridge filter (-200 is the family's filter priority).
  text += "\t\ttype filter hook forward priority -200; policy accept;\n";
  for (const std::string& port : BridgePorts(plan)) {
    for (const char* dir : {"iifname", "oifname"}) {
      text += std::string("\t\t") + dir + " \"" + NftName(port) +
              "\" ether type != { ip, ip6, arp } counter drop\n";
    }
  }
  return text + "\t}\n}\n";
}

Status IsValidInterfaceName(const std::string& name) {
  auto fail = [&](const char* text) {
    return Status::Error("interface name '" + name + "' " + text);
  };
  if (name.empty() || name.size() >= IFNAMSIZ) return fail("must be 1-15 characters long");
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '@' ||
                    (c == '+' && i + 1 == name.size());
    if (!ok) return fail("may hold only letters, digits, '-', '_', '.', '@' (and a final '+')");
  }
  if (name == "." || name == "..") return fail("is not an interface");
  return {};
}

BridgeNetfilter::BridgeNetfilter(std::string prefix, std::unique_ptr<CommandRunner> runner,
                                 BridgeProbe probe)
    : prefix_(std::move(prefix)), runner_(std::move(runner)), probe_(std::move(probe)) {}

Status BridgeNetfilter::Check(const RulePlan& plan, std::vector<std::string>* notes) {
  const std::string& bridge = plan.settings.bridge;
  const std::string prefix = "bridge mode: ";
  if (bridge.empty()) {
    return Status::Error(
        prefix + "no bridge named; set intercept.bridge to the bridge the tablet's port is in");
  }
  const std::string dir = kSysNet + bridge + "/";
  const unsigned index = probe_.ifindex(bridge);
  if (index == 0) {
    return Status::Error(prefix + "there is no interface " + bridge +
                         " in this network namespace; create the bridge (ip link add " + bridge +
                         " type bridge) or fix intercept.bridge");
  }
  // sysfs shows the namespace it was mounted in, which need not be ours.
  const auto sys_index = probe_.read(dir + "ifindex");
  if (!sys_index || *sys_index != std::to_string(index)) {
    return Status::Error(prefix + "/sys/class/net does not show this network namespace's " +
                         bridge + "; mount sysfs in this namespace (ip netns exec does)");
  }
  if (!probe_.read(dir + "bridge/" + kSwitches[0])) {
    return Status::Error(prefix + "interface " + bridge +
                         " is not a bridge; name the bridge in intercept.bridge");
  }
  if (!probe_.read(kProcBridge + "bridge-nf-call-iptables")) {
    return Status::Error(prefix +
                         "br_netfilter is not loaded, so bridged traffic never reaches the rules "
                         "(modprobe br_netfilter, and list it in /etc/modules-load.d)");
  }
  const std::vector<std::string> ports = BridgePorts(plan);
  if (ports.empty()) {
    return Status::Error(
        prefix +
        "no flight app names a bridge port in 'interfaces'; name the tablet's port(s) of " +
        bridge + " (the guard against non-IP frames needs them)");
  }
  for (const std::string& port : ports) {
    if (IsWildcard(port)) {
      std::string note = "bridge mode: ports matching '";
      note += port;
      note += "' are not checked to be ports of ";
      note += bridge;
      notes->push_back(std::move(note));
      continue;
    }
    const std::string dev = kSysNet + port;
    if (!probe_.read(dev + "/brport/port_no") || probe_.link_name(dev + "/master") != bridge) {
      std::string why = prefix;
      why += "interface " + port;
      why += " is not a port of bridge " + bridge;
      why += " (ip link set " + port;
      why += " master " + bridge;
      why += "), or name the tablet-side port of it in the flight app's interfaces";
      return Status::Error(std::move(why));
    }
  }
  CommandResult nft = runner_->Run({"nft", "--version"}, "");
  if (!nft.started) {
    return Status::Error(
        prefix + "nft is not installed (" + nft.failure +
        "); install the nftables package: it loads the bridge guard against non-IP frames");
  }
  CommandResult physdev = runner_->Run({"iptables", "-m", "physdev", "--help"}, "");
  if (physdev.out.find("physdev match options") == std::string::npos) {
    return Status::Error(prefix +
                         "iptables lacks the physdev match that names the tablet's bridge port " +
                         "(install a full iptables; the kernel needs xt_physdev)");
  }
  std::string joined;
  for (const std::string& port : ports) joined += (joined.empty() ? "" : ", ") + port;
  std::string note = prefix + "traffic bridged from " + joined + " on " + bridge;
  note += " is governed; fail-fast replies (RST, ICMP, DNS refusal) reach the tablet only if ";
  note += "this host has an address on " + bridge;
  note += " in the tablet's subnet; without one, refused packets are still dropped and the ";
  note += "app waits for its timeout";
  notes->push_back(std::move(note));
  return {};
}

Status BridgeNetfilter::SetSwitch(const std::string& bridge, const std::string& name, int value) {
  CommandResult set = runner_->Run(
      {"ip", "link", "set", "dev", bridge, "type", "bridge", name, std::to_string(value)}, "");
  if (!set.Ok())
    return Status::Error(set.Describe("ip link set dev " + bridge + " type bridge " + name));
  const auto now = probe_.read(kSysNet + bridge + "/bridge/" + name);
  if (now != std::to_string(value)) {
    return Status::Error("bridge " + bridge + ": " + name + " reads " + now.value_or("nothing") +
                         " after setting it to " + std::to_string(value));
  }
  return {};
}

Status BridgeNetfilter::Engage(const RulePlan& plan, std::vector<std::string>* notes) {
  const std::string& bridge = plan.settings.bridge;
  if (!engaged_bridge_.empty() && engaged_bridge_ != bridge) {
    Status released = Release();
    if (!released.ok()) return released;
  }
  CommandResult guard = runner_->Run({"nft", "-f", "-"}, RenderBridgeGuard(plan, prefix_));
  if (!guard.Ok()) {
    return Status::Error("bridge guard: " + guard.Describe("nft -f -") +
                         " (the kernel needs nf_tables bridge support, CONFIG_NF_TABLES_BRIDGE)");
  }
  guard_loaded_ = true;
  engaged_bridge_ = bridge;
  for (const char* name : kSwitches) {
    const std::string sysctl = "bridge-nf-call-" + std::string(name).substr(8);
    const auto was = probe_.read(kSysNet + bridge + "/bridge/" + name);
    if (was == "1") continue;
    const auto global = probe_.read(kProcBridge + sysctl);
    Status set = SetSwitch(bridge, name, 1);
    if (!set.ok()) return set;
    if (std::find(switches_turned_on_.begin(), switches_turned_on_.end(), name) ==
        switches_turned_on_.end()) {
      switches_turned_on_.push_back(name);
    }
    std::string note = "bridge " + bridge;
    note += std::string(": ") + name;
    note += " was " + was.value_or("unreadable");
    note += " (net.bridge." + sysctl;
    note += " is " + global.value_or("unreadable");
    note +=
        " in this namespace); flightwall set it to 1 so bridged traffic reaches the rules, and "
        "sets it back when it removes them";
    notes->push_back(std::move(note));
  }
  return {};
}

Status BridgeNetfilter::Reassert(std::vector<std::string>* notes) {
  if (engaged_bridge_.empty()) return {};
  for (const char* name : kSwitches) {
    if (probe_.read(kSysNet + engaged_bridge_ + "/bridge/" + name) == "1") continue;
    Status set = SetSwitch(engaged_bridge_, name, 1);
    if (!set.ok()) return set;
    if (std::find(switches_turned_on_.begin(), switches_turned_on_.end(), name) ==
        switches_turned_on_.end()) {
      switches_turned_on_.push_back(name);
    }
    std::string note = "bridge " + engaged_bridge_;
    note += std::string(": ") + name;
    note += " was turned off while enforcing; flightwall set it back to 1";
    notes->push_back(std::move(note));
  }
  return {};
}

Status BridgeNetfilter::Release() {
  Status first_error;
  for (const std::string& name : switches_turned_on_) {
    Status reset = SetSwitch(engaged_bridge_, name, 0);
    if (!reset.ok() && first_error.ok()) first_error = std::move(reset);
  }
  switches_turned_on_.clear();
  if (guard_loaded_) {
    Status removed = RemoveGuard();
    if (!removed.ok() && first_error.ok()) first_error = std::move(removed);
  }
  guard_loaded_ = false;
  engaged_bridge_.clear();
  return first_error;
}

Status BridgeNetfilter::RemoveGuard() {
  // Declaring the table first makes this succeed whether or not it exists.
  const std::string table = "table bridge " + NftablesTableName(prefix_);
  CommandResult result = runner_->Run({"nft", "-f", "-"}, table + "\ndelete " + table + "\n");
  if (!result.Ok()) return Status::Error("bridge guard: " + FirstLine(result.Describe("nft -f -")));
  return {};
}

}  // namespace flightwall
