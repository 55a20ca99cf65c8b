// NftablesBackend: the same rules as IptablesBackend, as one nftables table
// `table inet ${prefix lower-cased}` (both families at once), installed and
// removed with `nft -f -` in single transactions.
//
// Needs the kernel's nftables queue expression (nft_queue). Available()
// probes for it with a throwaway table in check mode (`nft -c`), and only if
// check mode accepts it confirms with a real table that hooks nothing (no
// packet can meet it), added and deleted in the current namespace. Not
// thread-safe; owns its CommandRunner.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "firewall/command_runner.h"
#include "firewall/rule_backend.h"

namespace flightwall {

// The nft script that replaces the table: "table inet t" + "delete table
// inet t" + the table's definition, so installing twice is one no-op swap.
std::string RenderNftablesScript(const RulePlan& plan, const std::string& prefix);
std::string NftablesTableName(const std::string& prefix);

class NftablesBackend : public FirewallBackend {
 public:
  NftablesBackend(std::string prefix, std::unique_ptr<CommandRunner> runner);
  std::string Name() const override { return "nftables"; }
  Status Available() override;
  std::string Render(const RulePlan& plan) const override;
  Status Install(const RulePlan& plan) override;
  Status Remove() override;

 private:
  std::string prefix_;
  std::unique_ptr<CommandRunner> runner_;
};

}  // namespace flightwall
