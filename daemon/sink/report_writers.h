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
// Short human summary for the terminal.
void WriteReportSummary(const AuditReport& report, std::ostream& out);

}  // namespace flightwall
