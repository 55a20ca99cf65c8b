#include "policy/dns_rules.h"

#include <algorithm>

namespace flightwall {

bool IsAllowedResolver(const Policy& policy, const IpAddress& server) {
  return std::find(policy.dns.resolvers.begin(), policy.dns.resolvers.end(), server) !=
         policy.dns.resolvers.end();
}

bool IsDnsPort(const Policy& policy, std::uint16_t port) {
  return std::find(policy.dns.ports.begin(), policy.dns.ports.end(), port) !=
         policy.dns.ports.end();
}

bool CarriesDns(const Policy& policy, Transport transport, std::uint16_t server_port) {
  return IsDnsPort(policy, server_port) || server_port == 53 ||
         (transport == Transport::kUdp && server_port == 5353);
}

}  // namespace flightwall
