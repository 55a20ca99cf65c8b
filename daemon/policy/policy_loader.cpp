#include "policy/policy_loader.h"

#include <array>
#include <filesystem>

#include "common/sha256.h"
#include "policy/did_you_mean.h"
#include "policy/policy_include.h"
#include "policy/policy_sections.h"
#include "policy/yaml_helpers.h"

namespace flightwall {
namespace {

constexpr std::array<std::string_view, 9> kTopLevelKeys = {
    "version", "name", "description", "mode", "flight_apps", "dns", "allow", "icmp", "catalog"};
constexpr std::array<std::string_view, 3> kModeNames = {"enforce", "audit", "lockdown"};

void ParseMode(YamlFile& file, const YAML::Node& node, PolicyMode* mode) {
  auto text = file.String(node, "'mode'");
  if (!text) return;
  if (*text == "enforce") {
    *mode = PolicyMode::kEnforce;
  } else if (*text == "audit") {
    *mode = PolicyMode::kAudit;
  } else if (*text == "lockdown") {
    *mode = PolicyMode::kLockdown;
  } else {
    file.Error(node, "unknown mode '" + *text + "'" + DidYouMean(*text, kModeNames) +
                         "; use enforce, audit or lockdown");
  }
}

void ParseTopLevel(YamlFile& file, const YAML::Node& root, Policy* policy) {
  if (!root.IsMap()) {
    file.Error(root, "a policy file must be a map with version, name, flight_apps, dns and allow");
    return;
  }
  MapReader top(file, root, kTopLevelKeys, "the policy");
  if (const YAML::Node* version = top.Require("version")) {
    if (auto v = file.Unsigned(*version, "'version'", 1u << 30)) {
      if (*v != 1) {
        file.Error(*version, "unsupported policy version " + std::to_string(*v) +
                                 "; this flightwall reads version 1");
      }
    }
  }
  if (const YAML::Node* name = top.Require("name")) {
    policy->name = file.String(*name, "'name'").value_or("");
  }
  if (const YAML::Node* description = top.Find("description")) {
    file.String(*description, "'description'");
  }
  if (const YAML::Node* mode = top.Find("mode")) ParseMode(file, *mode, &policy->mode);
  if (const YAML::Node* apps = top.Require("flight_apps")) {
    ParseFlightApps(file, *apps, &policy->flight_apps);
  }
  if (const YAML::Node* dns = top.Require("dns")) ParseDns(file, *dns, &policy->dns);
  if (const YAML::Node* allow = top.Find("allow")) ParseAllowList(file, *allow, &policy->allow);
  if (const YAML::Node* icmp = top.Find("icmp")) {
    ParseIcmp(file, *icmp, &policy->icmp_echo_to_allowed_hosts);
  }
  if (const YAML::Node* catalog = top.Find("catalog")) {
    ParseCatalogList(file, *catalog, &policy->catalog);
  }
}

PolicyLoadResult LoadText(LoadState& state, const std::string& text, const std::string& name,
                          const std::string& base_dir, const std::string& key) {
  PolicyLoadResult result;
  Policy policy;
  policy.path = name;
  policy.sha256 = Sha256Hex(text);
  state.included_files.push_back(name);
  state.stack_keys.push_back(key);
  state.stack_names.push_back(name);
  state.files_read = 1;
  YamlFile file(&state, name, base_dir);
  try {
    if (auto root = ParseYaml(file, text)) ParseTopLevel(file, *root, &policy);
  } catch (const YAML::Exception& e) {
    // The helpers check shapes before use, so this is a loader bug; still
    // an error for the operator, never a crash.
    file.Error(e.mark, std::string("internal error reading the policy: ") + e.what());
  }
  policy.included_files = state.included_files;
  result.errors = std::move(state.errors);
  if (result.errors.empty()) result.policy = std::move(policy);
  return result;
}

}  // namespace

std::string PolicyError::ToString() const {
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict on
  // `":" + std::to_string(n)` (GCC bug 105329).
  std::string out = file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
    if (column > 0) {
      out += ':';
      out += std::to_string(column);
    }
  }
  out += ": ";
  out += message;
  return out;
}

PolicyLoadResult LoadPolicy(const std::string& path) {
  LoadState state;
  const Result<std::string> bytes = ReadPolicyBytes(path);
  if (!bytes.ok()) {
    PolicyLoadResult result;
    result.errors.push_back(PolicyError{path, 0, 0, "policy file is " + bytes.status().message()});
    return result;
  }
  const std::string base_dir = std::filesystem::path(path).parent_path().generic_string();
  return LoadText(state, *bytes, path, base_dir, CanonicalKey(path));
}

PolicyLoadResult LoadPolicyFromString(const std::string& text, const std::string& display_name,
                                      const std::string& base_dir) {
  LoadState state;
  if (text.size() > kMaxPolicyFileBytes) {
    PolicyLoadResult result;
    result.errors.push_back(
        PolicyError{display_name, 0, 0, "policy is larger than 1 MiB; a policy never needs that"});
    return result;
  }
  const std::filesystem::path joined = std::filesystem::path(base_dir) / display_name;
  return LoadText(state, text, display_name, base_dir, CanonicalKey(joined.generic_string()));
}

}  // namespace flightwall
