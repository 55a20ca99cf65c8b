// CampaignReport: one `flightwall audit` over several scenarios (`--scenario
// idle=idle.pcapng --scenario flying=flight.pcapng`), as an auditor compares
// an idle app, a flight and a reduced-entitlements session. Each scenario is
// audited on its own (its own engine and AuditReport); the campaign adds a
// verdict over all of them and a destinations x scenarios matrix (bytes
// out, attempts, leaks, first seen relative to the scenario's start).
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sink/audit_report.h"

namespace flightwall {

struct Scenario {
  std::string name;
  std::vector<std::string> captures;
  std::unique_ptr<AuditReport> report;  // filled by the audit
  std::string description;
};

// What the campaign file said it audits (sink/campaign_file.h); empty for
// scenarios given with --scenario.
struct CampaignInfo {
  std::string file;
  std::string sha256;
  std::string app;
  std::string version;
  std::string device;
  std::string vantage;
};

// The worst verdict of all: leak > inconclusive > attempts > clean.
std::string CampaignVerdict(const std::vector<Scenario>& scenarios);
// Seconds from the scenario's first captured packet to the destination's
// first flow (-1 when unknown).
double FirstSeenSeconds(const AuditReport& report, const Destination& d);

// JSON: {"tool", "verdict", "scenarios": [{"name", "verdict", "captures",
// "report": <the scenario's full report>}], "matrix": [{"host", "category",
// "scenarios": {NAME: {"bytes_out", "attempts", "leaks", "first_seen_s"}}}]}.
void WriteCampaignJson(const CampaignInfo& info, const std::vector<Scenario>& scenarios,
                       std::ostream& out);
// JUnit: one testsuite per scenario, named after it.
void WriteCampaignJunit(const std::vector<Scenario>& scenarios, std::ostream& out);
// HTML: the verdicts and the matrix; `scenario_pages[i]` (relative links)
// holds scenario i's full report.
void WriteCampaignHtml(const CampaignInfo& info, const std::vector<Scenario>& scenarios,
                       const std::vector<std::string>& scenario_pages, std::ostream& out);
void WriteCampaignSummary(const CampaignInfo& info, const std::vector<Scenario>& scenarios,
                          std::ostream& out);

}  // namespace flightwall
