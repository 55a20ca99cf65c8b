// StatusReport: what `flightwall status` shows, as one JSON object the
// daemon serves on its control socket (control_socket.h).
//
// StatusSnapshot is plain data: the daemon's main loop fills it
// (CollectStatus plus what only the loop knows: reloads, stalled workers)
// and StatusJson turns it into the reply. Assess decides whether the daemon
// is degraded, so the daemon, the CLI's exit code and the tests agree on one
// definition:
//   degraded when a queue worker has not turned for 5 s, when the event log
//   lost lines or events since the start, when a queue dropped packets
//   (kernel queue full, netlink socket full, receive buffer overrun), when
//   the last policy reload failed, or when the policy mode is audit
//   (denials are logged, not enforced).
// Everything here is pure and thread-agnostic; CollectStatus reads the
// enforcer's and the sinks' counters (atomics, never a worker's lock).
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/timestamp.h"
#include "engine/pool_usage.h"
#include "sink/recent_denials.h"

namespace flightwall {

class DaemonSinks;
class Enforcer;
class NfqueueSource;
struct DaemonConfig;
struct Policy;

struct QueueStatus {
  std::uint16_t queue = 0;
  std::uint64_t received = 0;        // packets this worker read
  std::uint64_t verdicts = 0;        // verdicts it sent
  std::uint64_t waiting = 0;         // kernel: packets waiting now
  std::uint64_t kernel_dropped = 0;  // kernel: queue full
  std::uint64_t user_dropped = 0;    // kernel: netlink socket full
  std::uint64_t enobufs = 0;         // our receive buffer overruns
  std::uint64_t errors = 0;          // receive and verdict errors
  std::uint64_t Drops() const { return kernel_dropped + user_dropped + enobufs; }
};

struct StatusSnapshot {
  std::int64_t pid = 0;
  std::string version;
  std::string config_path;
  std::string policy_name;
  std::string policy_sha256;
  std::string policy_path;
  std::string policy_mode;     // enforce | audit | lockdown
  std::string intercept_mode;  // forward | output
  std::string backend;         // iptables | nftables | none
  bool fail_open = false;      // intercept.on_failure: open
  Timestamp started_at = 0;    // wall clock, microseconds
  Timestamp now = 0;
  std::vector<QueueStatus> queues;
  std::uint64_t workers = 0;
  std::uint64_t stalled_workers = 0;  // not turned for 5 s
  std::uint64_t flows_active = 0;
  std::uint64_t named_addresses = 0;
  PoolUsage pools{};  // inspection slots in use / configured / exhausted
  std::uint64_t accepted = 0;
  std::uint64_t dropped = 0;
  std::uint64_t held = 0;  // packets held for their name since the start
  std::uint64_t held_expired = 0;
  // Packets dropped without a flow verdict: undecodable (fail closed) and
  // segments refused until the hole before them is filled.
  std::uint64_t malformed_dropped = 0;
  std::uint64_t segments_refused = 0;
  std::uint64_t held_evicted = 0;
  bool event_log_enabled = false;
  std::string event_log_path;
  std::uint64_t event_lines_written = 0;
  std::uint64_t events_lost = 0;
  std::uint64_t chain_seq = 0;
  std::string chain_head;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::string last_reload;  // "" (none) | ok | failed
  Timestamp last_reload_at = 0;
  std::uint64_t denials_total = 0;
  std::vector<Denial> last_denials;  // oldest first
};

// Why the daemon is degraded; empty when it is running and enforcing.
std::vector<std::string> Assess(const StatusSnapshot& s);

// The reply: {"running": true, "state": "ok"|"degraded", "degraded": [...],
// ...}; last_denials newest first.
nlohmann::ordered_json StatusJson(const StatusSnapshot& s);

// Everything the enforcer, the queues and the sinks can tell; the caller
// adds pid, times, reloads and stalled workers.
StatusSnapshot CollectStatus(const DaemonConfig& config, const Policy& policy,
                             const Enforcer& enforcer,
                             const std::vector<const NfqueueSource*>& sources,
                             const DaemonSinks& sinks);

// The latest status reply: the main loop publishes, the control socket's
// thread answers from it (so a request never reaches into the workers).
// Thread-safety: any thread.
class StatusBoard {
 public:
  void Publish(const StatusSnapshot& snapshot);
  // The reply to one control request: "status" -> the latest JSON.
  std::string Answer(std::string_view request) const;

 private:
  mutable std::mutex mutex_;
  std::string json_ = R"({"running":true,"state":"starting"})";  // guarded by mutex_
};

}  // namespace flightwall
