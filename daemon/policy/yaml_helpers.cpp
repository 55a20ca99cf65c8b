#include "policy/yaml_helpers.h"

#include <charconv>

#include "policy/did_you_mean.h"

namespace flightwall {
namespace {

// yaml-cpp marks are 0-based and null_mark() is all -1.
int OneBased(int zero_based) { return zero_based >= 0 ? zero_based + 1 : 0; }

YAML::Mark MarkOf(const YAML::Node& node) {
  // Mark() throws on an invalid (zombie) node; those have no place to point.
  if (!node.IsDefined()) return YAML::Mark::null_mark();
  return node.Mark();
}

std::string Quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 60;
  std::string out = "'";
  out.append(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) out += "...";
  return out + "'";
}

std::string_view TypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

}  // namespace

void YamlFile::Error(const YAML::Mark& at, std::string message) {
  state_->errors.push_back(
      PolicyError{name_, OneBased(at.line), OneBased(at.column), std::move(message)});
}

void YamlFile::Error(const YAML::Node& at, std::string message) {
  Error(MarkOf(at), std::move(message));
}

std::string YamlFile::Origin(const YAML::Node& node) const {
  return name_ + ":" + std::to_string(OneBased(MarkOf(node).line));
}

std::optional<std::string> YamlFile::String(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) {
    Error(node, std::string(what) + " must be a single value, not " + std::string(TypeName(node)));
    return std::nullopt;
  }
  if (node.Scalar().empty()) {
    Error(node, std::string(what) + " is empty; give it a value");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::uint64_t> YamlFile::Unsigned(const YAML::Node& node, std::string_view what,
                                                std::uint64_t max) {
  auto text = String(node, what);
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || value > max) {
    Error(node, std::string(what) + " must be a whole number from 0 to " + std::to_string(max) +
                    ", not " + Quoted(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlFile::Bool(const YAML::Node& node, std::string_view what) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    Error(node, std::string(what) + " must be true or false");
    return std::nullopt;
  }
  return value;
}

std::vector<YAML::Node> YamlFile::List(const YAML::Node& node, std::string_view what) {
  std::vector<YAML::Node> items;
  if (node.IsNull()) return items;  // "key:" with nothing after it: an empty list
  if (!node.IsSequence()) {
    Error(node, std::string(what) +
                    " must be a list (write [a, b] or one \"- item\" per line), not " +
                    std::string(TypeName(node)));
    return items;
  }
  if (node.size() > state_->list_items_left) {
    if (!state_->list_budget_reported) {
      Error(node, "the policy has more than " + std::to_string(kMaxListItems) +
                      " list items in total (counting aliases); split or shorten it");
      state_->list_budget_reported = true;
    }
    state_->list_items_left = 0;
    return items;
  }
  state_->list_items_left -= node.size();
  items.reserve(node.size());
  for (const YAML::Node& item : node) items.push_back(item);
  return items;
}

bool YamlFile::IsMap(const YAML::Node& node, std::string_view what) {
  if (node.IsMap()) return true;
  Error(node, std::string(what) + " must be a map of \"key: value\" lines, not " +
                  std::string(TypeName(node)));
  return false;
}

MapReader::MapReader(YamlFile& file, const YAML::Node& map,
                     std::span<const std::string_view> allowed, std::string_view what)
    : file_(file), map_(map), what_(what) {
  if (!map.IsMap()) return;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a temporary pair.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      file_.Error(key, "keys in " + what_ + " must be plain words");
      continue;
    }
    const std::string& name = key.Scalar();
    bool known = false;
    for (std::string_view candidate : allowed) known = known || candidate == name;
    if (!known) {
      std::string valid;
      for (std::string_view candidate : allowed) {
        valid += (valid.empty() ? "" : ", ") + std::string(candidate);
      }
      file_.Error(key, "unknown key " + Quoted(name) + " in " + what_ + DidYouMean(name, allowed) +
                           "; valid keys here: " + valid);
      continue;
    }
    if (Find(name) != nullptr) {
      file_.Error(key, "key " + Quoted(name) + " appears twice in " + what_ + "; keep one");
      continue;
    }
    values_.emplace_back(name, value);
  }
}

const YAML::Node* MapReader::Find(std::string_view key) const {
  for (const auto& [name, value] : values_) {
    if (name == key) return &value;
  }
  return nullptr;
}

const YAML::Node* MapReader::Require(std::string_view key) {
  const YAML::Node* value = Find(key);
  if (value == nullptr && map_.IsMap()) {
    file_.Error(map_, what_ + " is missing the required key '" + std::string(key) + "'");
  }
  return value;
}

}  // namespace flightwall
