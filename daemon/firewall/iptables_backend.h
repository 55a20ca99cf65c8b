// IptablesBackend: installs the rule plan with iptables-restore and
// ip6tables-restore (whichever flavour, legacy or nft, is on PATH) in the
// mangle table, as two chains: ${P} selects flight-app traffic and ${P}_APP
// decides what the kernel does with it (drop denied, accept allowed, queue
// the rest). Each family is replaced in one iptables-restore transaction;
// the two families are two transactions.
//
// The pure Render*/Parse* functions are exposed for tests and for
// `flightwall rules --print`. Not thread-safe; owns its CommandRunner.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "firewall/command_runner.h"
#include "firewall/rule_backend.h"

namespace flightwall {

// The rules of one family, in the order an iptables-restore script lists
// them: chain declarations (":P - [0:0]"), the chains' rules ("-A P ..."),
// then the jumps from the built-in chains ("-I FORWARD 1 -j P").
struct IptablesRuleSet {
  std::vector<std::string> chains;
  std::vector<std::string> rules;
  std::vector<std::string> jumps;
};
IptablesRuleSet BuildIptablesRules(const RulePlan& plan, const std::string& prefix, bool v6);

// "*mangle ... COMMIT" for iptables-restore --noflush, prefixed by `before`
// (deletions of a previous install's jumps).
std::string RenderIptablesScript(const IptablesRuleSet& rules,
                                 const std::vector<std::string>& before = {});

// From `iptables-save -t mangle` output: the "-D ..." lines deleting every
// rule outside our chains that jumps to them, and which of our chains exist.
struct IptablesInstalled {
  std::vector<std::string> jump_deletions;
  std::vector<std::string> chains;  // subset of {P, P_APP}, in that order
  bool Empty() const { return jump_deletions.empty() && chains.empty(); }
};
IptablesInstalled ParseIptablesSave(std::string_view save_text, const std::string& prefix);

class IptablesBackend : public FirewallBackend {
 public:
  IptablesBackend(std::string prefix, std::unique_ptr<CommandRunner> runner);
  std::string Name() const override { return "iptables"; }
  Status Available() override;
  std::string Render(const RulePlan& plan) const override;
  Status Install(const RulePlan& plan) override;
  Status Remove() override;

 private:
  // What of ours `iptables-save -t mangle` shows for one family.
  Result<IptablesInstalled> ReadInstalled(bool v6);
  // Runs `iptables-restore --noflush` (or ip6tables-) on `script`; the error
  // quotes the line the tool rejected.
  Status Restore(bool v6, const std::string& script);

  std::string prefix_;
  std::unique_ptr<CommandRunner> runner_;
};

}  // namespace flightwall
