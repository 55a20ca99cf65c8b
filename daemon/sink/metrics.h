// Metrics: the daemon's Prometheus metrics (prometheus-cpp), served over
// HTTP at /metrics on a configured address (metrics.listen).
//
// An EventSink for decisions and DNS questions, plus setters the daemon
// calls for per-packet verdicts, queue counters, reloads and table sizes.
// All names start with flightwall_:
//   packets_total{verdict}             packets given a verdict
//   bytes_total{verdict}               their IP bytes
//   verdict_latency_seconds            receive -> verdict (histogram, 10us..100ms)
//   flows_total{verdict,reason}        flight-app flow decisions
//   attempts_total{category,app}       denied flows and DNS questions
//   dns_questions_total{verdict}       flight-app DNS questions
//   queue_dropped_total{queue}         kernel: queue full
//   queue_user_dropped_total{queue}    kernel: netlink socket full
//   queue_enobufs_total{queue}         our receive buffer overruns
//   policy_reloads_total{result}       result = ok | failed
//   name_cache_restored_total{result}  names read back at start: restored |
//                                      expired | untrusted | future |
//                                      file_ignored (whole files rejected)
//   names_cached, flows_active         gauges
//   events_lost_total                  event-log lines not written
//   flows_evicted_total                flows dropped from a full flow table
//   packets_refused_total{reason}      queued packets dropped without a flow
//                                      verdict: undecodable | segment_gap |
//                                      hold_expired | hold_evicted
//   names_evicted_total                addresses dropped from a full name cache
//   name_confirmations_total{result}   dns.confirm_revealed_names: queries |
//                                      confirmed | refuted | timed_out |
//                                      rate_limited | error | cache_hit
//   inspection_slots_in_use{pool}      slots holding bytes whose name is being
//   inspection_slots{pool}             read, of how many (pool = stream |
//   inspection_pool_exhausted_total{pool}  quic | dns_tcp); flows denied for
//                                      want of a slot
//   event_chain_seq                    seq of the event log's last line (gauge)
//   event_chain_head_info{head}        always 1; head = first 8 hex digits of
//                                      that line's hash (one series, replaced)
//   build_info{version}                always 1
// Labels are bounded by construction: verdict and reason are enums,
// category comes from the policy catalog ("uncategorized" otherwise), app
// from flight_apps, queue from the configured queue numbers, head is one
// series at a time. Host names and addresses never become labels.
// Thread-safety: every method may be called from any thread; none is on the
// packet path. Workers count packets in their own VerdictTally (no lock);
// the main loop folds the tallies in (FoldVerdicts). Decisions and DNS
// questions are counted by the event writer thread (CountDecision,
// CountDnsQuestion) with the names of the policy they were decided under.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/event_sink.h"
#include "engine/name_confirmer.h"
#include "engine/pool_usage.h"
#include "policy/policy.h"
#include "source/nfqueue_source.h"

namespace prometheus {
class Counter;
class Exposer;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace flightwall {

// Bounds of flightwall_verdict_latency_seconds, in seconds.
inline constexpr double kLatencyBounds[] = {10e-6,  25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3,
                                            2.5e-3, 5e-3,  10e-3, 25e-3,  50e-3,  100e-3};
inline constexpr std::size_t kLatencyBuckets = std::size(kLatencyBounds) + 1;  // + "+Inf"

// One worker's packet counts: written by that worker only (relaxed atomics,
// no read-modify-write), read by the main loop.
struct VerdictTally {
  static constexpr std::size_t kVerdicts = 3;
  std::atomic<std::uint64_t> packets[kVerdicts] = {};
  std::atomic<std::uint64_t> bytes[kVerdicts] = {};
  std::atomic<std::uint64_t> latency[kLatencyBuckets] = {};
  std::atomic<std::uint64_t> latency_sum_ns{0};

  void Observe(Verdict verdict, std::uint64_t ip_bytes, std::uint64_t latency_ns);
};

// What FoldVerdicts has already added from one tally.
struct VerdictTallyFolded {
  std::uint64_t packets[VerdictTally::kVerdicts] = {};
  std::uint64_t bytes[VerdictTally::kVerdicts] = {};
  std::uint64_t latency[kLatencyBuckets] = {};
  std::uint64_t latency_sum_ns = 0;
};

// Queued packets dropped before or without a flow verdict, cumulative: they
// did not decode (undecodable), arrived ahead of a hole in the client's
// stream (segment_gap), or were held for a name that did not come in time
// (hold_expired) or for which there was no room (hold_evicted).
struct PacketRefusals {
  static constexpr std::size_t kReasons = 4;
  std::uint64_t undecodable = 0;
  std::uint64_t segment_gap = 0;
  std::uint64_t hold_expired = 0;
  std::uint64_t hold_evicted = 0;
};

class Metrics {
 public:
  // Registers every metric; serves nothing until Listen().
  explicit Metrics(const Policy& policy);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves /metrics on "ADDRESS:PORT" (IPv4) or "[ADDRESS]:PORT" (IPv6);
  // port 0 picks a free port (see ListeningPorts). On failure the Status
  // names the address and what to do.
  Status Listen(const std::string& address);
  std::vector<int> ListeningPorts() const;
  // The exposition text a scrape returns (for tests and `--dump-metrics`).
  std::string Exposition() const;

  // After a policy reload: categories and apps for attempts_total.
  void SetPolicy(const Policy& policy);

  // A flight-app flow's decision and a DNS question, naming app and
  // category from the policy that decided (the event writer's thread).
  void CountDecision(const Flow& flow, const Policy& decided_under, int catalog_index);
  void CountDnsQuestion(const DnsRecord& record, const Policy& decided_under, int catalog_index);
  // Adds what a worker counted since the last fold.
  void FoldVerdicts(const VerdictTally& tally, VerdictTallyFolded* folded);

  // Kernel and socket counters are cumulative; they are exported as
  // counters that only grow (a kernel reset adds the new value).
  void SetQueueStats(std::uint16_t queue, const KernelQueueStats& kernel,
                     const NfqueueStats& socket);
  void PolicyReload(bool ok);
  // At start: what the saved name cache gave back (service/name_cache_store.h).
  void NamesRestored(std::uint64_t restored, std::uint64_t expired, std::uint64_t untrusted,
                     std::uint64_t future, bool file_ignored);
  void SetActiveFlows(std::uint64_t n);
  void SetCachedNames(std::uint64_t n);
  // The event log's cumulative lost-line count (EventLogFile::Lost()).
  void SetEventLogLost(std::uint64_t n);
  // Cumulative evictions from the flow tables and the name cache.
  void SetEvictions(std::uint64_t flows, std::uint64_t names);
  // Cumulative packets dropped without a flow verdict (fail closed), by reason.
  void SetPacketRefusals(const PacketRefusals& refusals);
  // dns.confirm_revealed_names: the confirmer's cumulative counts.
  void SetNameConfirmations(const DnsConfirmerStats& stats);
  // The inspection pools over all workers (Enforcer::Pools()).
  void SetPools(const PoolUsage& pools);
  // The event chain's head (EventLogFile::Head()), so a scrape stored away
  // from this host can be checked with verify-log --expect-seq/--expect-head.
  void SetEventChainHead(std::uint64_t seq, const std::string& hash);

 private:
  struct Families;
  struct QueueCounters;
  static constexpr int kVerdicts = 3;
  static constexpr int kMaxReasons = 48;  // Reason values beyond this count as "other"

  void CountAttempt(const std::string& app, const std::string& category);
  void CountFlow(const Flow& flow);
  static void AddDelta(prometheus::Counter* counter, std::uint64_t* last, std::uint64_t now);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::unique_ptr<prometheus::Exposer> exposer_;

  static constexpr std::size_t kInspections =
      static_cast<std::size_t>(Inspection::kUnrecognizedProtocol) + 1;
  // flightwall_inspection_incomplete_total{reason}: null for pending/complete.
  prometheus::Counter* inspection_incomplete_[kInspections] = {};
  prometheus::Counter* packets_[kVerdicts] = {};
  prometheus::Counter* bytes_[kVerdicts] = {};
  prometheus::Counter* dns_[kVerdicts] = {};
  prometheus::Counter* flows_[kVerdicts][kMaxReasons + 1] = {};
  prometheus::Histogram* latency_ = nullptr;
  prometheus::Counter* reloads_ok_ = nullptr;
  prometheus::Counter* reloads_failed_ = nullptr;
  // restored, expired, untrusted, future, file_ignored
  prometheus::Counter* names_restored_[5] = {};
  prometheus::Gauge* names_cached_ = nullptr;
  prometheus::Gauge* flows_active_ = nullptr;
  prometheus::Counter* events_lost_ = nullptr;
  prometheus::Gauge* chain_seq_ = nullptr;
  struct PoolSeries {
    prometheus::Gauge* in_use = nullptr;
    prometheus::Gauge* capacity = nullptr;
    prometheus::Counter* exhausted = nullptr;
    std::uint64_t exhausted_last = 0;
  };
  std::array<PoolSeries, kInspectionPools> pools_{};
  // queries, confirmed, refuted, timed_out, rate_limited, errors, cache_hits
  static constexpr std::size_t kConfirmationResults = 7;
  std::array<prometheus::Counter*, kConfirmationResults> confirmations_{};
  std::array<std::uint64_t, kConfirmationResults> confirmations_last_{};

  mutable std::mutex mutex_;  // guards everything below
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> attempts_;
  std::map<std::uint16_t, QueueCounters> queues_;
  std::uint64_t events_lost_last_ = 0;
  prometheus::Counter* flows_evicted_ = nullptr;
  prometheus::Counter* names_evicted_ = nullptr;
  std::uint64_t flows_evicted_last_ = 0;
  std::uint64_t names_evicted_last_ = 0;
  std::array<prometheus::Counter*, PacketRefusals::kReasons> refused_{};
  std::array<std::uint64_t, PacketRefusals::kReasons> refused_last_{};
  prometheus::Gauge* chain_head_ = nullptr;  // the one event_chain_head_info series
  std::string chain_head_label_;
};

}  // namespace flightwall
