// `flightwall audit --live IFACE`: capture, judge as the packets come, and
// at the end (Ctrl-C, SIGTERM, --duration) write the same reports a file
// audit writes, with the capture's drop counts.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <span>
#include <vector>

#include "cli/audit_feed.h"
#include "common/duration.h"
#include "common/sha256.h"
#include "sink/audit_inputs.h"
#include "source/live_capture.h"
#include "source/pcap_source.h"

namespace flightwall {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void OnStopSignal(int signal) { g_stop_signal = signal; }

// Installs the stop handlers for its lifetime, without SA_RESTART so that a
// signal also ends the capture's poll() wait at once.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string FileSha256(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "";
  Sha256Hasher hasher;
  std::vector<std::uint8_t> buf(64 * 1024);
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    hasher.Update(std::span<const std::uint8_t>(buf.data(), n));
  }
  std::fclose(f);
  return hasher.FinalHex();
}

}  // namespace

std::string LiveCaptureFilter(const Policy& policy, Vantage vantage) {
  if (vantage != Vantage::kNetwork) return "";
  std::vector<std::string> nets;
  for (const FlightApp& app : policy.flight_apps) {
    for (const Cidr& c : app.sources) nets.push_back(c.ToString());
  }
  // DNS is always kept: answers attest the names of the app's connections.
  return LiveCaptureFilterFor(nets);
}

FeedResult FeedLiveCapture(const AuditOptions& o, const Policy& policy, Vantage vantage,
                           Engine& engine, AuditReport& report) {
  LiveCaptureOptions lo;
  lo.interface = o.live;
  lo.filter = LiveCaptureFilter(policy, vantage);
  lo.write_path = o.write;
  lo.rotate_bytes = o.rotate_mb * 1000 * 1000;
  lo.buffer_kb = o.buffer_kb;
  Result<std::unique_ptr<LiveCapture>> opened = LiveCapture::Open(lo);
  if (!opened.ok()) {
    std::cerr << "flightwall audit: " << opened.status().ToString() << "\n";
    return {};
  }
  const std::unique_ptr<LiveCapture> capture = std::move(opened).value();
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const std::uint64_t seconds = o.duration.empty() ? 0 : ParseDurationSeconds(o.duration).value();
  const auto deadline = start + std::chrono::seconds(seconds);
  const bool status_line = !o.quiet && isatty(STDERR_FILENO) == 1;
  const StopSignals signals;  // before the line that tells a supervisor we capture
  if (!o.quiet) {
    std::cerr << "flightwall audit: capturing on " << o.live
              << " (filter: " << (lo.filter.empty() ? "none" : lo.filter) << "); stop with Ctrl-C"
              << (seconds ? " or after " + o.duration : std::string()) << std::endl;
  }

  auto next_status = start + std::chrono::seconds(1);
  InputSummary input;
  input.path = "live:" + o.live;
  RawPacket raw;
  for (;;) {
    if (g_stop_signal != 0) break;
    const auto now = Clock::now();
    if (seconds != 0 && now >= deadline) break;
    if (now >= next_status) {  // once a second
      next_status = now + std::chrono::seconds(1);
      capture->Flush();
      if (status_line) {
        const LiveCaptureCounts c = capture->Counts();
        std::cerr << "\r\033[K" << o.live << ": " << capture->Packets() << " packets, "
                  << engine.Stats().flows_created << " flows, " << report.AttemptCount()
                  << " attempts, " << report.LeakCount() << " leaks, " << c.dropped_kernel
                  << " kernel drops" << std::flush;
      }
    }
    const LivePoll polled = capture->Poll(&raw, 250);
    if (polled == LivePoll::kError) {
      report.AddEvidenceProblem({kEvidenceCaptureError, "interface " + o.live,
                                 capture->Error() + "; packets after it were not seen"});
      break;
    }
    if (polled != LivePoll::kPacket) continue;
    if (input.packets == 0) input.first_time = raw.time;
    input.last_time = raw.time;
    ++input.packets;
    const PacketOutcome outcome = engine.Process(raw);
    if (raw.data.size() < raw.wire_length) NoteCutPacket(raw, outcome, input.path, report);
  }
  if (status_line) std::cerr << "\r\033[K" << std::flush;

  CaptureStats stats;
  stats.interface = o.live;
  stats.filter = lo.filter;
  const LiveCaptureCounts counts = capture->Counts();
  stats.received = counts.received;
  stats.dropped_kernel = counts.dropped_kernel;
  stats.dropped_interface = counts.dropped_interface;
  FeedResult result{true, true};
  if (const Status written = capture->FinishWriting(); !written.ok()) {
    std::cerr << "flightwall audit: " << written.ToString() << "\n";
    result.output_ok = false;
  }
  stats.files = capture->WrittenFiles();
  for (const std::string& f : stats.files) {
    report.AddNote("capture written to " + f + " (sha256 " + FileSha256(f) + ")");
  }
  report.SetCaptureStats(std::move(stats));
  input.link_type = PcapSource::LinkTypeName(static_cast<std::uint32_t>(capture->Link()));
  report.AddInput(std::move(input));
  if (g_stop_signal != 0 && !o.quiet) {
    std::cerr << "flightwall audit: stopped by signal " << g_stop_signal << ", writing reports\n";
  }
  return result;
}

}  // namespace flightwall
