// firewall_probe: drives the firewall backends for
// tests/integration/firewall_backend_test.sh until `flightwall rules` exists.
// Run it inside a network namespace you created: --install and --remove
// change the ruleset of the namespace the process runs in.
//
//   firewall_probe --policy FILE [--mode forward|output] [--queue N|A-B]
//                  [--backend iptables|nftables|none] [--prefix P]
//                  [--fail-open] [--every-packet]
//                  --print | --install | --remove | --available | --warnings
//                  | --expect-listing v4|v6
//
// --expect-listing prints what `iptables -t mangle -S` (or ip6tables) must
// show for the plan's chains and jumps, in that command's order.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "firewall/iptables_backend.h"
#include "firewall/rule_backend.h"
#include "policy/policy_loader.h"

namespace flightwall {
namespace {

int Usage(const std::string& why) {
  std::cerr << "firewall_probe: " << why << "\n";
  return 2;
}

// -S lists "-N" lines, then built-in chains' rules in hook order, then the
// user chains' rules; inserted jumps show as "-A".
void PrintExpectedListing(const RulePlan& plan, const std::string& prefix, bool v6) {
  const IptablesRuleSet set = BuildIptablesRules(plan, prefix, v6);
  for (const std::string& chain : set.chains) {
    std::cout << "-N " << chain.substr(1, chain.find(' ') - 1) << "\n";
  }
  for (const char* builtin : {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}) {
    const std::string head = std::string("-I ") + builtin + " 1 ";
    for (const std::string& jump : set.jumps) {
      if (jump.starts_with(head)) {
        std::cout << "-A " << builtin << " " << jump.substr(head.size()) << "\n";
      }
    }
  }
  for (const std::string& rule : set.rules) std::cout << rule << "\n";
}

int Main(const std::vector<std::string>& args) {
  InterceptSettings settings;
  std::string policy_path, action, listing_family;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (a == "--policy") {
      policy_path = value();
    } else if (a == "--mode") {
      const std::string m = value();
      if (m != "forward" && m != "output") return Usage("--mode is forward or output");
      settings.mode = m == "forward" ? InterceptMode::kForward : InterceptMode::kOutput;
    } else if (a == "--queue") {
      const std::string q = value();
      const auto dash = q.find('-');
      try {
        settings.queue_first = static_cast<std::uint16_t>(std::stoul(q.substr(0, dash)));
        settings.queue_last = dash == std::string::npos
                                  ? settings.queue_first
                                  : static_cast<std::uint16_t>(std::stoul(q.substr(dash + 1)));
      } catch (...) {
        return Usage("--queue is N or A-B");
      }
    } else if (a == "--backend") {
      const std::string b = value();
      if (b == "iptables") {
        settings.backend = BackendKind::kIptables;
      } else if (b == "nftables") {
        settings.backend = BackendKind::kNftables;
      } else if (b == "none") {
        settings.backend = BackendKind::kNone;
      } else {
        return Usage("--backend is iptables, nftables or none");
      }
    } else if (a == "--prefix") {
      settings.chain_prefix = value();
    } else if (a == "--fail-open") {
      settings.fail_open = true;
    } else if (a == "--every-packet") {
      settings.every_packet = true;
    } else if (a == "--expect-listing") {
      action = a;
      listing_family = value();
    } else if (a == "--print" || a == "--install" || a == "--remove" || a == "--available" ||
               a == "--warnings") {
      action = a;
    } else {
      return Usage("unknown argument " + a);
    }
  }
  if (action.empty()) return Usage("give one of --print --install --remove --available");

  auto backend = MakeFirewallBackend(settings.backend, settings.chain_prefix);
  if (action == "--remove") {
    if (const Status removed = backend->Remove(); !removed.ok()) {
      std::cerr << "remove failed: " << removed.ToString() << "\n";
      return 1;
    }
    return 0;
  }
  if (action == "--available") {
    if (const Status available = backend->Available(); !available.ok()) {
      std::cout << backend->Name() << " unavailable: " << available.ToString() << "\n";
      return 1;
    }
    std::cout << backend->Name() << " available\n";
    return 0;
  }

  if (policy_path.empty()) return Usage("--policy FILE is needed");
  PolicyLoadResult loaded = LoadPolicy(policy_path);
  if (!loaded.policy) {
    for (const PolicyError& e : loaded.errors) std::cerr << e.ToString() << "\n";
    return 1;
  }
  const RulePlan plan = PlanRules(*loaded.policy, settings);
  if (action == "--warnings") {
    for (const std::string& w : plan.warnings) std::cout << w << "\n";
    return 0;
  }
  if (action == "--print") {
    std::cout << backend->Render(plan);
    return 0;
  }
  if (action == "--expect-listing") {
    if (listing_family != "v4" && listing_family != "v6") return Usage("v4 or v6");
    PrintExpectedListing(plan, settings.chain_prefix, listing_family == "v6");
    return 0;
  }
  if (const Status installed = backend->Install(plan); !installed.ok()) {
    std::cerr << "install failed: " << installed.ToString() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace flightwall

int main(int argc, char** argv) {
  return flightwall::Main(std::vector<std::string>(argv + 1, argv + argc));
}
