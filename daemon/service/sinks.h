// DaemonSinks: the daemon's evidence outputs, owned together: the
// hash-chained event log file, the thread that writes it (EventWriter) and
// the Prometheus metrics. Each worker gets its outputs (ForWorker): an event
// sink that queues its engine's decisions for the writer, following the
// policy of that worker's engine, and a tally of its packet verdicts that
// Update() folds into the metrics. Neither takes a lock or does I/O on the
// packet path.
// ForWorker is called before Start; Start, Reopen, SetPolicy, Update and
// Close by the main thread. Close (after the workers stopped) writes every
// queued event and publishes the final chain head. EventLog and Denials (for
// `flightwall status`) may be read from any thread; neither waits for the disk.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "service/daemon_config.h"
#include "service/enforcer.h"
#include "service/name_cache_store.h"

namespace flightwall {

class Enforcer;
class NfqueueSource;
class RecentDenials;
struct VerdictTally;

// Where the event log stands, for `flightwall status`.
struct EventLogStatus {
  bool enabled = false;  // events.path set
  std::string path;
  std::uint64_t lines_written = 0;  // since the daemon started
  std::uint64_t lost = 0;           // lines not written (disk) + events dropped (full ring)
  std::uint64_t chain_seq = 0;      // the chain's head: last line on disk
  std::string chain_head;           // its hash ("" before the first line)
};

// SIGHUP reloads since the start, for `flightwall status` (the metrics
// count them too: flightwall_policy_reloads_total).
struct ReloadStatus {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::string last;  // "" (none) | ok | failed
  Timestamp last_at = 0;
};

struct WorkerOutputs {
  WorkerEvents* events = nullptr;    // owned by the DaemonSinks
  VerdictTally* verdicts = nullptr;  // owned by the DaemonSinks
};

class DaemonSinks {
 public:
  // On failure the Status names what could not be opened and what to do.
  // `workers`: how many ForWorker calls follow (they share
  // config.event_queue).
  static Result<std::unique_ptr<DaemonSinks>> Open(const DaemonConfig& config,
                                                   const std::shared_ptr<const Policy>& policy,
                                                   std::size_t workers);
  ~DaemonSinks();
  DaemonSinks(const DaemonSinks&) = delete;
  DaemonSinks& operator=(const DaemonSinks&) = delete;

  WorkerOutputs ForWorker();
  void Start();   // the event writer thread
  void Reopen();  // SIGUSR1: logrotate moved the event log
  void SetPolicy(const Policy& policy);
  // A reload ended (`at`: wall clock); main thread only, like Reloads().
  void PolicyReload(bool ok, Timestamp at);
  void NamesRestored(const NameRestoreCounts& counts);
  // Refreshes gauges from the enforcer and the kernel's queue statistics.
  // `confirmations`: the name confirmer's counts, null when it did not start.
  void Update(Enforcer& enforcer, const std::vector<const NfqueueSource*>& sources,
              const DnsConfirmerStats* confirmations = nullptr);
  void Close();

  EventLogStatus EventLog() const;
  const ReloadStatus& Reloads() const;
  // The last denials the event writer formatted.
  const RecentDenials& Denials() const;

 private:
  DaemonSinks();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightwall
