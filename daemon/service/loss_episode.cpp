#include "service/loss_episode.h"

namespace flightwall {

LossEpisode::Change LossEpisode::Observe(std::uint64_t total, std::uint64_t now_ms) {
  if (!primed_) {
    primed_ = true;
    last_total_ = total;
    episode_base_ = total;
    return Change::kNone;
  }
  if (total > last_total_) {
    const std::uint64_t before = last_total_;
    last_total_ = total;
    last_rise_ms_ = now_ms;
    if (active_) return Change::kNone;
    active_ = true;
    ++episodes_;
    episode_base_ = before;
    episode_start_ms_ = now_ms;
    return Change::kStarted;
  }
  if (active_ && now_ms - last_rise_ms_ >= quiet_ms_) {
    active_ = false;
    return Change::kEnded;
  }
  return Change::kNone;
}

}  // namespace flightwall
