// Helpers the policy loader uses to read yaml-cpp nodes without exceptions
// leaking out and to turn every problem into a PolicyError with file, line
// and column. Internal to daemon/policy; not thread-safe (one load at a time
// owns its LoadState).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/policy_loader.h"

namespace flightwall {

// Bounds that keep a hostile policy file from costing unbounded time,
// memory or stack.
inline constexpr std::size_t kMaxPolicyFileBytes = 1 << 20;
inline constexpr std::size_t kMaxIncludeDepth = 16;
inline constexpr std::size_t kMaxIncludedFiles = 256;
inline constexpr int kMaxYamlNesting = 64;
// List items visited across all files; aliases can repeat a big list many
// times without making the file bigger.
inline constexpr std::size_t kMaxListItems = 200000;

// Everything one LoadPolicy call shares across the files it reads.
struct LoadState {
  std::vector<PolicyError> errors;
  std::vector<std::string> included_files;
  std::vector<std::string> stack_keys;   // canonical paths, top-level first
  std::vector<std::string> stack_names;  // display names, same order
  std::size_t files_read = 0;
  std::size_t list_items_left = kMaxListItems;
  bool list_budget_reported = false;
  // Name -> "file:line" of its first definition, to report duplicates.
  std::unordered_map<std::string, std::string> flight_app_names;
  std::unordered_map<std::string, std::string> allow_names;
  std::unordered_map<std::string, std::string> catalog_names;
};

// One YAML file being read: the name errors point at and the directory its
// includes resolve against.
class YamlFile {
 public:
  YamlFile(LoadState* state, std::string display_name, std::string base_dir)
      : state_(state), name_(std::move(display_name)), base_dir_(std::move(base_dir)) {}

  const std::string& Name() const { return name_; }
  const std::string& BaseDir() const { return base_dir_; }
  LoadState* State() const { return state_; }

  void Error(const YAML::Mark& at, std::string message);
  void Error(const YAML::Node& at, std::string message);
  std::string Origin(const YAML::Node& node) const;  // "file:line"

  // Each returns nullopt (and has reported why) when the node has the wrong
  // shape. `what` names the value in messages, e.g. "'name'".
  std::optional<std::string> String(const YAML::Node& node, std::string_view what);
  std::optional<std::uint64_t> Unsigned(const YAML::Node& node, std::string_view what,
                                        std::uint64_t max);
  std::optional<bool> Bool(const YAML::Node& node, std::string_view what);
  // The items of a sequence; a scalar or map is an error, not a one-item
  // list, so a forgotten "[...]" is caught. Charges the list-item budget.
  std::vector<YAML::Node> List(const YAML::Node& node, std::string_view what);
  bool IsMap(const YAML::Node& node, std::string_view what);

 private:
  LoadState* state_;
  std::string name_;
  std::string base_dir_;
};

// The keys of one YAML map, read once. Construction reports keys that are
// not in `allowed` (with a did-you-mean) and keys given twice.
class MapReader {
 public:
  MapReader(YamlFile& file, const YAML::Node& map, std::span<const std::string_view> allowed,
            std::string_view what);

  // The value of `key`, or nullptr when absent.
  const YAML::Node* Find(std::string_view key) const;
  // Like Find, but reports a missing key at the map.
  const YAML::Node* Require(std::string_view key);
  const YAML::Node& Map() const { return map_; }

 private:
  YamlFile& file_;
  YAML::Node map_;
  std::string what_;
  std::vector<std::pair<std::string, YAML::Node>> values_;
};

// Rejects input nested deeper than kMaxYamlNesting before yaml-cpp sees it,
// because yaml-cpp parses recursively and deep input would exhaust the
// stack. Counts flow brackets, block indentation levels and "- "/"? "
// indicators; a conservative estimate (it may over-count, never under).
// Returns the 1-based line where the limit was passed, or 0 when fine.
int FindExcessiveNesting(std::string_view text);

// Pre-scan plus YAML::Load; syntax errors become PolicyErrors on `file`.
std::optional<YAML::Node> ParseYaml(YamlFile& file, const std::string& text);

}  // namespace flightwall
