// AuditReport: the facts of one `flightwall audit` run, gathered as an
// EventSink and rendered by the report writers (JSON, HTML, JUnit).
//
// An *attempt* is flight-app traffic the policy denies; a *leak* is an
// attempt whose data left (TCP payload acknowledged, UDP/ICMP answered, DNS
// question answered). An *evidence problem* is a reason the captures cannot
// show everything the app sent (a truncated file, kernel drops, a TCP gap in
// a flight-app flow, ...): with one, "clean" cannot be claimed and the
// verdict is "inconclusive" unless a leak was proven anyway. Everything is
// kept in input order so that the same captures and policy give
// byte-identical reports. Not thread-safe.
//
// Memory is bounded whatever the captures' size: every attempt and leak is
// counted, but only the first kListedAttempts attempts and kListedLeaks
// leaks are listed one by one; destinations beyond kMaxDestinations are
// folded into one "(other destinations)" row, each keeps at most
// kListedAddresses addresses; the bytes-over-time series is kept in at most
// kSeriesBuckets time buckets, widened as the capture grows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/event_sink.h"
#include "policy/policy.h"
#include "sink/baseline.h"

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

// Why the evidence is incomplete. `kind` is one of the kEvidence* names;
// `where` points at it (file and byte offset, packet number and flow).
struct EvidenceProblem {
  std::string kind;
  std::string where;
  std::string detail;  // what it means and what to do
};

inline constexpr const char* kEvidenceTruncatedFile = "truncated-file";
inline constexpr const char* kEvidenceUnreadableFile = "unreadable-file";
inline constexpr const char* kEvidenceSnaplen = "snaplen";  // a governed packet cut short
inline constexpr const char* kEvidenceTcpGap = "tcp-gap";
inline constexpr const char* kEvidenceNoAppTraffic = "no-flight-app-traffic";
inline constexpr const char* kEvidenceCaptureDrops = "capture-drops";
inline constexpr const char* kEvidenceCaptureError = "capture-error";

// What a live capture saw (pcap_stats at its end) and where it wrote.
struct CaptureStats {
  std::string interface;
  std::string filter;  // the BPF filter ("" = everything)
  std::uint64_t received = 0;
  std::uint64_t dropped_kernel = 0;     // ps_drop: no room in the capture buffer
  std::uint64_t dropped_interface = 0;  // ps_ifdrop: dropped by the interface/driver
  std::vector<std::string> files;       // --write files, in order (rotation)
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
  Timestamp first_time = 0;  // of its earliest flow
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
  // Records a problem; at most kListedProblemsPerKind of each kind are kept
  // (the count of all of them is in EvidenceProblemCounts()).
  void AddEvidenceProblem(EvidenceProblem problem);
  // A live capture's statistics; drops add a capture-drops problem.
  void SetCaptureStats(CaptureStats stats);
  // --baseline: how the destinations differ from an earlier audit's.
  void SetBaseline(BaselineDiff diff) { baseline_ = std::move(diff); }
  const BaselineDiff* BaselineChanges() const { return baseline_ ? &*baseline_ : nullptr; }
  // Call once every packet is in: adds no-flight-app-traffic when not one
  // flight-app flow or DNS question was seen.
  void CheckTrafficSeen();

  const Policy& PolicyUsed() const { return policy_; }
  const std::vector<InputSummary>& Inputs() const { return inputs_; }
  const std::vector<std::string>& Notes() const { return notes_; }
  const std::string& VantageName() const { return vantage_; }
  const std::map<std::string, std::uint64_t>& Counters() const { return counters_; }
  // Destinations of flight-app traffic, ordered by first packet.
  std::vector<const Destination*> Destinations() const;
  // The listed attempts (leaks first claim their own quota), in input order.
  const std::vector<Finding>& Attempts() const { return attempts_; }
  std::uint64_t AttemptCount() const { return attempt_count_; }  // listed or not
  std::uint64_t LeakCount() const { return leak_count_; }
  std::uint64_t UnlistedAttempts() const { return attempt_count_ - attempts_.size(); }
  std::uint64_t GovernedFlows() const { return governed_flows_; }
  std::uint64_t OtherFlows() const { return other_flows_; }
  std::uint64_t DnsQuestions() const { return dns_questions_; }
  std::uint64_t DnsDenied() const { return dns_denied_; }
  // Bytes sent per category and time bucket, in time order.
  std::vector<SeriesPoint> Series() const;
  const std::vector<EvidenceProblem>& EvidenceProblems() const { return problems_; }
  const std::map<std::string, std::uint64_t>& EvidenceProblemCounts() const {
    return problem_counts_;
  }
  bool Inconclusive() const { return !problem_counts_.empty(); }
  const CaptureStats* Capture() const { return has_capture_ ? &capture_ : nullptr; }
  // "leak" when any leak (proof wins over missing evidence), else
  // "inconclusive" when the evidence is incomplete, else "attempts" when any
  // attempt, else "clean".
  std::string Verdict() const;

  static constexpr std::size_t kListedProblemsPerKind = 20;
  static constexpr std::size_t kListedAttempts = 5000;
  static constexpr std::size_t kListedLeaks = 5000;
  static constexpr std::size_t kMaxDestinations = 10000;
  static constexpr std::size_t kListedAddresses = 64;
  static constexpr std::size_t kSeriesBuckets = 2048;
  static constexpr const char* kOtherDestinations = "(other destinations)";

 private:
  std::string CategoryOf(int catalog_index, bool allowed) const;
  std::string VendorOf(int catalog_index) const;
  void Record(Finding f);
  Destination& DestinationFor(const std::string& host);
  void AddSeries(Timestamp time, const std::string& category, std::uint64_t bytes);

  const Policy& policy_;
  std::vector<InputSummary> inputs_;
  std::vector<std::string> notes_;
  std::string vantage_ = "network";
  std::map<std::string, std::uint64_t> counters_;
  std::map<std::string, Destination> destinations_;
  std::vector<Finding> attempts_;
  std::uint64_t attempt_count_ = 0;
  std::uint64_t leak_count_ = 0;
  std::size_t listed_leaks_ = 0;
  std::size_t listed_others_ = 0;
  // (bucket start, category) -> bytes; the bucket width doubles whenever
  // more than kSeriesBuckets keys would be needed.
  std::map<std::pair<Timestamp, std::string>, std::uint64_t> series_;
  Timestamp series_width_ = kMicrosPerSecond / 100;  // 10 ms: short captures get bars too
  std::uint64_t governed_flows_ = 0;
  std::uint64_t other_flows_ = 0;
  std::uint64_t dns_questions_ = 0;
  std::uint64_t dns_denied_ = 0;
  std::optional<BaselineDiff> baseline_;
  std::vector<EvidenceProblem> problems_;
  std::map<std::string, std::uint64_t> problem_counts_;
  CaptureStats capture_;
  bool has_capture_ = false;
};

std::string ProtocolName(std::uint8_t protocol);

}  // namespace flightwall
