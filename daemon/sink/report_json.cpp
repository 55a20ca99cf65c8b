#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "sink/report_writers.h"

namespace flightwall {
namespace {

using Json = nlohmann::ordered_json;

Json FindingJson(const Finding& f) {
  Json j;
  j["kind"] = f.kind;
  j["app"] = f.app;
  j["protocol"] = f.protocol;
  j["src"] = f.src;
  j["sport"] = f.sport;
  j["dst"] = f.dst;
  j["dport"] = f.dport;
  j["hostname"] = f.hostname;
  j["name_source"] = f.name_source;
  j["category"] = f.category;
  j["vendor"] = f.vendor;
  j["reason"] = f.reason;
  j["packets_out"] = f.packets_out;
  j["bytes_out"] = f.bytes_out;
  j["bytes_in"] = f.bytes_in;
  j["leaked"] = f.leaked;
  j["evidence"] = {{"first_packet", f.first_packet}, {"first_time", FormatTime(f.first_time)}};
  if (f.leaked) {
    j["evidence"]["delivery_packet"] = f.evidence_packet;
    j["evidence"]["delivery_time"] = FormatTime(f.evidence_time);
  }
  return j;
}

// `,\n  "name": [ ... ]` with each finding indented as the whole dump is.
void WriteFindings(std::ostream& out, const char* name, const std::vector<const Finding*>& sorted,
                   bool leaks_only) {
  out << ",\n  \"" << name << "\": [";
  bool first = true;
  for (const Finding* f : sorted) {
    if (leaks_only && !f->leaked) continue;
    const std::string one = FindingJson(*f).dump(2, ' ', false, Json::error_handler_t::replace);
    out << (first ? "\n    " : ",\n    ");
    for (const char c : one) {
      out << c;
      if (c == '\n') out << "    ";
    }
    first = false;
  }
  out << (first ? "]" : "\n  ]");
}

}  // namespace

void WriteReportJson(const AuditReport& r, std::ostream& out) {
  Json j;
  j["tool"] = {{"name", "flightwall"}, {"version", FLIGHTWALL_VERSION}};
  j["verdict"] = r.Verdict();
  j["summary"] = {{"leaks", r.LeakCount()},
                  {"attempts", r.AttemptCount()},
                  {"attempts_listed", r.Attempts().size()},
                  {"flight_app_flows", r.GovernedFlows()},
                  {"other_flows", r.OtherFlows()},
                  {"dns_questions", r.DnsQuestions()},
                  {"dns_questions_denied", r.DnsDenied()}};
  Json problems = Json::array();
  for (const EvidenceProblem& e : r.EvidenceProblems()) {
    problems.push_back({{"kind", e.kind}, {"where", e.where}, {"detail", e.detail}});
  }
  // Complete when empty; otherwise "clean" cannot be claimed (see "verdict").
  j["evidence_problems"] = problems;
  j["evidence_problem_counts"] = r.EvidenceProblemCounts();
  j["vantage"] = r.VantageName();
  if (const CaptureStats* c = r.Capture()) {
    j["capture"] = {{"interface", c->interface},
                    {"filter", c->filter},
                    {"received", c->received},
                    {"dropped_kernel", c->dropped_kernel},
                    {"dropped_interface", c->dropped_interface},
                    {"files", c->files}};
  }
  Json inputs = Json::array();
  for (const auto& in : r.Inputs()) {
    Json i;
    i["file"] = in.path;
    i["sha256"] = in.sha256;
    i["link_type"] = in.link_type;
    i["packets"] = in.packets;
    i["first_time"] = in.packets ? FormatTime(in.first_time) : "";
    i["last_time"] = in.packets ? FormatTime(in.last_time) : "";
    i["warnings"] = in.warnings;
    inputs.push_back(i);
  }
  j["inputs"] = inputs;
  const Policy& p = r.PolicyUsed();
  j["policy"] = {
      {"name", p.name}, {"file", p.path}, {"sha256", p.sha256}, {"mode", PolicyModeName(p.mode)}};
  j["notes"] = r.Notes();
  Json dests = Json::array();
  for (const Destination* d : r.Destinations()) {
    Json e;
    e["host"] = d->host;
    e["name_source"] = d->name_source;
    e["addresses"] = d->addresses;
    e["endpoints"] = d->endpoints;
    e["category"] = d->category;
    e["vendor"] = d->vendor;
    e["verdict"] = d->verdict;
    e["reasons"] = d->reasons;
    e["flows"] = d->flows;
    e["bytes_out"] = d->bytes_out;
    e["bytes_in"] = d->bytes_in;
    e["attempts"] = d->attempts;
    e["leaks"] = d->leaks;
    dests.push_back(e);
  }
  j["destinations"] = dests;
  if (const BaselineDiff* b = r.BaselineChanges()) {
    const auto changes = [](const std::vector<DestinationChange>& list, bool with_before,
                            bool with_after) {
      Json a = Json::array();
      for (const DestinationChange& c : list) {
        Json e;
        e["host"] = c.host;
        e["category"] = c.category;
        if (with_before) e["bytes_out_before"] = c.bytes_before;
        if (with_after) {
          e["bytes_out"] = c.bytes_after;
          e["attempts"] = c.attempts_after;
          e["leaks"] = c.leaks_after;
        }
        a.push_back(e);
      }
      return a;
    };
    j["baseline"] = {{"file", b->path},
                     {"sha256", b->sha256},
                     {"verdict", b->verdict},
                     {"added", changes(b->added, false, true)},
                     {"removed", changes(b->removed, true, false)},
                     {"more_bytes", changes(b->more_bytes, true, true)}};
  }
  std::vector<const Finding*> sorted;
  for (const auto& f : r.Attempts()) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Finding* a, const Finding* b) {
    return a->first_packet < b->first_packet;
  });
  j["attempts_unlisted"] = r.UnlistedAttempts();
  j["counters"] = r.Counters();
  // Names from DNS tunnels are arbitrary bytes: invalid UTF-8 becomes U+FFFD.
  std::string head = j.dump(2, ' ', false, Json::error_handler_t::replace);
  head.resize(head.size() - 2);  // "\n}": the two lists follow
  out << head;
  // The lists are written one finding at a time: a whole JSON tree of
  // thousands of findings would cost tens of MB (bounded lists: summary
  // counts all of them).
  WriteFindings(out, "attempts", sorted, false);
  WriteFindings(out, "leaks", sorted, true);
  out << "\n}\n";
}

}  // namespace flightwall
