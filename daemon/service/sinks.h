// DaemonSinks: the daemon's evidence outputs, owned together: the
// hash-chained event log file (written at decision time) and the Prometheus
// metrics. Each worker gets its own event sink (ForWorker) that follows the
// policy of that worker's engine; the workers append to the one chain in
// turn (a mutex) and count in the one set of metrics (thread-safe).
// ForWorker is called before the workers run; Reopen/SetPolicy/Update/Close
// by the main thread.
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

class DaemonSinks {
 public:
  // nullptr with *error naming what could not be opened and what to do.
  static std::unique_ptr<DaemonSinks> Open(const DaemonConfig& config,
                                           const std::shared_ptr<const Policy>& policy,
                                           std::string* error);
  ~DaemonSinks();
  DaemonSinks(const DaemonSinks&) = delete;
  DaemonSinks& operator=(const DaemonSinks&) = delete;

  WorkerEvents* ForWorker();  // owned by the DaemonSinks
  void Reopen();              // SIGUSR1: logrotate moved the event log
  void SetPolicy(const Policy& policy);
  void PolicyReload(bool ok);
  void ObserveVerdict(Verdict verdict, std::uint32_t bytes, double latency_seconds);
  // Refreshes gauges from the enforcer and the kernel's queue statistics.
  void Update(Enforcer& enforcer, const std::vector<const NfqueueSource*>& sources);
  void Close();

 private:
  DaemonSinks();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightwall
