// MakeFirewallBackend and the `none` backend (the operator manages rules).
#include "firewall/iptables_backend.h"
#include "firewall/nftables_backend.h"
#include "firewall/rule_backend.h"

namespace flightwall {
namespace {

// backend: none. The daemon touches no rules; Render() shows the iptables
// rules the operator is expected to apply, so `rules --print` still helps.
class NoneBackend : public FirewallBackend {
 public:
  explicit NoneBackend(std::string prefix) : rules_(std::move(prefix), nullptr) {}
  std::string Name() const override { return "none"; }
  Status Available() override { return {}; }
  std::string Render(const RulePlan& plan) const override {
    return "# backend: none: flightwall installs nothing; apply rules like these yourself\n" +
           rules_.Render(plan);
  }
  Status Install(const RulePlan& /*plan*/) override { return {}; }
  Status Remove() override { return {}; }

 private:
  IptablesBackend rules_;  // used only to render; never runs a command
};

}  // namespace

std::unique_ptr<FirewallBackend> MakeFirewallBackend(BackendKind kind,
                                                     const std::string& chain_prefix) {
  switch (kind) {
    case BackendKind::kIptables:
      return std::make_unique<IptablesBackend>(chain_prefix, MakeSystemCommandRunner());
    case BackendKind::kNftables:
      return std::make_unique<NftablesBackend>(chain_prefix, MakeSystemCommandRunner());
    case BackendKind::kNone:
      return std::make_unique<NoneBackend>(chain_prefix);
  }
  return nullptr;
}

const char* BackendKindName(BackendKind kind) {
  switch (kind) {
    case BackendKind::kIptables:
      return "iptables";
    case BackendKind::kNftables:
      return "nftables";
    case BackendKind::kNone:
      return "none";
  }
  return "unknown";
}

}  // namespace flightwall
