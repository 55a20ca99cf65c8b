#include "sink_test_helpers.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sink/event_log.h"

namespace flightwall::testing {

Policy SinkTestPolicy() {
  Policy p;
  p.name = "sink-test";
  FlightApp pilot;
  pilot.name = "pilot";
  FlightApp survey;
  survey.name = "survey";
  p.flight_apps = {pilot, survey};
  CatalogEntry logs;
  logs.name = "vendor-flight-log-sync";
  logs.vendor = "Vendor";
  logs.category = "flight-logs";
  CatalogEntry analytics;
  analytics.name = "vendor-analytics";
  analytics.vendor = "Vendor";
  analytics.category = "analytics";
  p.catalog = {logs, analytics};
  AllowRule tiles;
  tiles.name = "map-tiles";
  p.allow = {tiles};
  return p;
}

Flow DeniedFlow(const std::string& hostname, int host) {
  Flow f;
  f.client = *IpAddress::Parse("192.0.2.10");
  f.server = IpAddress::V4(0xcb007100u + static_cast<std::uint32_t>(host % 250 + 1));
  f.client_port = 40000;
  f.server_port = 443;
  f.protocol = 6;
  f.kind = FlowKind::kTcp;
  f.first_time = 1'700'000'000'000'000LL;
  f.hostname.Assign(hostname);
  f.name_source = NameSource::kSni;
  f.app = 0;
  f.verdict = Verdict::kDeny;
  f.reason = Reason::kNameNotAllowed;
  f.to_server.packets = 3;
  f.to_server.payload_bytes = 517;
  f.first_packet = 1;
  f.decision_packet = 3;
  return f;
}

Flow AllowedFlow(const std::string& hostname) {
  Flow f = DeniedFlow(hostname);
  f.verdict = Verdict::kAllow;
  f.reason = Reason::kAllowedHost;
  f.rule = 0;
  return f;
}

DnsRecord DnsQuestion(const std::string& qname, Verdict verdict) {
  DnsRecord r;
  r.time = 1'700'000'000'000'000LL;
  r.packet = 7;
  r.app = 1;
  r.client = *IpAddress::Parse("192.0.2.10");
  r.client_port = 5353;
  r.server = *IpAddress::Parse("198.51.100.53");
  r.server_port = 53;
  r.qname.Assign(qname);
  r.qtype = 1;
  r.query_bytes = 40;
  r.verdict = verdict;
  r.reason = verdict == Verdict::kDeny ? Reason::kDnsNameNotAllowed : Reason::kDnsAllowed;
  return r;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteWholeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string CleanLog(int n) {
  const Policy policy = SinkTestPolicy();
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventLog log(policy, writer);
  for (int i = 0; i < n; ++i) log.OnFlow(DeniedFlow("host" + std::to_string(i) + ".example", i), 0);
  return out.str();
}

std::string ChainLog(int n, std::span<const std::uint8_t> key, ChainPosition start, int first) {
  const Policy policy = SinkTestPolicy();
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventChain chain(writer, std::move(start), key);
  EventLog log(policy, chain, EventLog::Timing::kAtDecision);
  for (int i = first; i < first + n; ++i) {
    log.OnDecision(DeniedFlow("host" + std::to_string(i) + ".example", i), 0);
  }
  return out.str();
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "flightwall-sink-XXXXXX").string();
  path_ = mkdtemp(pattern.data()) ? pattern : std::string();
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

}  // namespace flightwall::testing
