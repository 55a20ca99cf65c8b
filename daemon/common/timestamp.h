// Timestamp: microseconds since the Unix epoch, as captures and NFQUEUE give it.
#pragma once

#include <cstdint>

namespace flightwall {

using Timestamp = std::int64_t;  // microseconds since 1970-01-01T00:00:00Z
constexpr Timestamp kMicrosPerSecond = 1000000;

}  // namespace flightwall
