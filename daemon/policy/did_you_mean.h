// DidYouMean: suggests the closest valid word for a misspelt policy key or
// value, so an operator sees "did you mean 'resolvers'?" instead of only
// "unknown key". Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace flightwall {

// Edit distance (insertions, deletions, substitutions), compared
// case-insensitively. Inputs longer than 64 bytes count as "far" (returns a
// large number) so hostile keys cannot cost quadratic time.
std::size_t EditDistance(std::string_view a, std::string_view b);

// " (did you mean 'x'?)" for the first candidate within distance 2 that is
// closest, or "" when none is close.
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace flightwall
