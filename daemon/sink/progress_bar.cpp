#include "sink/progress_bar.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace flightwall {
namespace {

constexpr auto kFirstDraw = std::chrono::seconds(1);
constexpr auto kRedraw = std::chrono::milliseconds(250);
constexpr int kBarWidth = 20;

std::string Mebibytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  return buf;
}

}  // namespace

std::string FormatProgress(std::uint64_t done, std::uint64_t total, double elapsed_seconds) {
  done = std::min(done, total);
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  // Appends, not "[" + std::string&&: GCC 12's -Wrestrict misjudges that at -O3.
  std::string line = "[";
  line.append(static_cast<std::size_t>(filled), '#');
  line.append(static_cast<std::size_t>(kBarWidth - filled), '.');
  line += "]  ";
  line += Mebibytes(done);
  line += " of ";
  line += Mebibytes(total);
  char buf[96];
  const double rate = elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds : 0.0;
  std::snprintf(buf, sizeof(buf), "  %d%%  %.1f MB/s", static_cast<int>(fraction * 100),
                rate / 1e6);
  line += buf;
  if (rate > 0) {
    const auto left =
        static_cast<std::uint64_t>(std::llround(static_cast<double>(total - done) / rate));
    std::snprintf(buf, sizeof(buf), "  ETA %llu:%02llu", static_cast<unsigned long long>(left / 60),
                  static_cast<unsigned long long>(left % 60));
    line += buf;
  } else {
    line += "  ETA --:--";
  }
  return line;
}

ProgressBar::ProgressBar(std::ostream& out, std::uint64_t total_bytes, bool enabled)
    : out_(out),
      total_(total_bytes),
      enabled_(enabled),
      start_(Clock::now()),
      next_draw_(start_ + kFirstDraw) {}

ProgressBar::~ProgressBar() { Clear(); }

void ProgressBar::Draw(std::uint64_t done, Clock::time_point now) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  out_ << "\r\033[K" << FormatProgress(done, total_, elapsed) << std::flush;
  drawn_ = true;
  next_draw_ = now + kRedraw;
}

void ProgressBar::Clear() {
  if (!drawn_) return;
  out_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace flightwall
