#include "sink/campaign_report.h"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/time_format.h"
#include "sink/report_writers.h"
#include "sink/xml_escape.h"

namespace flightwall {
namespace {

using Json = nlohmann::ordered_json;

int Rank(const std::string& verdict) {
  if (verdict == "leak") return 3;
  if (verdict == "inconclusive") return 2;
  if (verdict == "attempts") return 1;
  return 0;
}

Timestamp StartOf(const AuditReport& r) {
  Timestamp start = 0;
  for (const InputSummary& in : r.Inputs()) {
    if (in.packets > 0 && (start == 0 || in.first_time < start)) start = in.first_time;
  }
  return start;
}

// One matrix row per destination host, in order of first appearance over
// the scenarios; cells by scenario index.
struct Row {
  std::string host;
  std::string category;
  std::map<std::size_t, const Destination*> cells;
};

std::vector<Row> Matrix(const std::vector<Scenario>& scenarios) {
  std::vector<Row> rows;
  std::map<std::string, std::size_t> index;
  for (std::size_t s = 0; s < scenarios.size(); ++s) {
    for (const Destination* d : scenarios[s].report->Destinations()) {
      auto [it, fresh] = index.emplace(d->host, rows.size());
      if (fresh) rows.push_back({d->host, d->category, {}});
      rows[it->second].cells[s] = d;
    }
  }
  return rows;
}

}  // namespace

std::string CampaignVerdict(const std::vector<Scenario>& scenarios) {
  std::string worst = "clean";
  for (const Scenario& s : scenarios) {
    const std::string v = s.report->Verdict();
    if (Rank(v) > Rank(worst)) worst = v;
  }
  return worst;
}

double FirstSeenSeconds(const AuditReport& report, const Destination& d) {
  const Timestamp start = StartOf(report);
  if (start == 0 || d.first_time < start) return -1;
  return static_cast<double>(d.first_time - start) / kMicrosPerSecond;
}

namespace {

// "DJI Pilot 2 9.1.0 on DJI RC Plus" (what is known of it).
std::string Subject(const CampaignInfo& info) {
  std::string s = info.app;
  if (!info.version.empty()) {
    s += s.empty() ? "version " : " ";
    s += info.version;
  }
  if (!info.device.empty()) {
    s += s.empty() ? "on " : " on ";
    s += info.device;
  }
  return s;
}

}  // namespace

void WriteCampaignJson(const CampaignInfo& info, const std::vector<Scenario>& scenarios,
                       std::ostream& out) {
  Json j;
  j["tool"] = {{"name", "flightwall"}, {"version", FLIGHTWALL_VERSION}};
  j["verdict"] = CampaignVerdict(scenarios);
  if (!info.file.empty()) {
    j["campaign"] = {{"file", info.file},       {"sha256", info.sha256}, {"app", info.app},
                     {"version", info.version}, {"device", info.device}, {"vantage", info.vantage}};
  }
  Json list = Json::array();
  for (const Scenario& s : scenarios) {
    std::ostringstream one;
    WriteReportJson(*s.report, one);
    // The scenario's own report, as a file audit of its captures writes it.
    Json report = Json::parse(one.str(), nullptr, false);
    list.push_back({{"name", s.name},
                    {"description", s.description},
                    {"verdict", s.report->Verdict()},
                    {"captures", s.captures},
                    {"report", std::move(report)}});
  }
  j["scenarios"] = std::move(list);
  Json matrix = Json::array();
  for (const Row& row : Matrix(scenarios)) {
    Json cells = Json::object();
    for (std::size_t s = 0; s < scenarios.size(); ++s) {
      const auto it = row.cells.find(s);
      if (it == row.cells.end()) {
        cells[scenarios[s].name] = nullptr;  // not contacted in this scenario
        continue;
      }
      const Destination& d = *it->second;
      cells[scenarios[s].name] = {{"bytes_out", d.bytes_out},
                                  {"attempts", d.attempts},
                                  {"leaks", d.leaks},
                                  {"verdict", d.verdict},
                                  {"first_seen_s", FirstSeenSeconds(*scenarios[s].report, d)}};
    }
    matrix.push_back({{"host", row.host}, {"category", row.category}, {"scenarios", cells}});
  }
  j["matrix"] = std::move(matrix);
  out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

void WriteCampaignJunit(const std::vector<Scenario>& scenarios, std::ostream& out) {
  JunitCounts total;
  std::string suites;
  for (const Scenario& s : scenarios) {
    JunitCounts c;
    suites += JunitSuite(*s.report, s.name, &c);
    total.tests += c.tests;
    total.failures += c.failures;
    total.errors += c.errors;
    if (const BaselineDiff* b = s.report->BaselineChanges()) {
      suites += JunitBaselineSuite(*b, s.name + ": changes since " + b->path, &c);
      total.tests += c.tests;
      total.failures += c.failures;
    }
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"flightwall audit "
         "campaign\" tests=\""
      << total.tests << "\" failures=\"" << total.failures << "\" errors=\"" << total.errors
      << "\">\n"
      << suites << "</testsuites>\n";
}

void WriteCampaignHtml(const CampaignInfo& info, const std::vector<Scenario>& scenarios,
                       const std::vector<std::string>& scenario_pages, std::ostream& out) {
  const std::string verdict = CampaignVerdict(scenarios);
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<title>flightwall audit campaign</title><style>" << ReportCss()
      << "</style></head><body>\n<h1>Local data mode verification: " << scenarios.size()
      << " scenario(s)</h1>\n<p class=\"muted\">";
  if (!Subject(info).empty()) out << "<b>" << XmlEscape(Subject(info)) << "</b> &middot; ";
  if (!info.file.empty()) {
    out << "campaign " << XmlEscape(info.file) << " (SHA-256 <code>" << XmlEscape(info.sha256)
        << "</code>, vantage " << XmlEscape(info.vantage) << ") &middot; ";
  }
  out << "flightwall " << FLIGHTWALL_VERSION << "</p>\n<div class=\"verdict " << verdict
      << "\"><b>Overall: " << XmlEscape(verdict)
      << "</b> (the worst of the scenarios: leak &gt; inconclusive &gt; attempts &gt; "
         "clean)</div>\n";
  out << "<h2>Scenarios</h2>\n<table><tr><th>Scenario</th><th>Verdict</th><th>Captures</th>"
      << "<th>Flight-app flows</th><th>Attempts</th><th>Leaks</th><th>Since the baseline</th>"
      << "<th>Report</th></tr>\n";
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    const AuditReport& r = *s.report;
    out << "<tr" << (r.LeakCount() ? " class=\"leak\"" : "") << "><td>" << XmlEscape(s.name);
    if (!s.description.empty()) {
      out << "<br><span class=\"muted\">" << XmlEscape(s.description) << "</span>";
    }
    out << "</td><td>" << XmlEscape(r.Verdict()) << "</td><td>";
    for (const std::string& c : s.captures) {
      out << "<span class=\"tag\">" << XmlEscape(c) << "</span>";
    }
    out << "</td><td class=\"num\">" << r.GovernedFlows() << "</td><td class=\"num\">"
        << r.AttemptCount() << "</td><td class=\"num\">" << r.LeakCount() << "</td><td>";
    if (const BaselineDiff* b = r.BaselineChanges()) {
      out << (b->added.empty() ? "" : "<b>") << b->added.size() << " new"
          << (b->added.empty() ? "" : "</b>") << ", " << b->removed.size() << " gone, "
          << b->more_bytes.size() << " with more bytes";
    } else {
      out << "<span class=\"muted\">not compared</span>";
    }
    out << "</td><td>";
    if (i < scenario_pages.size()) {
      out << "<a href=\"" << XmlEscape(scenario_pages[i]) << "\">full report</a>";
    }
    out << "</td></tr>\n";
  }
  out << "</table>\n<h2>Destinations &times; scenarios</h2>\n<p class=\"muted\">Bytes the app "
      << "sent, denied attempts and leaks per destination in each scenario, and when it was "
      << "first contacted (seconds after the scenario's first packet); empty: not contacted.</p>"
      << "\n<table><tr><th>Host</th><th>Category</th>";
  for (const Scenario& s : scenarios) out << "<th>" << XmlEscape(s.name) << "</th>";
  out << "</tr>\n";
  for (const Row& row : Matrix(scenarios)) {
    bool leaked = false;
    for (const auto& [s, d] : row.cells) leaked |= d->leaks > 0;
    out << "<tr" << (leaked ? " class=\"leak\"" : "") << "><td>" << XmlEscape(row.host)
        << "</td><td>" << XmlEscape(row.category) << "</td>";
    for (std::size_t s = 0; s < scenarios.size(); ++s) {
      const auto it = row.cells.find(s);
      if (it == row.cells.end()) {
        out << "<td></td>";
        continue;
      }
      const Destination& d = *it->second;
      char first[32];
      std::snprintf(first, sizeof(first), "%.1f s", FirstSeenSeconds(*scenarios[s].report, d));
      out << "<td>" << HumanBytes(d.bytes_out) << " out";
      if (d.attempts) out << ", " << d.attempts << " denied";
      if (d.leaks) out << ", <b>" << d.leaks << " leaked</b>";
      out << "<br><span class=\"muted\">first at " << first << "</span></td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n</body></html>\n";
}

void WriteCampaignSummary(const CampaignInfo& info, const std::vector<Scenario>& scenarios,
                          std::ostream& out) {
  out << "flightwall audit campaign: " << CampaignVerdict(scenarios) << " (" << scenarios.size()
      << " scenarios" << (Subject(info).empty() ? "" : "; " + Subject(info)) << ")\n";
  for (const Scenario& s : scenarios) {
    const AuditReport& r = *s.report;
    out << "  scenario " << s.name << ": " << r.Verdict() << " (" << s.captures.size()
        << " capture(s), " << r.GovernedFlows() << " flight-app flows, " << r.AttemptCount()
        << " attempts, " << r.LeakCount() << " leaks)\n";
    if (const BaselineDiff* b = r.BaselineChanges()) WriteBaselineSummary(*b, out);
  }
  const std::vector<Row> rows = Matrix(scenarios);
  for (const Row& row : rows) {
    out << "  " << row.host << " [" << row.category << "]:";
    for (std::size_t s = 0; s < scenarios.size(); ++s) {
      const auto it = row.cells.find(s);
      out << " " << scenarios[s].name << "=";
      if (it == row.cells.end()) {
        out << "-";
      } else {
        out << it->second->bytes_out << "B";
        if (it->second->leaks) out << "/LEAK";
      }
    }
    out << "\n";
  }
}

}  // namespace flightwall
