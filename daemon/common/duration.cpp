#include "common/duration.h"

namespace flightwall {

std::optional<std::uint64_t> ParseDurationSeconds(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  std::uint64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    default:
      return std::nullopt;
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  if (digits.size() > 9) return std::nullopt;  // over 30 years: a typo
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value == 0) return std::nullopt;
  return value * unit;
}

}  // namespace flightwall
