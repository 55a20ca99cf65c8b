// DescribePolicy: the text `flightwall check` prints. One fact a line,
// "key: value", in a fixed order with normalized values (lower-case hosts,
// canonical CIDRs, "any" for no port limit), so two loads of the same policy
// print the same bytes and a diff between versions reads line by line.
#include <map>
#include <string>

#include "policy/policy_loader.h"

namespace flightwall {
namespace {

template <typename T, typename Format>
std::string Join(const std::vector<T>& items, Format format) {
  std::string out;
  for (const T& item : items) {
    if (!out.empty()) out += ',';
    out += format(item);
  }
  return out;
}

std::string Same(const std::string& s) { return s; }

std::string PortText(const PortRange& range) {
  if (range.first == range.last) return std::to_string(range.first);
  return std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::string TransportText(Transport t) { return t == Transport::kTcp ? "tcp" : "udp"; }

void AppendSelector(std::string* line, const char* key, const std::string& values) {
  if (!values.empty()) *line += std::string(" ") + key + "=" + values;
}

std::string DescribeFlightApp(const FlightApp& app) {
  std::string line = "flight-app: " + app.name;
  AppendSelector(&line, "interfaces", Join(app.interfaces, Same));
  AppendSelector(&line, "sources", Join(app.sources, [](const Cidr& c) { return c.ToString(); }));
  AppendSelector(&line, "users", Join(app.users, Same));
  AppendSelector(&line, "cgroups", Join(app.cgroups, Same));
  return line + "\n";
}

std::string DescribeRule(const AllowRule& rule) {
  std::string line = "allow: " + rule.name;
  AppendSelector(&line, "hosts", Join(rule.hosts, [](const HostPattern& h) { return h.Text(); }));
  AppendSelector(&line, "cidrs", Join(rule.cidrs, [](const Cidr& c) { return c.ToString(); }));
  line += " ports=" + (rule.ports.empty() ? std::string("any") : Join(rule.ports, PortText));
  line += " transports=" +
          (rule.transports.empty() ? std::string("tcp,udp") : Join(rule.transports, TransportText));
  if (rule.allow_without_name) line += " allow_without_name=true";
  if (rule.trust_ech_outer_name) line += " trust_ech_outer_name=true";
  return line + " origin=" + rule.origin + "\n";
}

}  // namespace

std::string DescribePolicy(const Policy& policy) {
  std::string out;
  out += "policy: " + policy.name + "\n";
  out += "version: " + std::to_string(policy.version) + "\n";
  out += std::string("mode: ") + PolicyModeName(policy.mode) + "\n";
  out += "sha256: " + policy.sha256 + "\n";
  for (const std::string& file : policy.included_files) out += "file: " + file + "\n";
  for (const FlightApp& app : policy.flight_apps) out += DescribeFlightApp(app);
  out += "dns-resolvers: " +
         Join(policy.dns.resolvers, [](const IpAddress& a) { return a.ToString(); }) + "\n";
  out += "dns-ports: " + Join(policy.dns.ports, [](std::uint16_t p) { return std::to_string(p); }) +
         "\n";
  out += "dns-ttl-grace-seconds: " + std::to_string(policy.dns.ttl_grace_seconds) + "\n";
  out += "dns-min-ttl-seconds: " + std::to_string(policy.dns.min_ttl_seconds) + "\n";
  out += std::string("icmp-echo-to-allowed-hosts: ") +
         (policy.icmp_echo_to_allowed_hosts ? "yes" : "no") + "\n";
  for (const AllowRule& rule : policy.allow) out += DescribeRule(rule);
  out += "catalog-entries: " + std::to_string(policy.catalog.size()) + "\n";
  std::map<std::string, std::size_t> by_category;  // sorted: stable output
  for (const CatalogEntry& entry : policy.catalog) ++by_category[entry.category];
  for (const auto& [category, count] : by_category) {
    out += "catalog-category: " + category + " " + std::to_string(count) + "\n";
  }
  out +=
      "note: interfaces, users and cgroups select traffic only in the daemon; "
      "`flightwall audit` of a capture selects flight-app traffic by sources alone\n";
  for (const FlightApp& app : policy.flight_apps) {
    if (app.sources.empty()) {
      out += "note: flight app '" + app.name +
             "' has no sources, so `flightwall audit` of a capture cannot see its traffic\n";
    }
  }
  return out;
}

}  // namespace flightwall
