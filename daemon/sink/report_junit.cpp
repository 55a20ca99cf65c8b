#include <string>

#include "sink/report_writers.h"
#include "sink/xml_escape.h"

namespace flightwall {

namespace {

// What changed since the baseline: a new destination is a failure for a
// reviewer to look at (the app now talks to someone it did not); one gone,
// or more bytes to a known one, is recorded as output.
std::string BaselineSuiteOf(const BaselineDiff& b, const std::string& name, JunitCounts* counts) {
  std::string body;
  std::size_t tests = 0;
  for (const DestinationChange& c : b.added) {
    ++tests;
    body += "    <testcase classname=\"flightwall.baseline.new\" name=\"" + XmlEscape(c.host) +
            "\">\n      <failure type=\"new-destination\" message=\"" +
            XmlEscape("new since the baseline: " + c.host + " (" + c.category + ")") + "\">" +
            XmlEscape(std::to_string(c.bytes_after) + " bytes out, " +
                      std::to_string(c.attempts_after) + " attempt(s) denied, " +
                      std::to_string(c.leaks_after) + " leak(s)") +
            "</failure>\n    </testcase>\n";
  }
  for (const DestinationChange& c : b.more_bytes) {
    ++tests;
    body += "    <testcase classname=\"flightwall.baseline.more-bytes\" name=\"" +
            XmlEscape(c.host) + "\">\n      <system-out>" +
            XmlEscape(std::to_string(c.bytes_before) + " -> " + std::to_string(c.bytes_after) +
                      " bytes out") +
            "</system-out>\n    </testcase>\n";
  }
  for (const DestinationChange& c : b.removed) {
    ++tests;
    body += "    <testcase classname=\"flightwall.baseline.gone\" name=\"" + XmlEscape(c.host) +
            "\">\n      <system-out>" +
            XmlEscape("not contacted any more (" + std::to_string(c.bytes_before) +
                      " bytes out in the baseline)") +
            "</system-out>\n    </testcase>\n";
  }
  *counts = {tests, b.added.size(), 0};
  return "  <testsuite name=\"" + XmlEscape(name) + "\" tests=\"" + std::to_string(tests) +
         "\" failures=\"" + std::to_string(b.added.size()) + "\" errors=\"0\">\n" + body +
         "  </testsuite>\n";
}

}  // namespace

std::string JunitBaselineSuite(const BaselineDiff& b, const std::string& name,
                               JunitCounts* counts) {
  return BaselineSuiteOf(b, name, counts);
}

std::string JunitSuite(const AuditReport& r, const std::string& name, JunitCounts* counts) {
  // One testcase per destination and per denied DNS name; a leak is a
  // failure, an attempt that was stopped before data left is not.
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::string body;
  for (const Destination* d : r.Destinations()) {
    ++tests;
    body += "    <testcase classname=\"flightwall.destination." + XmlEscape(d->category) +
            "\" name=\"" + XmlEscape(d->host) + "\">\n";
    if (d->leaks > 0) {
      ++failures;
      std::string reasons;
      for (const auto& s : d->reasons) reasons += (reasons.empty() ? "" : ", ") + s;
      body += "      <failure type=\"leak\" message=\"" +
              XmlEscape(std::to_string(d->leaks) + " leak(s) to " + d->host + ": " + reasons) +
              "\">" +
              XmlEscape(std::to_string(d->bytes_out) + " bytes sent in " +
                        std::to_string(d->flows) + " flow(s)") +
              "</failure>\n";
    } else if (d->attempts > 0) {
      body += "      <system-out>" +
              XmlEscape(std::to_string(d->attempts) + " attempt(s) denied, no data delivered") +
              "</system-out>\n";
    }
    body += "    </testcase>\n";
  }
  for (const Finding& f : r.Attempts()) {
    if (f.kind != "dns") continue;
    ++tests;
    body += "    <testcase classname=\"flightwall.dns\" name=\"" + XmlEscape(f.hostname) + " @" +
            XmlEscape(f.dst) + "#" + std::to_string(f.first_packet) + "\">\n";
    if (f.leaked) {
      ++failures;
      body += "      <failure type=\"leak\" message=\"" +
              XmlEscape("DNS question answered: " + f.reason) + "\">packet " +
              std::to_string(f.first_packet) + " answered by packet " +
              std::to_string(f.evidence_packet) + "</failure>\n";
    }
    body += "    </testcase>\n";
  }
  // Incomplete evidence is an error, not a failure: nothing was proven to
  // leak, but the run cannot pass. One testcase per kind of problem.
  std::size_t errors = 0;
  for (const auto& [kind, count] : r.EvidenceProblemCounts()) {
    ++tests;
    ++errors;
    std::string where;
    for (const EvidenceProblem& e : r.EvidenceProblems()) {
      if (e.kind == kind) where += e.where + ": " + e.detail + "\n";
    }
    body += "    <testcase classname=\"flightwall.evidence\" name=\"" + XmlEscape(kind) + "\">\n";
    body += "      <error type=\"inconclusive\" message=\"" +
            XmlEscape(std::to_string(count) + " evidence problem(s): " + kind) + "\">" +
            XmlEscape(where) + "</error>\n";
    body += "    </testcase>\n";
  }
  *counts = {tests, failures, errors};
  return "  <testsuite name=\"" + XmlEscape(name) + "\" tests=\"" + std::to_string(tests) +
         "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
         "\">\n" + body + "  </testsuite>\n";
}

void WriteReportJunit(const AuditReport& r, std::ostream& out) {
  JunitCounts c;
  const std::string suite = JunitSuite(r, r.PolicyUsed().name, &c);
  const auto [tests, failures, errors] = c;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const BaselineDiff* b = r.BaselineChanges();
  const std::size_t baseline_tests =
      b ? b->added.size() + b->more_bytes.size() + b->removed.size() : 0;
  const std::size_t baseline_failures = b ? b->added.size() : 0;
  out << "<testsuites name=\"flightwall audit\" tests=\"" << tests + baseline_tests
      << "\" failures=\"" << failures + baseline_failures << "\" errors=\"" << errors << "\">\n";
  out << suite;
  if (b) {
    JunitCounts ignored;
    out << BaselineSuiteOf(*b, "changes since " + b->path, &ignored);
  }
  out << "</testsuites>\n";
}

}  // namespace flightwall
