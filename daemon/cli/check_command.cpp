#include <iostream>

#include "cli/commands.h"
#include "policy/policy_loader.h"

namespace flightwall {

int RunCheck(const CheckOptions& options) {
  const PolicyLoadResult r = LoadPolicy(options.policy);
  if (!r.policy) {
    for (const auto& e : r.errors) std::cerr << e.ToString() << "\n";
    std::cerr << r.errors.size() << " error(s); the policy was not loaded\n";
    return kExitUsage;
  }
  std::cout << DescribePolicy(*r.policy);
  return kExitOk;
}

}  // namespace flightwall
