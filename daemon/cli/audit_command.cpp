// `flightwall audit`: replay captures through the engine with the policy and
// write the verification reports.
#include <algorithm>
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
#include "sink/campaign_file.h"
#include "sink/campaign_report.h"
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

// One audit: the captures (or the live interface) of `o` through a fresh
// engine into `report`, and `events` when given. False when nothing could
// be read (the error is printed).
FeedResult AuditInto(const AuditOptions& o, const Policy& policy, AuditReport& report,
                     OstreamLineWriter* events_writer) {
  const Vantage vantage = o.vantage == "device" ? Vantage::kDevice : Vantage::kNetwork;
  Engine engine(policy, vantage);
  report.SetVantage(o.vantage);
  AddSelectorNotes(policy, vantage, &report);
  engine.AddSink(&report);
  std::unique_ptr<EventLog> events;
  if (events_writer != nullptr) {
    events = std::make_unique<EventLog>(policy, *events_writer);
    engine.AddSink(events.get());
  }
  const FeedResult fed = o.live.empty() ? FeedCaptureFiles(o, engine, report)
                                        : FeedLiveCapture(o, policy, vantage, engine, report);
  if (!fed.started) return fed;
  engine.Finish();
  report.CheckTrafficSeen();
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
  return fed;
}

// Proven findings first: a leak (or an attempt, when asked) fails the run
// whatever else is missing; only then does incomplete evidence keep it
// from passing. Over a campaign: any scenario's.
int ExitCodeFor(const std::vector<const AuditReport*>& reports, const std::string& fail_on) {
  const auto any = [&](auto pred) { return std::any_of(reports.begin(), reports.end(), pred); };
  if (any([](const AuditReport* r) { return r->LeakCount() > 0; })) return kExitFindings;
  if (fail_on == "attempts" && any([](const AuditReport* r) { return r->AttemptCount() > 0; })) {
    return kExitFindings;
  }
  if (any([](const AuditReport* r) { return r->Inconclusive(); })) return kExitInconclusive;
  return kExitOk;
}

// --scenario NAME=CAPTURE ...: in the order first named; a name given again
// adds its capture.
std::vector<Scenario> ScenariosOf(const std::vector<std::string>& specs) {
  std::vector<Scenario> out;
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    const std::string name = spec.substr(0, eq);
    auto it =
        std::find_if(out.begin(), out.end(), [&](const Scenario& s) { return s.name == name; });
    if (it == out.end()) {
      out.push_back(Scenario{name, {}, nullptr, {}});
      it = out.end() - 1;
    }
    it->captures.push_back(spec.substr(eq + 1));
  }
  return out;
}

// "out/report.html" -> "out/report-idle.html" (a sibling, linked relatively).
std::string ScenarioPage(const std::string& html, const std::string& name, std::string* link) {
  const auto slash = html.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : html.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? html : html.substr(slash + 1);
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".html") == 0) {
    base.resize(base.size() - 5);
  }
  *link = base + "-" + name + ".html";
  return dir + *link;
}

int RunCampaign(const AuditOptions& o, const Policy& policy, const CampaignInfo& info,
                std::vector<Scenario> scenarios, const Baseline* baseline,
                OstreamLineWriter* events_writer) {
  bool output_ok = true;
  for (Scenario& s : scenarios) {
    AuditOptions one = o;
    one.captures = s.captures;
    one.scenarios.clear();
    s.report = std::make_unique<AuditReport>(policy);
    s.report->AddNote("scenario '" + s.name + "' of a campaign of " +
                      std::to_string(scenarios.size()));
    const FeedResult fed = AuditInto(one, policy, *s.report, events_writer);
    if (!fed.started) {
      std::cerr << "flightwall audit: scenario '" << s.name << "' could not be read\n";
      return kExitUsage;
    }
    output_ok &= fed.output_ok;
    if (baseline == nullptr) continue;
    // A campaign's baseline compares scenario by scenario (by name); a single
    // audit's report is the baseline of every scenario.
    if (const std::vector<BaselineDestination>* earlier = baseline->For(s.name)) {
      s.report->SetBaseline(CompareWithBaseline(*baseline, *earlier, *s.report));
    } else {
      s.report->AddNote("the baseline " + baseline->path + " has no scenario '" + s.name +
                        "': not compared");
    }
  }
  bool ok = true;
  if (!o.report_json.empty())
    ok &= WriteFile(o.report_json, [&](std::ostream& s) { WriteCampaignJson(info, scenarios, s); });
  if (!o.report_html.empty()) {
    std::vector<std::string> links;
    for (const Scenario& s : scenarios) {
      std::string link;
      const std::string page = ScenarioPage(o.report_html, s.name, &link);
      ok &= WriteFile(page, [&](std::ostream& out) { WriteReportHtml(*s.report, out); });
      links.push_back(link);
    }
    ok &= WriteFile(o.report_html,
                    [&](std::ostream& s) { WriteCampaignHtml(info, scenarios, links, s); });
  }
  if (!o.junit.empty())
    ok &= WriteFile(o.junit, [&](std::ostream& s) { WriteCampaignJunit(scenarios, s); });
  if (!o.quiet && o.report_json != "-") WriteCampaignSummary(info, scenarios, std::cout);
  if (!ok || !output_ok) return kExitUsage;
  std::vector<const AuditReport*> reports;
  reports.reserve(scenarios.size());
  for (const Scenario& s : scenarios) reports.push_back(s.report.get());
  return ExitCodeFor(reports, o.fail_on);
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
  // Read before the captures: a wrong --campaign or --baseline fails in a
  // second, not after an hour of replay.
  CampaignFile campaign;
  if (!o.campaign.empty()) {
    CampaignLoadResult c = LoadCampaign(o.campaign);
    if (!c.campaign) {
      for (const auto& e : c.errors) std::cerr << e.ToString() << "\n";
      std::cerr << "flightwall audit: the campaign has " << c.errors.size() << " error(s)\n";
      return kExitUsage;
    }
    campaign = std::move(*c.campaign);
  }
  Baseline baseline;
  if (!o.baseline.empty()) {
    Result<Baseline> read = LoadBaseline(o.baseline);
    if (!read.ok()) {
      std::cerr << "flightwall audit: " << read.status().ToString() << "\n";
      return kExitUsage;
    }
    baseline = std::move(read).value();
  }

  std::ofstream events_file;
  std::unique_ptr<OstreamLineWriter> events_writer;
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
  }
  const auto events_ok = [&]() {
    if (!events_file.is_open()) return true;
    events_file.flush();
    if (events_file) return true;
    std::cerr << "flightwall audit: writing " << o.events << " failed (disk full?)\n";
    return false;
  };
  if (!o.scenarios.empty()) {
    const int rc = RunCampaign(o, policy, {}, ScenariosOf(o.scenarios),
                               o.baseline.empty() ? nullptr : &baseline, events_writer.get());
    return events_ok() ? rc : kExitUsage;
  }
  if (!o.campaign.empty()) {
    AuditOptions with_vantage = o;
    with_vantage.vantage = campaign.vantage;
    const CampaignInfo info{campaign.path,    campaign.sha256, campaign.app,
                            campaign.version, campaign.device, campaign.vantage};
    std::vector<Scenario> scenarios;
    for (const CampaignScenario& s : campaign.scenarios) {
      scenarios.push_back(Scenario{s.name, s.captures, nullptr, s.description});
    }
    const int rc = RunCampaign(with_vantage, policy, info, std::move(scenarios),
                               o.baseline.empty() ? nullptr : &baseline, events_writer.get());
    return events_ok() ? rc : kExitUsage;
  }

  if (!baseline.scenarios.empty()) {
    std::cerr << "flightwall audit: --baseline " << o.baseline
              << " is a campaign's report: compare it with a campaign (--scenario or "
                 "--campaign), scenario by scenario\n";
    return kExitUsage;
  }
  AuditReport report(policy);
  const FeedResult fed = AuditInto(o, policy, report, events_writer.get());
  if (!fed.started) return kExitUsage;
  if (!o.baseline.empty()) report.SetBaseline(CompareWithBaseline(baseline, report));

  bool ok = true;
  if (!o.report_json.empty())
    ok &= WriteFile(o.report_json, [&](std::ostream& s) { WriteReportJson(report, s); });
  if (!o.report_html.empty())
    ok &= WriteFile(o.report_html, [&](std::ostream& s) { WriteReportHtml(report, s); });
  if (!o.junit.empty())
    ok &= WriteFile(o.junit, [&](std::ostream& s) { WriteReportJunit(report, s); });
  ok &= events_ok();
  if (!o.quiet && o.report_json != "-") {
    WriteReportSummary(report, std::cout);
    if (const BaselineDiff* b = report.BaselineChanges()) WriteBaselineSummary(*b, std::cout);
  }
  if (!ok || !fed.output_ok) return kExitUsage;
  return ExitCodeFor({&report}, o.fail_on);
}

}  // namespace flightwall
