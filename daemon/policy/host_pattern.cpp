#include "policy/host_pattern.h"

#include <cstddef>

namespace flightwall {
namespace {

constexpr std::size_t kMaxNameBytes = 253;
constexpr std::size_t kMaxLabelBytes = 63;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

// Compares without allocating: Matches() runs once per looked-up name on the
// packet path.
bool EqualsLower(std::string_view host, std::string_view lower_pattern) {
  if (host.size() != lower_pattern.size()) return false;
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (Lower(host[i]) != lower_pattern[i]) return false;
  }
  return true;
}

Status Fail(const char* message) { return Status::Error(message); }

}  // namespace

Result<HostPattern> HostPattern::Parse(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty()) return Fail("host name is empty");
  HostPattern pattern;
  std::string_view name = text;
  if (name.starts_with("*.")) {
    pattern.wildcard_ = true;
    name.remove_prefix(2);
  } else if (name == "*") {
    return Fail("'*' alone would match every host; list the names, or \"*.domain\"");
  }
  if (text.size() > kMaxNameBytes) return Fail("host name is longer than 253 bytes");
  if (name.empty()) return Fail("nothing follows \"*.\"; write \"*.example.com\"");

  std::string normalized;
  normalized.reserve(name.size());
  std::size_t label_len = 0;
  std::size_t labels = 0;
  for (char raw : name) {
    const char c = Lower(raw);
    if (c == '*') {
      return Fail("'*' is allowed only as a whole first label (\"*.example.com\")");
    }
    if (!IsHostChar(c)) {
      return Fail("host names may contain only letters, digits, '-', '_' and '.'");
    }
    if (c == '.') {
      if (label_len == 0) return Fail("empty label (\"..\" or a leading '.')");
      label_len = 0;
      ++labels;
    } else if (++label_len > kMaxLabelBytes) {
      return Fail("a label is longer than 63 bytes");
    }
    normalized.push_back(c);
  }
  if (label_len == 0) return Fail("empty label (\"..\" or a leading '.')");
  ++labels;
  if (pattern.wildcard_ && labels < 2) {
    return Fail(
        "a wildcard over a whole top-level domain matches far too much; "
        "list the vendor's domains instead");
  }
  if (pattern.wildcard_) {
    pattern.suffix_ = "." + normalized;
    pattern.text_ = "*" + pattern.suffix_;
  } else {
    pattern.text_ = std::move(normalized);
  }
  return pattern;
}

bool HostPattern::Matches(std::string_view host) const {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (!wildcard_) return EqualsLower(host, text_);
  // The part before the suffix must be non-empty: "*.x" never matches "x".
  if (host.size() <= suffix_.size()) return false;
  return EqualsLower(host.substr(host.size() - suffix_.size()), suffix_);
}

}  // namespace flightwall
