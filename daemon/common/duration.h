// Parsing of durations written by people on the command line: a whole
// number followed by one unit, "30s", "5m", "1h". Nothing else is accepted
// (no bare numbers, no fractions, no spaces, no mixed units) so that a typo
// fails instead of meaning something else.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace flightwall {

// Seconds, or nullopt when `text` is not such a duration or is zero.
std::optional<std::uint64_t> ParseDurationSeconds(std::string_view text);

}  // namespace flightwall
