// Base chains hook at priority mangle (-150) for the same reason the
// iptables backend uses the mangle table (see iptables_backend.cpp); in
// nftables an accept ends only this table's base chain anyway, so the
// operator's own tables still see every packet we pass.
#include "firewall/nftables_backend.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>

namespace flightwall {
namespace {

// nftables cannot match a bridged packet's port in the ip/inet families
// (iifname is the bridge), and its bridge family would need the queue
// expression this backend already depends on; iptables' physdev can.
constexpr const char* kNoBridgeMode =
    "intercept mode bridge needs backend: iptables (its physdev match names the tablet's bridge "
    "port; nftables' inet family sees only the bridge)";
constexpr const char* kMissingQueue =
    "this kernel lacks nftables' queue expression (nft_queue); use backend: iptables";

std::string Hex(std::uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08x", value);
  return buffer;
}

std::string CtMarkIs(std::uint32_t value, std::uint32_t mask) {
  return "ct mark & " + Hex(mask) + " == " + Hex(value);
}

std::string QueueStatement(const InterceptSettings& s) {
  std::string statement = s.fail_open ? "queue flags bypass to " : "queue to ";
  statement += std::to_string(s.queue_first);
  if (s.queue_last > s.queue_first) statement += "-" + std::to_string(s.queue_last);
  return statement;
}

// iptables' interface wildcard "wlan+" is "wlan*" in nftables.
std::string InterfaceName(const std::string& name) {
  if (name.ends_with('+')) return name.substr(0, name.size() - 1) + "*";
  return name;
}

// "/system.slice/app.service" -> level 2, "system.slice/app.service".
std::string CgroupMatch(const std::string& path) {
  std::string relative = path;
  while (relative.starts_with('/')) relative.erase(0, 1);
  int level = relative.empty() ? 0 : 1;
  for (char c : relative) level += c == '/' ? 1 : 0;
  return "socket cgroupv2 level " + std::to_string(level) + " \"" + relative + "\"";
}

// Interfaces and sources select in forward mode, uids and cgroups in output.
bool SelectsIn(const RuleSelector& sel, bool output) {
  const bool output_kind =
      sel.kind == RuleSelector::Kind::kUid || sel.kind == RuleSelector::Kind::kCgroup;
  return output == output_kind;
}

std::string PortSet(const std::vector<std::uint16_t>& ports) {
  std::string set = "{ ";
  for (std::size_t i = 0; i < ports.size(); ++i) {
    set += (i == 0 ? "" : ", ") + std::to_string(ports[i]);
  }
  return set + " }";
}

// A table that hooks nothing: loading it (for real or in check mode) can
// never touch a packet.
std::string ProbeScript(const std::string& table, bool with_queue) {
  return "table inet " + table + " {\n\tchain probe {\n\t\t" +
         (with_queue ? "queue to 0" : "counter") + "\n\t}\n}\n";
}

std::string FirstLine(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

std::string NftablesTableName(const std::string& prefix) {
  std::string name = prefix;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string RenderNftablesScript(const RulePlan& plan, const std::string& prefix) {
  const InterceptSettings& s = plan.settings;
  const bool output = s.mode == InterceptMode::kOutput;
  const std::string table = "table inet " + NftablesTableName(prefix);
  std::string text = table + "\ndelete " + table + "\n" + table + " {\n";
  auto line = [&](const std::string& rule) { text += "\t\t" + rule + "\n"; };

  text += "\tchain app {\n";
  // Repeat-mark verdicts (see iptables_backend.cpp).
  for (const auto& [bits, verdict] :
       {std::pair{kConnmarkAllowed, " accept"}, std::pair{kConnmarkDenied, " drop"},
        std::pair{kConnmarkRequests, " accept"}, std::pair{kConnmarkInspect, " accept"}}) {
    line("meta mark & " + Hex(kConnmarkVerdictMask) + " == " + Hex(bits) +
         " ct mark set ct mark & " + Hex(~kConnmarkVerdictMask) + " | " + Hex(bits) + verdict);
  }
  line("ct mark set ct mark | " + Hex(kConnmarkGoverned));
  // The queued packet carries its connection's app, replies included (one
  // rule per app: copying bits between marks needs a newer kernel).
  line("meta mark set meta mark & " + Hex(~kMarkAppMask));
  std::vector<int> apps;
  for (const RuleSelector& sel : plan.selectors) {
    if (SelectsIn(sel, output) && std::find(apps.begin(), apps.end(), sel.app) == apps.end()) {
      apps.push_back(sel.app);
    }
  }
  for (int index : apps) {
    line(CtMarkIs(AppMark(index), kMarkAppMask) + " meta mark set meta mark | " +
         Hex(AppMark(index)));
  }
  line(CtMarkIs(kConnmarkDenied, kConnmarkVerdictMask) + " drop");
  const std::string queue = QueueStatement(s);
  if (!s.every_packet) {
    if (!plan.dns_ports.empty()) {
      line("meta l4proto { tcp, udp } th sport " + PortSet(plan.dns_ports) + " " + queue);
      line("meta l4proto { tcp, udp } th dport " + PortSet(plan.dns_ports) + " " + queue);
    }
    line(CtMarkIs(kConnmarkRequests, kConnmarkVerdictMask) + " ct direction reply meta length " +
         std::to_string(kReplyBypassMinLength) + "-65535 accept");
    line(CtMarkIs(kConnmarkAllowed, kConnmarkVerdictMask) + " accept");
  }
  line(queue);
  text += "\t}\n\tchain select {\n";
  if (output)
    line("meta mark & " + Hex(kPacketMarkInjected) + " == " + Hex(kPacketMarkInjected) + " return");
  for (const RuleSelector& sel : plan.selectors) {
    if (!SelectsIn(sel, output)) continue;
    // Each selector names its app on the connection, then hands the packet on.
    const std::string name_app = " ct mark set ct mark & " + Hex(~kMarkAppMask) + " | " +
                                 Hex(AppMark(sel.app)) + " jump app";
    switch (sel.kind) {
      case RuleSelector::Kind::kInInterface:
        line("iifname \"" + InterfaceName(sel.value) + "\"" + name_app);
        break;
      case RuleSelector::Kind::kSource:
        line(std::string(sel.v6 ? "ip6" : "ip") + " saddr " + sel.value + name_app);
        break;
      case RuleSelector::Kind::kUid:
        line("meta skuid " + sel.value + name_app);
        break;
      case RuleSelector::Kind::kCgroup:
        line(CgroupMatch(sel.value) + name_app);
        break;
    }
  }
  const std::string governed = CtMarkIs(kConnmarkGoverned, kConnmarkGoverned);
  line(governed + " jump app");
  text += "\t}\n";
  auto base = [&](const char* name, const std::string& rule) {
    text += std::string("\tchain ") + name + " {\n";
    line(std::string("type filter hook ") + name + " priority mangle; policy accept;");
    line(rule);
    text += "\t}\n";
  };
  if (output) {
    base("output", "jump select");
    base("input", "iifname != \"lo\" " + governed + " jump app");
  } else {
    base("forward", "jump select");
  }
  return text + "}\n";
}

NftablesBackend::NftablesBackend(std::string prefix, std::unique_ptr<CommandRunner> runner)
    : prefix_(std::move(prefix)), runner_(std::move(runner)) {}

Status NftablesBackend::Available() {
  CommandResult version = runner_->Run({"nft", "--version"}, "");
  if (!version.started) {
    return Status::Error("nft is not installed (" + version.failure +
                         "); install the nftables package or use backend: iptables");
  }
  const std::string probe = NftablesTableName(prefix_) + "_probe";
  CommandResult plain = runner_->Run({"nft", "-c", "-f", "-"}, ProbeScript(probe, false));
  if (!plain.Ok()) {
    return Status::Error("nftables is not usable here: " + plain.Describe("nft -c") +
                         " (run as root, or with CAP_NET_ADMIN; or use backend: iptables)");
  }
  CommandResult queue = runner_->Run({"nft", "-c", "-f", "-"}, ProbeScript(probe, true));
  if (!queue.Ok()) {
    return Status::Error(std::string(kMissingQueue) + " (nft -c: " + FirstLine(queue.err) + ")");
  }
  // Check mode reaches the kernel in current nft versions, but not in all;
  // confirm by loading the hook-less probe table for real, then delete it.
  CommandResult load = runner_->Run({"nft", "-f", "-"}, ProbeScript(probe, true));
  runner_->Run({"nft", "-f", "-"}, "table inet " + probe + "\ndelete table inet " + probe + "\n");
  if (!load.Ok()) {
    return Status::Error(std::string(kMissingQueue) + " (nft: " + FirstLine(load.err) + ")");
  }
  return {};
}

std::string NftablesBackend::Render(const RulePlan& plan) const {
  if (plan.settings.mode == InterceptMode::kBridge) return std::string("# ") + kNoBridgeMode + "\n";
  return "# nft -f FILE\n" + RenderNftablesScript(plan, prefix_);
}

Status NftablesBackend::Install(const RulePlan& plan) {
  if (Status valid = IsValidChainPrefix(prefix_); !valid.ok()) return valid;
  if (plan.settings.mode == InterceptMode::kBridge) {
    return Status::Error(kNoBridgeMode);
  }
  CommandResult result = runner_->Run({"nft", "-f", "-"}, RenderNftablesScript(plan, prefix_));
  if (!result.Ok()) {
    return Status::Error(result.Describe("nft -f -"));
  }
  return {};
}

Status NftablesBackend::Remove() {
  if (Status valid = IsValidChainPrefix(prefix_); !valid.ok()) return valid;
  // Declaring the table before deleting it makes removal one transaction
  // that succeeds whether or not the table exists.
  const std::string table = "table inet " + NftablesTableName(prefix_);
  CommandResult result = runner_->Run({"nft", "-f", "-"}, table + "\ndelete " + table + "\n");
  if (!result.Ok()) {
    return Status::Error(result.Describe("nft -f -"));
  }
  return {};
}

}  // namespace flightwall
