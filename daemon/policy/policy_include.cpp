#include "policy/policy_include.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace flightwall {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 4> kAllowFileKeys = {"allow", "name", "description",
                                                            "source"};
constexpr std::array<std::string_view, 4> kCatalogFileKeys = {"catalog", "name", "description",
                                                              "source"};

std::string DisplayPath(const std::string& base_dir, const std::string& relative) {
  fs::path joined = fs::path(relative).is_absolute() || base_dir.empty()
                        ? fs::path(relative)
                        : fs::path(base_dir) / relative;
  return joined.lexically_normal().generic_string();
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return (ec ? fs::path(path) : absolute).lexically_normal().generic_string();
}

std::string CycleText(const LoadState& state, std::size_t first, const std::string& again) {
  std::string text;
  for (std::size_t i = first; i < state.stack_names.size(); ++i) {
    text += state.stack_names[i] + " -> ";
  }
  return text + again;
}

}  // namespace

Result<std::string> ReadPolicyBytes(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return Status::InFile(path, std::string(kPolicyFileNotFound));
  }
  if (!fs::is_regular_file(status)) {
    return Status::InFile(path, "not a regular file");
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxPolicyFileBytes) {
    return Status::InFile(path, "larger than 1 MiB; a policy file never needs to be that big");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InFile(path, "cannot be opened (check its permissions)");
  }
  // Read at most one byte past the limit in case the file grew meanwhile.
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) {
    return Status::InFile(path, "could not be read");
  }
  return bytes;
}

std::string CanonicalKey(const std::string& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  return ec ? AbsolutePath(path) : canonical.generic_string();
}

void FollowInclude(YamlFile& from, const YAML::Node& include_value, std::string_view list_key,
                   const std::function<void(YamlFile&, const YAML::Node&)>& body) {
  LoadState& state = *from.State();
  auto relative = from.String(include_value, "'include'");
  if (!relative) return;
  const std::string display = DisplayPath(from.BaseDir(), *relative);
  const std::string key = CanonicalKey(display);

  const auto seen = std::find(state.stack_keys.begin(), state.stack_keys.end(), key);
  if (seen != state.stack_keys.end()) {
    const auto first = static_cast<std::size_t>(seen - state.stack_keys.begin());
    from.Error(include_value, "include cycle: " + CycleText(state, first, display) +
                                  "; remove one of these includes");
    return;
  }
  if (state.stack_keys.size() >= kMaxIncludeDepth) {
    from.Error(include_value, "includes nested more than " + std::to_string(kMaxIncludeDepth) +
                                  " files deep; flatten them");
    return;
  }
  if (state.files_read >= kMaxIncludedFiles) {
    from.Error(include_value, "more than " + std::to_string(kMaxIncludedFiles) +
                                  " files read for one policy; include each file once");
    return;
  }
  Result<std::string> read = ReadPolicyBytes(display);
  if (!read.ok()) {
    const std::string& why = read.status().message();
    if (why == kPolicyFileNotFound) {
      from.Error(include_value, "include '" + *relative + "' not found (looked for " +
                                    AbsolutePath(display) +
                                    "): check the path, relative to this file");
    } else {
      from.Error(include_value,
                 "include '" + *relative + "' (" + AbsolutePath(display) + ") is " + why);
    }
    return;
  }
  ++state.files_read;
  if (std::find(state.included_files.begin(), state.included_files.end(), display) ==
      state.included_files.end()) {
    state.included_files.push_back(display);
  }

  YamlFile file(&state, display, fs::path(display).parent_path().generic_string());
  const auto root = ParseYaml(file, *read);
  if (!root) return;
  if (!root->IsMap()) {
    file.Error(*root, "an included file must be a map with a '" + std::string(list_key) +
                          ":' list at the top");
    return;
  }
  const bool is_allow = list_key == "allow";
  MapReader top(file, *root,
                is_allow ? std::span<const std::string_view>(kAllowFileKeys)
                         : std::span<const std::string_view>(kCatalogFileKeys),
                "an included " + std::string(list_key) + " file");
  const YAML::Node* list = top.Find(list_key);
  if (list == nullptr) {
    const std::string_view other = is_allow ? "catalog" : "allow";
    std::string hint;
    for (auto it = root->begin(); it != root->end(); ++it) {
      if (const YAML::Node top_key = it->first; top_key.IsScalar() && top_key.Scalar() == other) {
        hint = "; this is " + std::string(other == "allow" ? "an allow" : "a catalog") +
               " file: include it under '" + std::string(other) + ":' instead";
      }
    }
    file.Error(*root, "included file has no '" + std::string(list_key) + ":' list" + hint);
    from.Error(include_value, "included from here");
    return;
  }
  state.stack_keys.push_back(key);
  state.stack_names.push_back(display);
  body(file, *list);
  state.stack_keys.pop_back();
  state.stack_names.pop_back();
}

}  // namespace flightwall
