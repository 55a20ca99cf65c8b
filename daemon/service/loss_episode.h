// LossEpisode: turns a cumulative loss counter that the main loop samples
// (queue overflow, receive-buffer overruns, event-log lines lost) into two
// log lines per episode instead of one per lost item: one when the counter
// starts rising, one once it has stood still for `quiet_ms`, with how much
// was lost in between. A flood thus logs twice, not a million times.
// Not thread-safe: one instance per counter, sampled by one thread.
#pragma once

#include <cstdint>

namespace flightwall {

class LossEpisode {
 public:
  enum class Change : std::uint8_t { kNone, kStarted, kEnded };

  explicit LossEpisode(std::uint64_t quiet_ms = 2000) : quiet_ms_(quiet_ms) {}

  // `total`: the counter now (never decreasing); `now_ms`: a monotonic
  // clock. The first call only takes the baseline.
  Change Observe(std::uint64_t total, std::uint64_t now_ms);

  bool Active() const { return active_; }
  // Lost since the current (or the last) episode started.
  std::uint64_t EpisodeLoss() const { return last_total_ - episode_base_; }
  // How long the current (or last) episode lasted, to its last loss.
  std::uint64_t EpisodeMs() const { return last_rise_ms_ - episode_start_ms_; }
  std::uint64_t Episodes() const { return episodes_; }

 private:
  std::uint64_t quiet_ms_;
  bool primed_ = false;
  bool active_ = false;
  std::uint64_t last_total_ = 0;
  std::uint64_t episode_base_ = 0;
  std::uint64_t episode_start_ms_ = 0;
  std::uint64_t last_rise_ms_ = 0;
  std::uint64_t episodes_ = 0;
};

}  // namespace flightwall
