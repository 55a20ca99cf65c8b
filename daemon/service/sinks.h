// DaemonSinks: the daemon's evidence outputs, owned together: the
// hash-chained event log file, the thread that writes it (EventWriter) and
// the Prometheus metrics. Each worker gets its outputs (ForWorker): an event
// sink that queues its engine's decisions for the writer, following the
// policy of that worker's engine, and a tally of its packet verdicts that
// Update() folds into the metrics. Neither takes a lock or does I/O on the
// packet path.
// ForWorker is called before Start; Start, Reopen, SetPolicy, Update and
// Close by the main thread. Close (after the workers stopped) writes every
// queued event and publishes the final chain head.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "service/daemon_config.h"
#include "service/enforcer.h"

namespace flightwall {

class Enforcer;
class NfqueueSource;
struct VerdictTally;

struct WorkerOutputs {
  WorkerEvents* events = nullptr;    // owned by the DaemonSinks
  VerdictTally* verdicts = nullptr;  // owned by the DaemonSinks
};

class DaemonSinks {
 public:
  // nullptr with *error naming what could not be opened and what to do.
  // `workers`: how many ForWorker calls follow (they share
  // config.event_queue).
  static std::unique_ptr<DaemonSinks> Open(const DaemonConfig& config,
                                           const std::shared_ptr<const Policy>& policy,
                                           std::size_t workers, std::string* error);
  ~DaemonSinks();
  DaemonSinks(const DaemonSinks&) = delete;
  DaemonSinks& operator=(const DaemonSinks&) = delete;

  WorkerOutputs ForWorker();
  void Start();   // the event writer thread
  void Reopen();  // SIGUSR1: logrotate moved the event log
  void SetPolicy(const Policy& policy);
  void PolicyReload(bool ok);
  // Refreshes gauges from the enforcer and the kernel's queue statistics.
  void Update(Enforcer& enforcer, const std::vector<const NfqueueSource*>& sources);
  void Close();

 private:
  DaemonSinks();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightwall
