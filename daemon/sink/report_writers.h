// Renderers of an AuditReport: JSON for machines (deterministic: the same
// inputs give byte-identical output), one self-contained HTML page for
// people (no network: inline CSS and SVG), JUnit XML for CI systems.
#pragma once

#include <ostream>
#include <string>

#include "sink/audit_report.h"

namespace flightwall {

void WriteReportJson(const AuditReport& report, std::ostream& out);
void WriteReportHtml(const AuditReport& report, std::ostream& out);
void WriteReportJunit(const AuditReport& report, std::ostream& out);
// One <testsuite name="NAME"> of a report's test cases (campaigns write one
// per scenario); `counts` gets its tests, failures and errors.
struct JunitCounts {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t errors = 0;
};
std::string JunitSuite(const AuditReport& report, const std::string& name, JunitCounts* counts);
// The <testsuite name="NAME"> of what changed since a baseline: each new
// destination a failure, more bytes and gone destinations as output.
std::string JunitBaselineSuite(const BaselineDiff& diff, const std::string& name,
                               JunitCounts* counts);
// The report page's style sheet, and bytes as people read them ("1.2 MiB"),
// for pages that sit beside a report (campaigns).
const char* ReportCss();
std::string HumanBytes(std::uint64_t bytes);
// Short human summary for the terminal.
void WriteReportSummary(const AuditReport& report, std::ostream& out);

}  // namespace flightwall
