// LoadPolicy: read a policy YAML file (and its includes) into a Policy.
//
// All yaml-cpp exceptions stop here. Every problem becomes a PolicyError
// naming file:line:column and what to do (unknown keys get a did-you-mean).
// Includes are resolved relative to the including file; cycles and missing
// files are errors. Loading collects all errors it can instead of stopping
// at the first one.
//
// Policy files may be hostile, so loading is bounded: 1 MiB per file,
// includes at most 16 deep and 256 files in all, YAML nesting at most 64
// levels (checked before yaml-cpp parses), 200,000 list items in all
// (aliases included). Only regular files are read. The schema is described
// in rules/README.md. Thread-safe: loads share no state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace flightwall {

struct PolicyError {
  std::string file;
  int line = 0;                  // 1-based; 0 when unknown
  int column = 0;                // 1-based; 0 when unknown
  std::string message;           // what is wrong and what to do
  std::string ToString() const;  // "file:line:column: message"
};

struct PolicyLoadResult {
  std::optional<Policy> policy;  // set iff errors is empty
  std::vector<PolicyError> errors;
};

PolicyLoadResult LoadPolicy(const std::string& path);
// Loads from text (for tests and fuzzing); includes resolve against base_dir.
PolicyLoadResult LoadPolicyFromString(const std::string& text, const std::string& display_name,
                                      const std::string& base_dir);

// Human summary for `flightwall check`: normalized, stable, one fact a line.
std::string DescribePolicy(const Policy& policy);

}  // namespace flightwall
