// The two sources of `flightwall audit`: capture files and a live interface.
// Each feeds every packet to the engine (which reports to the AuditReport
// through its sinks) and records in the report what its evidence covers:
// the inputs, and the evidence problems only the source can see (a damaged
// file, capture drops, packets cut by the snap length). The caller runs
// Engine::Finish() and writes the reports afterwards, the same for both.
#pragma once

#include <string>

#include "cli/commands.h"
#include "engine/engine.h"
#include "policy/policy.h"
#include "sink/audit_report.h"

namespace flightwall {

// The outcome of feeding: `started` false means nothing could be read (the
// error is printed; exit 2); `output_ok` false means a file the source was
// asked to write (--write) failed, which is also exit 2 once reports exist.
struct FeedResult {
  bool started = false;
  bool output_ok = true;
};

FeedResult FeedCaptureFiles(const AuditOptions& options, Engine& engine, AuditReport& report);
FeedResult FeedLiveCapture(const AuditOptions& options, const Policy& policy, Vantage vantage,
                           Engine& engine, AuditReport& report);

// The BPF filter of a live capture at the network vantage: the flight apps'
// source addresses plus DNS ("" = everything: device vantage, or no app
// with sources).
std::string LiveCaptureFilter(const Policy& policy, Vantage vantage);

}  // namespace flightwall
