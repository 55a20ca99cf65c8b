// Timestamp: microseconds since the Unix epoch, as captures and NFQUEUE give it.
#pragma once

#include <time.h>

#include <cstdint>

namespace flightwall {

using Timestamp = std::int64_t;  // microseconds since 1970-01-01T00:00:00Z
constexpr Timestamp kMicrosPerSecond = 1000000;

// The time on `clock` in microseconds: CLOCK_REALTIME gives a Timestamp;
// CLOCK_MONOTONIC microseconds since boot, for timeouts.
inline Timestamp ClockNow(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return Timestamp{ts.tv_sec} * kMicrosPerSecond + ts.tv_nsec / 1000;
}

}  // namespace flightwall
