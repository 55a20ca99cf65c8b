// Reading policy files from disk and following `include:` entries, with the
// bounds a hostile file needs (size, depth, count, cycles). Internal to
// daemon/policy; not thread-safe (one load owns its LoadState).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "policy/yaml_helpers.h"

namespace flightwall {

// The message of ReadPolicyBytes' error when there is no such file.
inline constexpr std::string_view kPolicyFileNotFound = "not found";

// Reads a regular file of at most kMaxPolicyFileBytes. Devices and FIFOs are
// refused so an include cannot block or read forever. The error's file() is
// `path` and its message() completes "the file is ...", e.g. "not found" (for
// callers to say which file it was: the policy, or an include of it).
Result<std::string> ReadPolicyBytes(const std::string& path);

// The identity used for cycle detection: the canonical absolute path.
std::string CanonicalKey(const std::string& path);

// Follows one include entry met in `from` under a list named `list_key`
// ("allow" or "catalog"): resolves the path against from's directory, reads
// and parses the file, checks its top-level keys and calls body with the
// included file and its list. A missing file, a cycle or too deep nesting is
// reported at `include_value` in `from`; the included file's own problems
// are reported against it.
void FollowInclude(YamlFile& from, const YAML::Node& include_value, std::string_view list_key,
                   const std::function<void(YamlFile&, const YAML::Node&)>& body);

}  // namespace flightwall
