// `flightwall audit`: replay captures through the engine with the policy and
// write the verification reports.
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include "cli/audit_feed.h"
#include "cli/commands.h"
#include "engine/engine.h"
#include "policy/policy_loader.h"
#include "sink/audit_report.h"
#include "sink/baseline.h"
#include "sink/event_log.h"
#include "sink/report_writers.h"

namespace flightwall {
namespace {

// Opens `path` for writing ("-" = stdout); reports and returns false on error.
bool WriteFile(const std::string& path, const std::function<void(std::ostream&)>& write) {
  if (path == "-") {
    write(std::cout);
    return true;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "flightwall audit: cannot write " << path
              << ": check that the directory exists and is writable\n";
    return false;
  }
  write(out);
  out.flush();
  if (!out) {
    std::cerr << "flightwall audit: writing " << path << " failed (disk full?)\n";
    return false;
  }
  return true;
}

void AddSelectorNotes(const Policy& policy, Vantage vantage, AuditReport* report) {
  for (const FlightApp& app : policy.flight_apps) {
    if (!app.interfaces.empty() || !app.users.empty() || !app.cgroups.empty()) {
      report->AddNote("flight app '" + app.name +
                      "': interface, user and cgroup selectors cannot be seen in a capture and "
                      "were ignored; source addresses decide which traffic is the app's");
    }
    if (app.sources.empty() && vantage == Vantage::kNetwork) {
      report->AddNote("flight app '" + app.name +
                      "' has no source CIDRs, so none of the captured traffic can be attributed "
                      "to it; for a capture taken on the device use --vantage device");
    }
  }
  if (vantage == Vantage::kDevice) {
    report->AddNote("device vantage: all captured traffic is treated as flight-app '" +
                    (policy.flight_apps.empty() ? std::string("?") : policy.flight_apps[0].name) +
                    "' traffic");
  }
}

}  // namespace

int RunAudit(const AuditOptions& o) {
  const PolicyLoadResult loaded = LoadPolicy(o.policy);
  if (!loaded.policy) {
    for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
    std::cerr << "flightwall audit: the policy has " << loaded.errors.size()
              << " error(s); run 'flightwall check --policy " << o.policy << "' after fixing\n";
    return kExitUsage;
  }
  const Policy& policy = *loaded.policy;
  // Read before the captures: a wrong --baseline fails in a second, not
  // after an hour of replay.
  Baseline baseline;
  if (!o.baseline.empty()) {
    std::string why;
    if (!LoadBaseline(o.baseline, &baseline, &why)) {
      std::cerr << "flightwall audit: " << why << "\n";
      return kExitUsage;
    }
  }
  const Vantage vantage = o.vantage == "device" ? Vantage::kDevice : Vantage::kNetwork;
  Engine engine(policy, vantage);
  AuditReport report(policy);
  report.SetVantage(o.vantage);
  AddSelectorNotes(policy, vantage, &report);
  engine.AddSink(&report);

  std::ofstream events_file;
  std::unique_ptr<OstreamLineWriter> events_writer;
  std::unique_ptr<EventLog> events;
  if (!o.events.empty()) {
    std::ostream* out = &std::cout;
    if (o.events != "-") {
      events_file.open(o.events, std::ios::binary | std::ios::trunc);
      if (!events_file) {
        std::cerr << "flightwall audit: cannot write " << o.events
                  << ": check that the directory exists and is writable\n";
        return kExitUsage;
      }
      out = &events_file;
    }
    events_writer = std::make_unique<OstreamLineWriter>(*out);
    events = std::make_unique<EventLog>(policy, *events_writer);
    engine.AddSink(events.get());
  }

  const FeedResult fed = o.live.empty() ? FeedCaptureFiles(o, engine, report)
                                        : FeedLiveCapture(o, policy, vantage, engine, report);
  if (!fed.started) return kExitUsage;
  engine.Finish();
  report.CheckTrafficSeen();
  if (!o.baseline.empty()) report.SetBaseline(CompareWithBaseline(baseline, report));

  const EngineStats& es = engine.Stats();
  const DecoderStats& ds = engine.DecodeStats();
  report.SetCounters({{"packets", es.packets},
                      {"ip_packets", es.ip_packets},
                      {"decode_malformed", ds.malformed},
                      {"decode_not_ip", ds.not_ip},
                      {"decode_unsupported", ds.unsupported},
                      {"ip_fragments", ds.fragments},
                      {"ip_reassembled", ds.reassembled},
                      {"fragment_evictions", ds.fragment_evictions},
                      {"flows_created", es.flows_created},
                      {"flows_evicted", es.flows_evicted},
                      {"flows_expired", es.flows_expired},
                      {"stream_gaps", es.stream_gaps},
                      {"stream_buffer_exhausted", es.stream_buffer_exhausted},
                      {"quic_parser_exhausted", es.quic_parser_exhausted},
                      {"dns_malformed", es.dns_malformed},
                      {"dns_unmatched_responses", es.dns_unmatched_responses},
                      {"names_bound", es.names_bound}});

  bool ok = true;
  if (!o.report_json.empty())
    ok &= WriteFile(o.report_json, [&](std::ostream& s) { WriteReportJson(report, s); });
  if (!o.report_html.empty())
    ok &= WriteFile(o.report_html, [&](std::ostream& s) { WriteReportHtml(report, s); });
  if (!o.junit.empty())
    ok &= WriteFile(o.junit, [&](std::ostream& s) { WriteReportJunit(report, s); });
  if (events_file.is_open()) {
    events_file.flush();
    if (!events_file) {
      std::cerr << "flightwall audit: writing " << o.events << " failed (disk full?)\n";
      ok = false;
    }
  }
  if (!o.quiet && o.report_json != "-") {
    WriteReportSummary(report, std::cout);
    if (const BaselineDiff* b = report.BaselineChanges()) WriteBaselineSummary(*b, std::cout);
  }
  if (!ok || !fed.output_ok) return kExitUsage;
  // Proven findings first: a leak (or an attempt, when asked) fails the run
  // whatever else is missing; only then does incomplete evidence keep it
  // from passing.
  if (report.LeakCount() > 0) return kExitFindings;
  if (o.fail_on == "attempts" && report.AttemptCount() > 0) return kExitFindings;
  if (report.Inconclusive()) return kExitInconclusive;
  return kExitOk;
}

}  // namespace flightwall
