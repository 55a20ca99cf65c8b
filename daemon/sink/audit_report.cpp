#include "sink/audit_report.h"

#include <algorithm>

namespace flightwall {

std::string ProtocolName(std::uint8_t protocol) {
  switch (protocol) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 58:
      return "icmpv6";
    default:
      return "ip-" + std::to_string(protocol);
  }
}

AuditReport::AuditReport(const Policy& policy) : policy_(policy) {}

std::string AuditReport::CategoryOf(int catalog_index, bool allowed) const {
  if (catalog_index >= 0) return policy_.catalog[catalog_index].category;
  return allowed ? "map-tiles" : "uncategorized";
}

std::string AuditReport::VendorOf(int catalog_index) const {
  return catalog_index >= 0 ? policy_.catalog[catalog_index].vendor : "";
}

void AuditReport::OnFlow(const Flow& flow, int catalog_index) {
  if (flow.app < 0 || flow.verdict == Verdict::kNotGoverned) {
    ++other_flows_;
    return;
  }
  ++governed_flows_;
  if (flow.saw_gap || flow.inspection == Inspection::kGap) {
    AddEvidenceProblem(
        {kEvidenceTcpGap,
         "packet " + std::to_string(flow.first_packet) + ": " + ProtocolName(flow.protocol) + " " +
             flow.client.ToString() + ":" + std::to_string(flow.client_port) + " -> " +
             flow.server.ToString() + ":" + std::to_string(flow.server_port),
         flow.saw_gap ? "client bytes are missing from the capture (a segment came after a "
                        "hole), so what the app sent cannot all be read; capture without drops "
                        "(larger buffer, less load) and with the whole connection"
                      : "the start of the client's stream or bytes of it are not in the "
                        "capture, so its destination name could not be checked; start the "
                        "capture before the app connects"});
  }
  const bool denied = flow.verdict == Verdict::kDeny;
  const bool leaked = denied && flow.delivered_packet != 0;
  const std::string dst = flow.server.ToString();
  const std::string host = flow.hostname.Empty() ? dst : flow.hostname.Str();
  const std::string category = flow.is_dns ? "dns" : CategoryOf(catalog_index, !denied);
  const std::string app = policy_.flight_apps[flow.app].name;

  Destination& d = DestinationFor(host);
  if (d.flows == 0) {
    if (d.host.empty()) {  // not the folded "(other destinations)" row
      d.host = host;
      d.name_source = std::string(NameSourceName(flow.name_source));
      d.category = category;
      d.vendor = VendorOf(catalog_index);
    }
    d.verdict = "allow";
    d.first_packet = flow.first_packet;
    d.first_time = flow.first_time;
  }
  if (flow.first_packet < d.first_packet) d.first_time = flow.first_time;
  d.first_packet = std::min(d.first_packet, flow.first_packet);
  if (d.addresses.size() < kListedAddresses) d.addresses.insert(dst);
  d.endpoints.insert(ProtocolName(flow.protocol) + "/" + std::to_string(flow.server_port));
  d.reasons.insert(std::string(ReasonName(flow.reason)));
  ++d.flows;
  d.bytes_out += flow.to_server.payload_bytes;
  d.bytes_in += flow.to_client.payload_bytes;
  if (denied) {
    d.verdict = "deny";
    ++d.attempts;
    if (leaked) ++d.leaks;
  }
  if (flow.to_server.payload_bytes > 0) {
    AddSeries(flow.first_payload_time ? flow.first_payload_time : flow.first_time,
              denied ? category : "allowed", flow.to_server.payload_bytes);
  }
  // Flows that carried DNS are judged question by question (OnDns).
  if (!denied || flow.is_dns) return;
  Finding f;
  f.kind = "flow";
  f.app = app;
  f.protocol = ProtocolName(flow.protocol);
  f.src = flow.client.ToString();
  f.sport = flow.client_port;
  f.dst = dst;
  f.dport = flow.server_port;
  f.hostname = flow.hostname.Str();
  f.name_source = std::string(NameSourceName(flow.name_source));
  f.category = category;
  f.vendor = d.vendor;
  f.reason = std::string(ReasonName(flow.reason));
  f.packets_out = flow.to_server.packets;
  f.bytes_out = flow.to_server.payload_bytes;
  f.bytes_in = flow.to_client.payload_bytes;
  f.leaked = leaked;
  f.first_packet = flow.first_packet;
  f.first_time = flow.first_time;
  f.evidence_packet = flow.delivered_packet;
  f.evidence_time = flow.delivered_time;
  Record(std::move(f));
}

void AuditReport::OnDns(const DnsRecord& r, int catalog_index) {
  if (r.app < 0 || r.verdict == Verdict::kNotGoverned) return;
  ++dns_questions_;
  if (r.verdict != Verdict::kDeny) return;
  ++dns_denied_;
  Finding f;
  f.kind = "dns";
  f.app = policy_.flight_apps[r.app].name;
  f.protocol = r.over_tcp ? "dns-tcp" : "dns";
  f.src = r.client.ToString();
  f.sport = r.client_port;
  f.dst = r.server.ToString();
  f.dport = r.server_port;
  f.hostname = r.qname.Str();
  f.name_source = "dns";
  f.category = catalog_index >= 0 ? policy_.catalog[catalog_index].category : "dns-query";
  f.vendor = VendorOf(catalog_index);
  f.reason = std::string(ReasonName(r.reason));
  f.packets_out = 1;
  f.bytes_out = r.query_bytes;
  f.leaked = r.answered;
  f.first_packet = r.packet;
  f.first_time = r.time;
  f.evidence_packet = r.answer_packet;
  f.evidence_time = r.answer_time;
  AddSeries(r.time, f.category, r.query_bytes);
  Record(std::move(f));
}

void AuditReport::Record(Finding f) {
  ++attempt_count_;
  if (f.leaked) ++leak_count_;
  std::size_t& listed = f.leaked ? listed_leaks_ : listed_others_;
  if (listed >= (f.leaked ? kListedLeaks : kListedAttempts)) return;
  ++listed;
  attempts_.push_back(std::move(f));
}

Destination& AuditReport::DestinationFor(const std::string& host) {
  auto it = destinations_.find(host);
  if (it != destinations_.end()) return it->second;
  if (destinations_.size() < kMaxDestinations) return destinations_[host];
  Destination& other = destinations_[kOtherDestinations];
  if (other.flows == 0) {
    other.host = kOtherDestinations;
    other.category = "mixed";
  }
  return other;
}

void AuditReport::AddSeries(Timestamp time, const std::string& category, std::uint64_t bytes) {
  const auto bucket = [this](Timestamp t) {
    const Timestamp r = t % series_width_;
    return t - (r < 0 ? r + series_width_ : r);
  };
  series_[{bucket(time), category}] += bytes;
  while (series_.size() > kSeriesBuckets) {
    series_width_ *= 2;
    std::map<std::pair<Timestamp, std::string>, std::uint64_t> wider;
    for (const auto& [key, b] : series_) wider[{bucket(key.first), key.second}] += b;
    series_ = std::move(wider);
  }
}

std::vector<SeriesPoint> AuditReport::Series() const {
  std::vector<SeriesPoint> out;
  out.reserve(series_.size());
  for (const auto& [key, bytes] : series_) out.push_back({key.first, key.second, bytes});
  return out;
}

std::vector<const Destination*> AuditReport::Destinations() const {
  std::vector<const Destination*> out;
  out.reserve(destinations_.size());
  for (const auto& [k, d] : destinations_) out.push_back(&d);
  std::sort(out.begin(), out.end(), [](const Destination* a, const Destination* b) {
    return a->first_packet != b->first_packet ? a->first_packet < b->first_packet
                                              : a->host < b->host;
  });
  return out;
}

void AuditReport::AddEvidenceProblem(EvidenceProblem problem) {
  if (++problem_counts_[problem.kind] <= kListedProblemsPerKind) {
    problems_.push_back(std::move(problem));
  }
}

void AuditReport::SetCaptureStats(CaptureStats stats) {
  capture_ = std::move(stats);
  has_capture_ = true;
  if (capture_.dropped_kernel > 0 || capture_.dropped_interface > 0) {
    AddEvidenceProblem({kEvidenceCaptureDrops, "interface " + capture_.interface,
                        std::to_string(capture_.dropped_kernel) +
                            " packet(s) dropped by the kernel and " +
                            std::to_string(capture_.dropped_interface) +
                            " by the interface were never seen; give the capture a larger buffer "
                            "(--buffer-kb) or less load"});
  }
}

void AuditReport::CheckTrafficSeen() {
  if (governed_flows_ > 0 || dns_questions_ > 0) return;
  std::string where = "all inputs";
  if (has_capture_) where = "interface " + capture_.interface;
  AddEvidenceProblem(
      {kEvidenceNoAppTraffic, where,
       "not one packet of a flight app was seen, so nothing shows what it sends; check that the "
       "capture point carries its traffic and that flight_apps sources (network vantage) match "
       "its addresses"});
}

std::string AuditReport::Verdict() const {
  if (LeakCount() > 0) return "leak";
  if (Inconclusive()) return "inconclusive";
  return attempt_count_ == 0 ? "clean" : "attempts";
}

}  // namespace flightwall
