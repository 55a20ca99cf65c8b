// Timestamp: microseconds since the Unix epoch, as captures and NFQUEUE give it.
#pragma once

#include <time.h>

#include <cstdint>

namespace flightwall {

using Timestamp = std::int64_t;  // microseconds since 1970-01-01T00:00:00Z
constexpr Timestamp kMicrosPerSecond = 1000000;

// Every packet's time lies in [0, kMaxPacketTime] (2^62 µs, some 146,000
// years): the difference of two packet times, and a packet time plus any
// timeout, never overflow. Captures are untrusted: a pcapng file can give
// libpcap any 64-bit time, before 1970 or far beyond (pcap_source_fuzz found
// both: the fragment expiry then subtracted one from the other).
constexpr Timestamp kMaxPacketTime = Timestamp{1} << 62;

// A packet time from seconds and microseconds as a capture or the kernel
// gives them, clamped into [0, kMaxPacketTime].
constexpr Timestamp PacketTimeOf(std::int64_t seconds, std::int64_t micros) {
  constexpr std::int64_t kMaxSeconds = kMaxPacketTime / kMicrosPerSecond - 1;
  if (seconds < 0) return 0;
  if (seconds > kMaxSeconds) return kMaxPacketTime;
  if (micros < 0) micros = 0;
  if (micros >= kMicrosPerSecond) micros = kMicrosPerSecond - 1;
  return seconds * kMicrosPerSecond + micros;
}

// The time on `clock` in microseconds: CLOCK_REALTIME gives a Timestamp;
// CLOCK_MONOTONIC microseconds since boot, for timeouts.
inline Timestamp ClockNow(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return Timestamp{ts.tv_sec} * kMicrosPerSecond + ts.tv_nsec / 1000;
}

}  // namespace flightwall
