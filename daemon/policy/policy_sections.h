// Parsers for the sections of a policy file (flight_apps, dns, allow, icmp,
// catalog). Each reads a yaml-cpp node, appends what is valid to the
// Policy being built and reports everything else as a PolicyError; none
// throws. Internal to daemon/policy; not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/policy.h"
#include "policy/yaml_helpers.h"

namespace flightwall {

void ParseFlightApps(YamlFile& file, const YAML::Node& node, std::vector<FlightApp>* apps);
void ParseDns(YamlFile& file, const YAML::Node& node, DnsPolicy* dns);
void ParseIcmp(YamlFile& file, const YAML::Node& node, bool* echo_to_allowed_hosts);
// Both follow `- include: path` entries, depth first, in place.
void ParseAllowList(YamlFile& file, const YAML::Node& node, std::vector<AllowRule>* rules);
void ParseCatalogList(YamlFile& file, const YAML::Node& node, std::vector<CatalogEntry>* entries);

// Shared by the parsers above.
// A port (1-65535) or, when ranges are allowed, "first-last".
std::optional<PortRange> ParsePortRange(YamlFile& file, const YAML::Node& node, bool allow_range);
// Reads a required, unique name; reports a duplicate with where the first
// one was defined. `kind` is e.g. "allow rule".
std::optional<std::string> ParseUniqueName(YamlFile& file, MapReader& map, std::string_view kind,
                                           std::unordered_map<std::string, std::string>* names);

}  // namespace flightwall
