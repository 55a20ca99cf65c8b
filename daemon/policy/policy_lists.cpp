// The allow and catalog lists: both may pull in other files with
// `- include: path`, expanded in place so order (which matters for the
// catalog's first-match labels) is what the operator reads top to bottom.
#include <array>

#include "policy/did_you_mean.h"
#include "policy/policy_include.h"
#include "policy/policy_sections.h"

namespace flightwall {
namespace {

constexpr std::array<std::string_view, 7> kAllowRuleKeys = {
    "name", "hosts", "cidrs", "ports", "transports", "allow_without_name", "trust_ech_outer_name"};
constexpr std::array<std::string_view, 6> kCatalogKeys = {"name",   "vendor", "category",
                                                          "source", "note",   "hosts"};
constexpr std::array<std::string_view, 1> kIncludeKeys = {"include"};
constexpr std::array<std::string_view, 2> kTransportNames = {"tcp", "udp"};
constexpr std::size_t kMaxLabelBytes = 256;

bool IsIncludeEntry(const YAML::Node& item) {
  if (!item.IsMap()) return false;
  for (auto it = item.begin(); it != item.end(); ++it) {
    if (const YAML::Node key = it->first; key.IsScalar() && key.Scalar() == "include") return true;
  }
  return false;
}

std::vector<HostPattern> ParseHosts(YamlFile& file, const YAML::Node* node) {
  std::vector<HostPattern> hosts;
  if (node == nullptr) return hosts;
  for (const YAML::Node& item : file.List(*node, "'hosts'")) {
    auto text = file.String(item, "a host");
    if (!text) continue;
    if (Result<HostPattern> pattern = HostPattern::Parse(*text); pattern.ok()) {
      hosts.push_back(std::move(pattern).value());
    } else {
      file.Error(item, "bad host '" + *text + "': " + pattern.status().message());
    }
  }
  return hosts;
}

std::optional<std::string> ParseLabel(YamlFile& file, const YAML::Node* node,
                                      std::string_view what) {
  if (node == nullptr) return std::nullopt;
  auto text = file.String(*node, what);
  if (text && text->size() > kMaxLabelBytes) {
    file.Error(*node, std::string(what) + " is longer than " + std::to_string(kMaxLabelBytes) +
                          " bytes; shorten it");
    return std::nullopt;
  }
  return text;
}

// Categories group the report, so keep them to one spelling style.
bool IsCategory(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

void ParseAllowRule(YamlFile& file, const YAML::Node& item, std::vector<AllowRule>* rules) {
  MapReader map(file, item, kAllowRuleKeys, "an allow rule");
  AllowRule rule;
  auto name = ParseUniqueName(file, map, "allow rule", &file.State()->allow_names);
  rule.origin = file.Origin(item);
  const YAML::Node* hosts = map.Find("hosts");
  const YAML::Node* cidrs = map.Find("cidrs");
  rule.hosts = ParseHosts(file, hosts);
  if (cidrs != nullptr) {
    for (const YAML::Node& entry : file.List(*cidrs, "'cidrs'")) {
      auto text = file.String(entry, "a CIDR");
      if (!text) continue;
      if (const Result<Cidr> cidr = Cidr::Parse(*text); cidr.ok()) {
        rule.cidrs.push_back(*cidr);
      } else {
        file.Error(entry, "bad CIDR '" + *text + "': " + cidr.status().message());
      }
    }
  }
  if (hosts == nullptr && cidrs == nullptr) {
    file.Error(item, "an allow rule needs 'hosts' (names) or 'cidrs' (literal addresses)");
  } else if ((hosts == nullptr || hosts->IsNull() || (hosts->IsSequence() && hosts->size() == 0)) &&
             (cidrs == nullptr || cidrs->IsNull() || (cidrs->IsSequence() && cidrs->size() == 0))) {
    file.Error(item, "this allow rule's 'hosts' and 'cidrs' are empty, so it allows nothing");
  }
  if (const YAML::Node* ports = map.Find("ports")) {
    for (const YAML::Node& entry : file.List(*ports, "'ports'")) {
      if (auto range = ParsePortRange(file, entry, true)) rule.ports.push_back(*range);
    }
  }
  if (const YAML::Node* transports = map.Find("transports")) {
    for (const YAML::Node& entry : file.List(*transports, "'transports'")) {
      auto text = file.String(entry, "a transport");
      if (!text) continue;
      if (*text == "tcp") {
        rule.transports.push_back(Transport::kTcp);
      } else if (*text == "udp") {
        rule.transports.push_back(Transport::kUdp);
      } else {
        file.Error(entry, "unknown transport '" + *text + "'" + DidYouMean(*text, kTransportNames) +
                              "; use tcp or udp");
      }
    }
  }
  if (const YAML::Node* n = map.Find("allow_without_name")) {
    rule.allow_without_name = file.Bool(*n, "'allow_without_name'").value_or(false);
  }
  if (const YAML::Node* n = map.Find("trust_ech_outer_name")) {
    rule.trust_ech_outer_name = file.Bool(*n, "'trust_ech_outer_name'").value_or(false);
  }
  if (name) {
    rule.name = *name;
    rules->push_back(std::move(rule));
  }
}

void ParseCatalogEntry(YamlFile& file, const YAML::Node& item, std::vector<CatalogEntry>* entries) {
  MapReader map(file, item, kCatalogKeys, "a catalog entry");
  CatalogEntry entry;
  auto name = ParseUniqueName(file, map, "catalog entry", &file.State()->catalog_names);
  if (const YAML::Node* category = map.Require("category")) {
    auto text = file.String(*category, "'category'");
    if (text && !IsCategory(*text)) {
      file.Error(*category,
                 "category '" + *text +
                     "' must be lower-case letters, digits and '-', like \"flight-logs\"");
    } else if (text) {
      entry.category = *text;
    }
  }
  entry.vendor = ParseLabel(file, map.Find("vendor"), "'vendor'").value_or("");
  entry.source = ParseLabel(file, map.Find("source"), "'source'").value_or("");
  entry.note = ParseLabel(file, map.Find("note"), "'note'").value_or("");
  if (const YAML::Node* hosts = map.Require("hosts")) {
    entry.hosts = ParseHosts(file, hosts);
    if (hosts->IsNull() || (hosts->IsSequence() && hosts->size() == 0)) {
      file.Error(*hosts, "a catalog entry needs at least one host to label");
    }
  }
  if (name) {
    entry.name = *name;
    entries->push_back(std::move(entry));
  }
}

}  // namespace

void ParseAllowList(YamlFile& file, const YAML::Node& node, std::vector<AllowRule>* rules) {
  for (const YAML::Node& item : file.List(node, "'allow'")) {
    if (!file.IsMap(item, "an allow rule")) continue;
    if (IsIncludeEntry(item)) {
      MapReader map(file, item, kIncludeKeys, "an include entry");
      FollowInclude(file, *map.Find("include"), "allow",
                    [rules](YamlFile& included, const YAML::Node& list) {
                      ParseAllowList(included, list, rules);
                    });
      continue;
    }
    ParseAllowRule(file, item, rules);
  }
}

void ParseCatalogList(YamlFile& file, const YAML::Node& node, std::vector<CatalogEntry>* entries) {
  for (const YAML::Node& item : file.List(node, "'catalog'")) {
    if (!file.IsMap(item, "a catalog entry")) continue;
    if (IsIncludeEntry(item)) {
      MapReader map(file, item, kIncludeKeys, "an include entry");
      FollowInclude(file, *map.Find("include"), "catalog",
                    [entries](YamlFile& included, const YAML::Node& list) {
                      ParseCatalogList(included, list, entries);
                    });
      continue;
    }
    ParseCatalogEntry(file, item, entries);
  }
}

}  // namespace flightwall
