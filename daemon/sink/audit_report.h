// AuditReport: the facts of one `flightwall audit` run, gathered as an
// EventSink and rendered by the report writers (JSON, HTML, JUnit).
//
// An *attempt* is flight-app traffic the policy denies; a *leak* is an
// attempt whose data left (TCP payload acknowledged, UDP/ICMP answered, DNS
// question answered). Everything is kept in input order so that the same
// captures and policy give byte-identical reports. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/event_sink.h"
#include "policy/policy.h"

namespace flightwall {

struct InputSummary {
  std::string path;
  std::string sha256;
  std::string link_type;
  std::uint64_t packets = 0;
  Timestamp first_time = 0;
  Timestamp last_time = 0;
  std::vector<std::string> warnings;
};

struct Finding {
  std::string kind;  // "flow" or "dns"
  std::string app;
  std::string protocol;  // tcp, udp, icmp, icmpv6, dns, ip-<n>
  std::string src;
  std::uint16_t sport = 0;
  std::string dst;
  std::uint16_t dport = 0;
  std::string hostname;
  std::string name_source;
  std::string category;
  std::string vendor;
  std::string reason;
  std::uint64_t packets_out = 0;
  std::uint64_t bytes_out = 0;  // payload bytes the app tried to send
  std::uint64_t bytes_in = 0;
  bool leaked = false;
  std::uint64_t first_packet = 0;
  Timestamp first_time = 0;
  std::uint64_t evidence_packet = 0;  // packet proving delivery (leaks only)
  Timestamp evidence_time = 0;
};

struct Destination {
  std::string host;  // name, or the address when no name is known
  std::string name_source;
  std::set<std::string> addresses;
  std::set<std::string> endpoints;  // "tcp/443"
  std::string category;
  std::string vendor;
  std::string verdict;  // deny if any flow to it was denied
  std::set<std::string> reasons;
  std::uint64_t flows = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t attempts = 0;
  std::uint64_t leaks = 0;
  std::uint64_t first_packet = 0;
};

struct SeriesPoint {
  Timestamp time = 0;
  std::string category;
  std::uint64_t bytes = 0;
};

class AuditReport : public EventSink {
 public:
  explicit AuditReport(const Policy& policy);

  void OnFlow(const Flow& flow, int catalog_index) override;
  void OnDns(const DnsRecord& record, int catalog_index) override;

  void AddInput(InputSummary input) { inputs_.push_back(std::move(input)); }
  void AddNote(std::string note) { notes_.push_back(std::move(note)); }
  void SetVantage(std::string vantage) { vantage_ = std::move(vantage); }
  void SetCounters(std::map<std::string, std::uint64_t> counters) {
    counters_ = std::move(counters);
  }

  const Policy& PolicyUsed() const { return policy_; }
  const std::vector<InputSummary>& Inputs() const { return inputs_; }
  const std::vector<std::string>& Notes() const { return notes_; }
  const std::string& VantageName() const { return vantage_; }
  const std::map<std::string, std::uint64_t>& Counters() const { return counters_; }
  // Destinations of flight-app traffic, ordered by first packet.
  std::vector<const Destination*> Destinations() const;
  const std::vector<Finding>& Attempts() const { return attempts_; }
  std::size_t LeakCount() const;
  std::uint64_t GovernedFlows() const { return governed_flows_; }
  std::uint64_t OtherFlows() const { return other_flows_; }
  std::uint64_t DnsQuestions() const { return dns_questions_; }
  std::uint64_t DnsDenied() const { return dns_denied_; }
  const std::vector<SeriesPoint>& Series() const { return series_; }
  // "leak" when any leak, else "attempts" when any attempt, else "clean".
  std::string Verdict() const;

 private:
  std::string CategoryOf(int catalog_index, bool allowed) const;
  std::string VendorOf(int catalog_index) const;

  const Policy& policy_;
  std::vector<InputSummary> inputs_;
  std::vector<std::string> notes_;
  std::string vantage_ = "network";
  std::map<std::string, std::uint64_t> counters_;
  std::map<std::string, Destination> destinations_;
  std::vector<Finding> attempts_;
  std::vector<SeriesPoint> series_;
  std::uint64_t governed_flows_ = 0;
  std::uint64_t other_flows_ = 0;
  std::uint64_t dns_questions_ = 0;
  std::uint64_t dns_denied_ = 0;
};

std::string ProtocolName(std::uint8_t protocol);

}  // namespace flightwall
