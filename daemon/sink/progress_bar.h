// ProgressBar: one line on a terminal while `flightwall audit` reads big
// captures: bytes read of the total, throughput and time left. It stays
// silent for the first second (short audits print nothing) and redraws at
// most four times a second. The caller decides whether it is enabled (stderr
// is a TTY and not --quiet); a disabled bar writes nothing. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace flightwall {

// "[#####...............]  12.0 MiB of 48.0 MiB  25%  6.0 MB/s  ETA 0:06";
// `elapsed_seconds` since the start. Exposed for tests.
std::string FormatProgress(std::uint64_t done, std::uint64_t total, double elapsed_seconds);

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  ProgressBar(std::ostream& out, std::uint64_t total_bytes, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // True when a redraw is due: cheap enough to ask for every packet.
  bool Due(Clock::time_point now) const { return enabled_ && now >= next_draw_; }
  // Redraws with `done` bytes read (call when Due()).
  void Draw(std::uint64_t done, Clock::time_point now);
  // Erases the line, if one was drawn.
  void Clear();

 private:
  std::ostream& out_;
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_;
  Clock::time_point next_draw_;
};

}  // namespace flightwall
