#include "policy/policy_sections.h"

#include <array>
#include <charconv>

namespace flightwall {
namespace {

constexpr std::array<std::string_view, 5> kFlightAppKeys = {"name", "interfaces", "sources",
                                                            "users", "cgroups"};
constexpr std::array<std::string_view, 5> kDnsKeys = {"resolvers", "ports", "ttl_grace_seconds",
                                                      "min_ttl_seconds", "confirm_revealed_names"};
constexpr std::array<std::string_view, 1> kIcmpKeys = {"echo_to_allowed_hosts"};
constexpr std::uint32_t kMaxTtlSeconds = 86400;
constexpr std::size_t kMaxNameBytes = 128;

bool IsPrintableWord(std::string_view text) {
  for (char c : text) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// Linux interface names: at most 15 bytes, no '/' or whitespace. A trailing
// '+' is the iptables wildcard ("wlan+").
bool IsInterfaceName(std::string_view name) {
  return !name.empty() && name.size() <= 15 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && IsPrintableWord(name);
}

bool IsDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// POSIX-portable user names (as useradd accepts them) or a numeric uid.
bool IsUserOrUid(std::string_view text) {
  if (text.empty() || text.size() > 32) return false;
  if (IsDigits(text)) return true;
  if (!((text[0] >= 'a' && text[0] <= 'z') || text[0] == '_')) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || (c == '$' && i + 1 == text.size());
    if (!ok) return false;
  }
  return true;
}

std::optional<std::uint16_t> ParsePortNumber(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 1 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

void ParseStrings(YamlFile& file, const YAML::Node* node, std::string_view what,
                  bool (*valid)(std::string_view), std::string_view hint,
                  std::vector<std::string>* out) {
  if (node == nullptr) return;
  for (const YAML::Node& item : file.List(*node, what)) {
    auto text = file.String(item, std::string(what) + " entry");
    if (!text) continue;
    if (!valid(*text)) {
      file.Error(item, "'" + *text + "' in " + std::string(what) + " " + std::string(hint));
      continue;
    }
    out->push_back(*text);
  }
}

}  // namespace

std::optional<PortRange> ParsePortRange(YamlFile& file, const YAML::Node& node, bool allow_range) {
  auto text = file.String(node, "a port");
  if (!text) return std::nullopt;
  const std::size_t dash = allow_range ? text->find('-') : std::string::npos;
  if (dash == std::string::npos) {
    if (auto port = ParsePortNumber(*text)) return PortRange{*port, *port};
  } else {
    auto first = ParsePortNumber(std::string_view(*text).substr(0, dash));
    auto last = ParsePortNumber(std::string_view(*text).substr(dash + 1));
    if (first && last && *first <= *last) return PortRange{*first, *last};
    if (first && last) {
      file.Error(node, "port range '" + *text + "' runs backwards; write the lower port first");
      return std::nullopt;
    }
  }
  file.Error(node, "'" + *text + "' is not a port: use a number from 1 to 65535" +
                       std::string(allow_range ? " or a range like \"8000-8100\"" : ""));
  return std::nullopt;
}

std::optional<std::string> ParseUniqueName(YamlFile& file, MapReader& map, std::string_view kind,
                                           std::unordered_map<std::string, std::string>* names) {
  const YAML::Node* node = map.Require("name");
  if (node == nullptr) return std::nullopt;
  auto name = file.String(*node, "'name'");
  if (!name) return std::nullopt;
  if (name->size() > kMaxNameBytes || !IsPrintableWord(*name)) {
    file.Error(*node, "'name' must be one word of printable characters, at most " +
                          std::to_string(kMaxNameBytes) + " bytes, like \"mapbox-tiles\"");
    return std::nullopt;
  }
  auto [it, inserted] = names->emplace(*name, file.Origin(*node));
  if (!inserted) {
    file.Error(*node, "duplicate " + std::string(kind) + " name '" + *name +
                          "' (first defined at " + it->second + "); give each a different name");
    return std::nullopt;
  }
  return name;
}

void ParseFlightApps(YamlFile& file, const YAML::Node& node, std::vector<FlightApp>* apps) {
  const auto items = file.List(node, "'flight_apps'");
  if (items.empty() && (node.IsSequence() || node.IsNull())) {
    file.Error(node, "'flight_apps' needs at least one entry: the traffic this policy governs");
  }
  bool too_many = false;
  for (const YAML::Node& item : items) {
    if (!file.IsMap(item, "a flight app")) continue;
    MapReader map(file, item, kFlightAppKeys, "a flight app");
    FlightApp app;
    auto name = ParseUniqueName(file, map, "flight app", &file.State()->flight_app_names);
    ParseStrings(file, map.Find("interfaces"), "'interfaces'", IsInterfaceName,
                 "is not a network interface name (at most 15 characters, no '/' or spaces)",
                 &app.interfaces);
    ParseStrings(file, map.Find("users"), "'users'", IsUserOrUid,
                 "is not a user name or numeric uid", &app.users);
    ParseStrings(
        file, map.Find("cgroups"), "'cgroups'",
        [](std::string_view t) { return t.starts_with('/') && IsPrintableWord(t); },
        "is not a cgroup path; write it from the cgroup root, like \"/system.slice/app.service\"",
        &app.cgroups);
    if (const YAML::Node* sources = map.Find("sources")) {
      for (const YAML::Node& source : file.List(*sources, "'sources'")) {
        auto text = file.String(source, "a source");
        if (!text) continue;
        if (const Result<Cidr> cidr = Cidr::Parse(*text); cidr.ok()) {
          app.sources.push_back(*cidr);
        } else {
          file.Error(source, "bad source '" + *text + "': " + cidr.status().message());
        }
      }
    }
    const bool has_selector =
        map.Find("interfaces") || map.Find("sources") || map.Find("users") || map.Find("cgroups");
    if (!has_selector) {
      file.Error(item,
                 "a flight app needs at least one selector: interfaces, sources, users or cgroups");
    } else if (app.interfaces.empty() && app.sources.empty() && app.users.empty() &&
               app.cgroups.empty()) {
      file.Error(item, "this flight app's selectors are all empty, so it selects no traffic");
    }
    if (!name) continue;
    if (apps->size() >= static_cast<std::size_t>(kMaxFlightApps)) {
      if (!too_many) {  // once, at the first app beyond the limit
        file.Error(item, "more than " + std::to_string(kMaxFlightApps) +
                             " flight apps (the daemon's rules name the app in 8 bits of the "
                             "packet mark); merge apps that share selectors into one");
      }
      too_many = true;
      continue;
    }
    app.name = *name;
    apps->push_back(std::move(app));
  }
}

void ParseDns(YamlFile& file, const YAML::Node& node, DnsPolicy* dns) {
  if (!file.IsMap(node, "'dns'")) return;
  MapReader map(file, node, kDnsKeys, "'dns'");
  if (const YAML::Node* resolvers = map.Require("resolvers")) {
    const auto items = file.List(*resolvers, "'resolvers'");
    if (items.empty() && resolvers->IsSequence()) {
      file.Error(*resolvers, "'resolvers' needs at least one DNS server address");
    } else if (items.empty() && resolvers->IsNull()) {
      file.Error(*resolvers, "'resolvers' is empty: list the DNS servers flight apps may use");
    }
    for (const YAML::Node& item : items) {
      auto text = file.String(item, "a resolver");
      if (!text) continue;
      if (auto address = IpAddress::Parse(*text)) {
        dns->resolvers.push_back(*address);
      } else {
        file.Error(item, "resolver '" + *text + "' is not an IP address; write the address " +
                             "(a name would itself need DNS)");
      }
    }
  }
  if (const YAML::Node* ports = map.Find("ports")) {
    dns->ports.clear();
    for (const YAML::Node& item : file.List(*ports, "'ports'")) {
      if (auto port = ParsePortRange(file, item, false)) dns->ports.push_back(port->first);
    }
    if (ports->IsNull() || (ports->IsSequence() && ports->size() == 0)) {
      file.Error(*ports, "'ports' under 'dns' needs at least one port (or leave it out for 53)");
    }
  }
  if (const YAML::Node* grace = map.Find("ttl_grace_seconds")) {
    if (auto v = file.Unsigned(*grace, "'ttl_grace_seconds'", kMaxTtlSeconds)) {
      dns->ttl_grace_seconds = static_cast<std::uint32_t>(*v);
    }
  }
  if (const YAML::Node* min_ttl = map.Find("min_ttl_seconds")) {
    if (auto v = file.Unsigned(*min_ttl, "'min_ttl_seconds'", kMaxTtlSeconds)) {
      dns->min_ttl_seconds = static_cast<std::uint32_t>(*v);
    }
  }
  if (const YAML::Node* confirm = map.Find("confirm_revealed_names")) {
    if (auto v = file.Bool(*confirm, "'confirm_revealed_names'")) dns->confirm_revealed_names = *v;
  }
}

void ParseIcmp(YamlFile& file, const YAML::Node& node, bool* echo_to_allowed_hosts) {
  if (!file.IsMap(node, "'icmp'")) return;
  MapReader map(file, node, kIcmpKeys, "'icmp'");
  if (const YAML::Node* echo = map.Find("echo_to_allowed_hosts")) {
    if (auto v = file.Bool(*echo, "'echo_to_allowed_hosts'")) *echo_to_allowed_hosts = *v;
  }
}

}  // namespace flightwall
