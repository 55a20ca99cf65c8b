// HostPattern: an allow-list host entry: an exact name ("api.mapbox.com") or
// a wildcard for any subdomain ("*.tiles.mapbox.com" matches
// "a.tiles.mapbox.com" and "x.y.tiles.mapbox.com", not "tiles.mapbox.com").
// Matching is case-insensitive and ignores one trailing dot.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace flightwall {

class HostPattern {
 public:
  // An error for empty names, bad characters, '*' anywhere but a leading
  // "*." label, labels over 63 bytes, or names over 253 bytes; its message
  // says which (the policy loader puts the entry and its line in front).
  static Result<HostPattern> Parse(std::string_view text);

  bool Matches(std::string_view host) const;
  bool IsWildcard() const { return wildcard_; }
  const std::string& Text() const { return text_; }  // normalized (lower case)

 private:
  std::string text_;    // as written, normalized
  std::string suffix_;  // for wildcards: ".tiles.mapbox.com"
  bool wildcard_ = false;
};

}  // namespace flightwall
