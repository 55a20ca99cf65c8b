// Baseline: what an earlier audit (`--report-json` of the last app version)
// saw, and how this audit's destinations differ from it (`flightwall audit
// --baseline OLD.json`): destinations that are new, destinations gone, and
// destinations the app now sends more bytes to.
//
// The baseline file is input: it is read with a size bound, every field is
// type-checked, and a file that is not a flightwall JSON report is refused
// with its name and what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"

namespace flightwall {

class AuditReport;

struct BaselineDestination {
  std::string host;
  std::string category;
  std::uint64_t bytes_out = 0;
  std::uint64_t attempts = 0;
  std::uint64_t leaks = 0;
};

struct Baseline {
  std::string path;
  std::string sha256;  // of the file, so the report says which baseline it compared with
  std::string verdict;
  std::string policy;                             // the policy name it was audited with
  std::vector<BaselineDestination> destinations;  // a single audit's report
  // A campaign's report (`--scenario`/`--campaign`): each scenario's, by name.
  std::map<std::string, std::vector<BaselineDestination>> scenarios;

  // What to compare scenario `name` with: the single report's destinations,
  // or the campaign's scenario of that name (null when it had none).
  const std::vector<BaselineDestination>* For(const std::string& name) const;
};

// The largest report `flightwall audit` writes is a few tens of MB.
inline constexpr std::uint64_t kMaxBaselineBytes = 256ULL << 20;
inline constexpr std::size_t kMaxBaselineScenarios = 64;

// On failure the Status names the file (as "--baseline PATH") and what to do.
Result<Baseline> LoadBaseline(const std::string& path);
// The same from text (tests, fuzzing); `path` only names it in errors.
Result<Baseline> ParseBaseline(const std::string& text, const std::string& path);

struct DestinationChange {
  std::string host;
  std::string category;
  std::uint64_t bytes_before = 0;
  std::uint64_t bytes_after = 0;
  std::uint64_t attempts_after = 0;
  std::uint64_t leaks_after = 0;
};

struct BaselineDiff {
  std::string path;
  std::string sha256;
  std::string verdict;                        // the baseline's
  std::vector<DestinationChange> added;       // in this audit, not in the baseline
  std::vector<DestinationChange> removed;     // in the baseline, not in this audit
  std::vector<DestinationChange> more_bytes;  // in both; more bytes sent now
};

// Compares by destination host (name, or address when no name was known);
// the report's "(other destinations)" fold is not a host and is skipped.
BaselineDiff CompareWithBaseline(const Baseline& baseline, const AuditReport& report);
// The same against `earlier` (Baseline::For a scenario).
BaselineDiff CompareWithBaseline(const Baseline& baseline,
                                 const std::vector<BaselineDestination>& earlier,
                                 const AuditReport& report);

// The changes for the terminal, after the audit's summary.
void WriteBaselineSummary(const BaselineDiff& diff, std::ostream& out);

}  // namespace flightwall
