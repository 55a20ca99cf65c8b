// `flightwall run` and `flightwall rules`: the daemon and its interception
// rules, for operators who manage rules themselves (backend: none).
#include <iostream>

#include "cli/commands.h"
#include "common/status.h"
#include "firewall/bridge_netfilter.h"
#include "firewall/rule_backend.h"
#include "policy/policy_loader.h"
#include "service/daemon.h"
#include "service/daemon_config.h"

namespace flightwall {

int RunRun(const RunOptions& options) { return RunDaemon(options.config); }

int RunRules(const RulesOptions& options) {
  auto cfg = LoadDaemonConfig(options.config);
  if (!cfg.config) {
    for (const auto& e : cfg.errors) std::cerr << e.ToString() << "\n";
    return kExitUsage;
  }
  auto pol = LoadPolicy(cfg.config->policy_path);
  if (!pol.policy) {
    for (const auto& e : pol.errors) std::cerr << e.ToString() << "\n";
    return kExitUsage;
  }
  InterceptSettings settings = cfg.config->intercept;
  // --print shows the iptables rules also for backend: none (what to apply by hand).
  const BackendKind kind =
      settings.backend == BackendKind::kNone ? BackendKind::kIptables : settings.backend;
  auto backend = MakeFirewallBackend(options.action == "print" ? kind : settings.backend,
                                     settings.chain_prefix);
  const RulePlan plan = PlanRules(*pol.policy, settings);
  for (const auto& w : plan.warnings) std::cerr << "warning: " << w << "\n";
  const bool bridged = settings.mode == InterceptMode::kBridge;
  if (options.action == "print") {
    std::cout << backend->Render(plan);
    if (bridged) {
      std::cout << "# bridge " << settings.bridge
                << ": nf_call_iptables and nf_call_ip6tables on (ip link set dev "
                << settings.bridge << " type bridge nf_call_iptables 1 nf_call_ip6tables 1)\n"
                << "# guard against non-IP frames of the tablet ports: nft -f FILE\n"
                << RenderBridgeGuard(plan, settings.chain_prefix);
    }
    return kExitOk;
  }
  if (const Status available = backend->Available(); !available.ok()) {
    std::cerr << "flightwall rules: " << backend->Name()
              << " is not usable here: " << available.ToString() << "\n";
    return kExitUsage;
  }
  BridgeNetfilter bridge(settings.chain_prefix, MakeSystemCommandRunner(), SystemBridgeProbe());
  std::vector<std::string> notes;
  if (bridged && options.action == "install") {
    if (const Status checked = bridge.Check(plan, &notes); !checked.ok()) {
      std::cerr << "flightwall rules: " << checked.ToString() << "\n";
      return kExitUsage;
    }
  }
  Status done = options.action == "install" ? backend->Install(plan) : backend->Remove();
  // Installed switches stay on after this process; removal deletes the guard.
  if (done.ok() && bridged && settings.backend != BackendKind::kNone) {
    done = options.action == "install" ? bridge.Engage(plan, &notes) : bridge.RemoveGuard();
  }
  for (const auto& n : notes) std::cerr << "note: " << n << "\n";
  if (!done.ok()) {
    std::cerr << "flightwall rules: " << done.ToString() << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace flightwall
