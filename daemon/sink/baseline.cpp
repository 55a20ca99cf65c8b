#include "sink/baseline.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/sha256.h"
#include "sink/audit_report.h"

namespace flightwall {
namespace {

using Json = nlohmann::json;

std::uint64_t Count(const Json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::string Text(const Json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The destinations of one report object into *out; false with *error.
bool ReadDestinations(const Json& report, const std::string& what,
                      std::vector<BaselineDestination>* out, std::string* error) {
  const auto dests = report.find("destinations");
  if (dests == report.end() || !dests->is_array()) {
    *error = what + "has no \"destinations\" list; write it again with flightwall audit " +
             "--report-json";
    return false;
  }
  std::size_t index = 0;
  for (const Json& d : *dests) {
    if (!d.is_object() || Text(d, "host").empty()) {
      *error = what + "destination #" + std::to_string(index + 1) + " has no \"host\"";
      return false;
    }
    ++index;
    if (out->size() >= AuditReport::kMaxDestinations + 1) continue;  // as written
    out->push_back({Text(d, "host"), Text(d, "category"), Count(d, "bytes_out"),
                    Count(d, "attempts"), Count(d, "leaks")});
  }
  return true;
}

}  // namespace

Result<Baseline> ParseBaseline(const std::string& text, const std::string& path) {
  const std::string what = "--baseline " + path + ": ";
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::Error(what +
                         "not JSON; give the --report-json file of an earlier flightwall audit");
  }
  const auto tool = j.is_object() ? j.find("tool") : j.end();
  if (!j.is_object() || tool == j.end() || !tool->is_object() ||
      Text(*tool, "name") != "flightwall") {
    return Status::Error(
        what + "not a flightwall audit report (no \"tool\": {\"name\": \"flightwall\"}); " +
        "give the --report-json file of an earlier flightwall audit");
  }
  Baseline b;
  b.path = path;
  b.sha256 = Sha256Hex(text);
  b.verdict = Text(j, "verdict");
  if (const auto p = j.find("policy"); p != j.end() && p->is_object()) b.policy = Text(*p, "name");
  const auto scenarios = j.find("scenarios");
  if (scenarios == j.end()) {
    std::string error;
    if (!ReadDestinations(j, what, &b.destinations, &error)) return Status::Error(error);
    return b;
  }
  // A campaign's report: each scenario's own report, kept by name.
  if (!scenarios->is_array() || scenarios->size() > kMaxBaselineScenarios) {
    return Status::Error(what + "\"scenarios\" is not a campaign's list of scenarios");
  }
  for (const Json& s : *scenarios) {
    const std::string name = s.is_object() ? Text(s, "name") : std::string();
    const auto report = s.is_object() ? s.find("report") : s.end();
    if (name.empty() || report == s.end() || !report->is_object()) {
      return Status::Error(what + "a scenario has no \"name\" or no \"report\"");
    }
    std::vector<BaselineDestination>& dests = b.scenarios[name];
    dests.clear();
    std::string where = what;
    where += "scenario '";
    where += name;
    where += "': ";
    if (std::string error; !ReadDestinations(*report, where, &dests, &error)) {
      return Status::Error(error);
    }
  }
  return b;
}

const std::vector<BaselineDestination>* Baseline::For(const std::string& scenario) const {
  if (scenarios.empty()) return &destinations;
  const auto it = scenarios.find(scenario);
  return it == scenarios.end() ? nullptr : &it->second;
}

Result<Baseline> LoadBaseline(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Error("--baseline " + path + ": cannot be read; check the path");
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || static_cast<std::uint64_t>(size) > kMaxBaselineBytes) {
    return Status::Error("--baseline " + path + ": larger than any report flightwall writes (" +
                         std::to_string(kMaxBaselineBytes >> 20) +
                         " MiB); give a --report-json file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseBaseline(text.str(), path);
}

BaselineDiff CompareWithBaseline(const Baseline& baseline, const AuditReport& report) {
  return CompareWithBaseline(baseline, baseline.destinations, report);
}

BaselineDiff CompareWithBaseline(const Baseline& baseline,
                                 const std::vector<BaselineDestination>& earlier,
                                 const AuditReport& report) {
  BaselineDiff diff;
  diff.path = baseline.path;
  diff.sha256 = baseline.sha256;
  diff.verdict = baseline.verdict;
  std::map<std::string, const BaselineDestination*> before;
  for (const BaselineDestination& d : earlier) {
    if (d.host != AuditReport::kOtherDestinations) before.emplace(d.host, &d);
  }
  std::map<std::string, bool> seen;
  for (const Destination* d : report.Destinations()) {
    if (d->host == AuditReport::kOtherDestinations) continue;
    seen[d->host] = true;
    const auto it = before.find(d->host);
    DestinationChange c{d->host, d->category, 0, d->bytes_out, d->attempts, d->leaks};
    if (it == before.end()) {
      diff.added.push_back(std::move(c));
    } else if (d->bytes_out > it->second->bytes_out) {
      c.bytes_before = it->second->bytes_out;
      diff.more_bytes.push_back(std::move(c));
    }
  }
  for (const BaselineDestination& d : earlier) {
    if (d.host == AuditReport::kOtherDestinations || seen.count(d.host) != 0) continue;
    seen[d.host] = true;  // a host listed twice is reported once
    diff.removed.push_back({d.host, d.category, d.bytes_out, 0, 0, 0});
  }
  return diff;
}

void WriteBaselineSummary(const BaselineDiff& d, std::ostream& out) {
  out << "  since the baseline " << d.path << " (" << d.verdict << "): " << d.added.size()
      << " new destination(s), " << d.removed.size() << " gone, " << d.more_bytes.size()
      << " with more bytes\n";
  for (const DestinationChange& c : d.added) {
    out << "  NEW     " << c.host << " [" << c.category << "] " << c.bytes_after << " bytes out, "
        << c.attempts_after << " attempt(s), " << c.leaks_after << " leak(s)\n";
  }
  for (const DestinationChange& c : d.more_bytes) {
    out << "  MORE    " << c.host << " [" << c.category << "] " << c.bytes_before << " -> "
        << c.bytes_after << " bytes out\n";
  }
  for (const DestinationChange& c : d.removed) {
    out << "  GONE    " << c.host << " [" << c.category << "] (" << c.bytes_before
        << " bytes out before)\n";
  }
}

}  // namespace flightwall
