#include "policy/policy.h"

#include <algorithm>

namespace flightwall {

const char* PolicyModeName(PolicyMode mode) {
  switch (mode) {
    case PolicyMode::kEnforce:
      return "enforce";
    case PolicyMode::kAudit:
      return "audit";
    case PolicyMode::kLockdown:
      return "lockdown";
  }
  return "unknown";
}

bool AllowRule::AllowsPort(std::uint16_t port) const {
  if (ports.empty()) return true;
  return std::any_of(ports.begin(), ports.end(),
                     [port](const PortRange& range) { return range.Contains(port); });
}

bool AllowRule::AllowsTransport(Transport t) const {
  if (transports.empty()) return true;
  return std::find(transports.begin(), transports.end(), t) != transports.end();
}

}  // namespace flightwall
