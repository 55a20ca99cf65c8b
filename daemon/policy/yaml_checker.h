// Checker: reads a small YAML settings file (the daemon config, an audit
// campaign) node by node, turning every problem into a PolicyError with
// file, line and column and a fix: unknown keys with a did-you-mean, wrong
// shapes, words outside a set, numbers with units. Not for policies (they
// have policy/yaml_helpers.h, with includes and budgets).
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/did_you_mean.h"
#include "policy/policy_loader.h"

namespace flightwall {

class Checker {
 public:
  Checker(std::string file, std::vector<PolicyError>* errors)
      : file_(std::move(file)), errors_(errors) {}

  void Error(const YAML::Node& at, const std::string& message) {
    const YAML::Mark m = at.Mark();
    errors_->push_back({file_, m.line + 1, m.column + 1, message});
  }

  template <std::size_t N>
  void CheckKeys(const YAML::Node& map, const std::array<std::string_view, N>& keys,
                 const std::string& where) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool known = false;
      for (auto k : keys) known = known || k == key;
      if (!known) {
        std::string message = "unknown key '" + key + "' in ";
        message += where;
        message += DidYouMean(key, std::span<const std::string_view>(keys));
        message += "; remove it or fix its spelling";
        Error(it->first, message);
      }
    }
  }

  // The scalar at map[key] if present and a scalar; reports otherwise.
  std::optional<std::string> Scalar(const YAML::Node& map, const char* key) {
    const YAML::Node n = map[key];
    if (!n) return std::nullopt;
    if (!n.IsScalar()) {
      Error(n, std::string("'") + key + "' must be a single value");
      return std::nullopt;
    }
    return n.Scalar();
  }

  template <std::size_t N>
  std::optional<std::string> OneOf(const YAML::Node& map, const char* key,
                                   const std::array<std::string_view, N>& values) {
    auto v = Scalar(map, key);
    if (!v) return std::nullopt;
    for (auto ok : values) {
      if (*v == ok) return v;
    }
    std::string list;
    for (auto ok : values) list += (list.empty() ? "" : " | ") + std::string(ok);
    Error(map[key], std::string("'") + key + "' must be one of " + list + ", not '" + *v + "'" +
                        DidYouMean(*v, std::span<const std::string_view>(values)));
    return std::nullopt;
  }

  // A whole number in [min, max] at map[key]: digits only (no units, no
  // sign), so "150ms" or "1e6" are errors that say what to write.
  std::optional<std::uint64_t> Number(const YAML::Node& map, const char* key, std::uint64_t min,
                                      std::uint64_t max) {
    auto v = Scalar(map, key);
    if (!v) return std::nullopt;
    std::uint64_t n = 0;
    bool ok = !v->empty() && v->size() <= 12;
    for (char ch : *v) {
      if (ch < '0' || ch > '9') ok = false;
      if (ok) n = n * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    if (!ok || n < min || n > max) {
      Error(map[key], std::string("'") + key + "' must be a whole number from " +
                          std::to_string(min) + " to " + std::to_string(max) + ", not '" + *v +
                          "'");
      return std::nullopt;
    }
    return n;
  }

  const YAML::Node Section(const YAML::Node& root, const char* key) {
    const YAML::Node n = root[key];
    if (n && !n.IsMap()) {
      Error(n, std::string("'") + key + "' must be a map of settings");
      return YAML::Node();
    }
    return n;
  }

 private:
  std::string file_;
  std::vector<PolicyError>* errors_;
};

}  // namespace flightwall
