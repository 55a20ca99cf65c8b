#include <iostream>

#include "cli/commands.h"
#include "policy/policy_loader.h"
#include "service/daemon_config.h"

namespace flightwall {
namespace {

std::string Mebibytes(std::uint64_t bytes) {
  const std::uint64_t tenths = (bytes * 10 + (1u << 19)) >> 20;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

void DescribeLimits(const DaemonConfig& c) {
  const EngineLimits& l = c.limits;
  std::cout << "limits: flows=" << l.max_flows << " named_addresses=" << l.max_named_addresses
            << " pending_dns=" << l.max_pending_dns << " stream_buffers=" << l.stream_buffers
            << " stream_buffer_bytes=" << l.stream_buffer_bytes
            << " quic_parsers=" << l.quic_parsers
            << " dns_tcp_reassemblers=" << l.dns_tcp_reassemblers
            << " held_packets=" << c.max_held_packets << " event_queue=" << c.event_queue << "\n";
  std::cout << "memory bound: " << Mebibytes(MemoryBound(c))
            << " (tables and inspection pools when full; a flow that finds no room is denied)\n";
}

}  // namespace

int RunCheck(const CheckOptions& options) {
  std::string policy_path = options.policy;
  std::optional<DaemonConfig> config;
  if (!options.config.empty()) {
    DaemonConfigResult c = LoadDaemonConfig(options.config);
    if (!c.config) {
      for (const auto& e : c.errors) std::cerr << e.ToString() << "\n";
      std::cerr << c.errors.size() << " error(s); the config was not loaded\n";
      return kExitUsage;
    }
    config = std::move(c.config);
    policy_path = config->policy_path;
  }
  const PolicyLoadResult r = LoadPolicy(policy_path);
  if (!r.policy) {
    for (const auto& e : r.errors) std::cerr << e.ToString() << "\n";
    std::cerr << r.errors.size() << " error(s); the policy was not loaded\n";
    return kExitUsage;
  }
  std::cout << DescribePolicy(*r.policy);
  if (config) DescribeLimits(*config);
  return kExitOk;
}

}  // namespace flightwall
