#include "sink/metrics.h"

#include <arpa/inet.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <set>
#include <sstream>

#include "common/listen_address.h"

namespace flightwall {
namespace {

constexpr const char* kUncategorized = "uncategorized";
constexpr Verdict kAllVerdicts[] = {Verdict::kNotGoverned, Verdict::kAllow, Verdict::kDeny};

std::string Label(std::string_view v) { return std::string(v); }

int VerdictIndex(Verdict v) {
  const auto i = static_cast<int>(v);
  return i >= 0 && i < 3 ? i : 0;
}

}  // namespace

struct Metrics::Families {
  prometheus::Family<prometheus::Counter>& packets;
  prometheus::Family<prometheus::Counter>& bytes;
  prometheus::Family<prometheus::Counter>& flows;
  prometheus::Family<prometheus::Counter>& attempts;
  prometheus::Family<prometheus::Counter>& dns;
  prometheus::Family<prometheus::Histogram>& latency;
  prometheus::Family<prometheus::Counter>& queue_dropped;
  prometheus::Family<prometheus::Counter>& queue_user_dropped;
  prometheus::Family<prometheus::Counter>& queue_enobufs;
  prometheus::Family<prometheus::Counter>& reloads;
  prometheus::Family<prometheus::Gauge>& names_cached;
  prometheus::Family<prometheus::Gauge>& flows_active;
  prometheus::Family<prometheus::Counter>& events_lost;
  prometheus::Family<prometheus::Counter>& flows_evicted;
  prometheus::Family<prometheus::Counter>& names_evicted;
  prometheus::Family<prometheus::Gauge>& build_info;
  prometheus::Family<prometheus::Counter>& inspection_incomplete;
  prometheus::Family<prometheus::Gauge>& chain_seq;
  prometheus::Family<prometheus::Gauge>& chain_head;
  prometheus::Family<prometheus::Counter>& names_restored;
  prometheus::Family<prometheus::Gauge>& pool_in_use;
  prometheus::Family<prometheus::Gauge>& pool_capacity;
  prometheus::Family<prometheus::Counter>& pool_exhausted;
  prometheus::Family<prometheus::Counter>& confirmations;
  prometheus::Family<prometheus::Counter>& refused;
};

struct Metrics::QueueCounters {
  prometheus::Counter* dropped = nullptr;
  prometheus::Counter* user_dropped = nullptr;
  prometheus::Counter* enobufs = nullptr;
  std::uint64_t last_dropped = 0;
  std::uint64_t last_user_dropped = 0;
  std::uint64_t last_enobufs = 0;
};

Metrics::Metrics(const Policy& policy) : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  auto& r = *registry_;
  families_.reset(new Families{
      BuildCounter().Name("flightwall_packets_total").Help("Packets given a verdict").Register(r),
      BuildCounter()
          .Name("flightwall_bytes_total")
          .Help("IP bytes of packets given a verdict")
          .Register(r),
      BuildCounter()
          .Name("flightwall_flows_total")
          .Help("Flight-app flow decisions by verdict and reason")
          .Register(r),
      BuildCounter()
          .Name("flightwall_attempts_total")
          .Help("Denied flight-app flows and DNS questions by catalog category and app")
          .Register(r),
      BuildCounter()
          .Name("flightwall_dns_questions_total")
          .Help("Flight-app DNS questions by verdict")
          .Register(r),
      BuildHistogram()
          .Name("flightwall_verdict_latency_seconds")
          .Help("Time from receiving a packet to its verdict")
          .Register(r),
      BuildCounter()
          .Name("flightwall_queue_dropped_total")
          .Help("Packets the kernel dropped because the NFQUEUE was full")
          .Register(r),
      BuildCounter()
          .Name("flightwall_queue_user_dropped_total")
          .Help("Packets the kernel dropped because the netlink socket was full")
          .Register(r),
      BuildCounter()
          .Name("flightwall_queue_enobufs_total")
          .Help("Netlink receive buffer overruns (queue messages lost)")
          .Register(r),
      BuildCounter()
          .Name("flightwall_policy_reloads_total")
          .Help("Policy reloads by result")
          .Register(r),
      BuildGauge()
          .Name("flightwall_names_cached")
          .Help("Names in the DNS attestation cache")
          .Register(r),
      BuildGauge().Name("flightwall_flows_active").Help("Flows in the flow table").Register(r),
      BuildCounter()
          .Name("flightwall_events_lost_total")
          .Help("Event-log lines that could not be written (recorded in the chain as lost_before)")
          .Register(r),
      BuildCounter()
          .Name("flightwall_flows_evicted_total")
          .Help("Flows dropped from a full flow table (their next packet is judged afresh)")
          .Register(r),
      BuildCounter()
          .Name("flightwall_names_evicted_total")
          .Help("Addresses dropped from a full DNS name cache (they no longer attest a name)")
          .Register(r),
      BuildGauge().Name("flightwall_build_info").Help("Build version (always 1)").Register(r),
      BuildCounter()
          .Name("flightwall_inspection_incomplete_total")
          .Help("Flight-app flows whose inspection stopped short, by reason (each was denied "
                "unless an allow rule opts in)")
          .Register(r),
      BuildGauge()
          .Name("flightwall_event_chain_seq")
          .Help("Seq of the last line in the event log (verify-log --expect-seq)")
          .Register(r),
      BuildGauge()
          .Name("flightwall_event_chain_head_info")
          .Help("Always 1; head = first 8 hex digits of the event log's last line hash "
                "(verify-log --expect-head, with flightwall_event_chain_seq)")
          .Register(r),
      BuildCounter()
          .Name("flightwall_name_cache_restored_total")
          .Help("DNS names read back from dns.state_file at start, by result (file_ignored "
                "counts whole files rejected as corrupt or foreign)")
          .Register(r),
      BuildGauge()
          .Name("flightwall_inspection_slots_in_use")
          .Help("Inspection pool slots holding a flow's bytes while its name is read, by pool")
          .Register(r),
      BuildGauge()
          .Name("flightwall_inspection_slots")
          .Help("Inspection pool slots configured (limits.*), by pool, over all workers")
          .Register(r),
      BuildCounter()
          .Name("flightwall_inspection_pool_exhausted_total")
          .Help("Flows denied because their inspection pool had no free slot, by pool")
          .Register(r),
      BuildCounter()
          .Name("flightwall_name_confirmations_total")
          .Help("dns.confirm_revealed_names: questions sent to the resolver (result=queries) "
                "and how each ask ended")
          .Register(r),
      BuildCounter()
          .Name("flightwall_packets_refused_total")
          .Help("Queued packets dropped without a flow verdict (fail closed): undecodable, "
                "ahead of a hole in the stream, or held too long or without room for their name")
          .Register(r),
  });
  Families& f = *families_;
  int reasons = 0;
  while (reasons < kMaxReasons && ReasonName(static_cast<Reason>(reasons)) != "unknown") ++reasons;
  for (Verdict v : kAllVerdicts) {
    const int i = VerdictIndex(v);
    const std::string name = Label(VerdictName(v));
    packets_[i] = &f.packets.Add({{"verdict", name}});
    bytes_[i] = &f.bytes.Add({{"verdict", name}});
    dns_[i] = &f.dns.Add({{"verdict", name}});
    for (int k = 0; k <= kMaxReasons; ++k) {
      if (k < reasons || k == kMaxReasons) {
        const std::string reason =
            k < reasons ? Label(ReasonName(static_cast<Reason>(k))) : std::string("other");
        flows_[i][k] = &f.flows.Add({{"verdict", name}, {"reason", reason}});
      }
    }
  }
  latency_ = &f.latency.Add({}, prometheus::Histogram::BucketBoundaries(std::begin(kLatencyBounds),
                                                                        std::end(kLatencyBounds)));
  reloads_ok_ = &f.reloads.Add({{"result", "ok"}});
  reloads_failed_ = &f.reloads.Add({{"result", "failed"}});
  int restored_result = 0;
  for (const char* result : {"restored", "expired", "untrusted", "future", "file_ignored"}) {
    names_restored_[restored_result++] = &f.names_restored.Add({{"result", result}});
  }
  for (std::size_t i = 0; i < kInspectionPools; ++i) {
    const prometheus::Labels pool{{"pool", InspectionPoolName(static_cast<InspectionPool>(i))}};
    pools_[i].in_use = &f.pool_in_use.Add(pool);
    pools_[i].capacity = &f.pool_capacity.Add(pool);
    pools_[i].exhausted = &f.pool_exhausted.Add(pool);
  }
  std::size_t result = 0;
  for (const char* name :
       {"queries", "confirmed", "refuted", "timed_out", "rate_limited", "error", "cache_hit"}) {
    confirmations_[result++] = &f.confirmations.Add({{"result", name}});
  }
  names_cached_ = &f.names_cached.Add({});
  flows_active_ = &f.flows_active.Add({});
  events_lost_ = &f.events_lost.Add({});
  flows_evicted_ = &f.flows_evicted.Add({});
  names_evicted_ = &f.names_evicted.Add({});
  std::size_t refusal = 0;
  for (const char* reason : {"undecodable", "segment_gap", "hold_expired", "hold_evicted"}) {
    refused_[refusal++] = &f.refused.Add({{"reason", reason}});
  }
  chain_seq_ = &f.chain_seq.Add({});
  for (int i = static_cast<int>(Inspection::kNoName);
       i <= static_cast<int>(Inspection::kUnrecognizedProtocol); ++i) {
    const auto outcome = static_cast<Inspection>(i);
    inspection_incomplete_[i] =
        &f.inspection_incomplete.Add({{"reason", Label(InspectionName(outcome))}});
  }
  f.build_info.Add({{"version", FLIGHTWALL_VERSION}}).Set(1);
  SetPolicy(policy);
}

Metrics::~Metrics() = default;

Status Metrics::Listen(const std::string& address) {
  if (!ValidListenAddress(address)) {
    return Status::Error("metrics.listen '" + address +
                         "' is not an address and port such as 127.0.0.1:9714 or [::1]:9714");
  }
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(address, 1);
    exposer->RegisterCollectable(registry_);
    exposer_ = std::move(exposer);
  } catch (const std::exception& e) {
    return Status::Error("cannot serve metrics on " + address + " (" + e.what() +
                         "): another process may be using the port, or the address is not on "
                         "this host; stop it or choose another metrics.listen");
  }
  return Status();
}

std::vector<int> Metrics::ListeningPorts() const {
  return exposer_ ? exposer_->GetListeningPorts() : std::vector<int>{};
}

std::string Metrics::Exposition() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

void Metrics::SetPolicy(const Policy& policy) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Create each (category, app) series now, so the label set is fixed by the
  // policy and a scrape shows zeros before the first attempt.
  std::set<std::string> categories = {kUncategorized};
  for (const CatalogEntry& e : policy.catalog) {
    categories.insert(e.category.empty() ? kUncategorized : e.category);
  }
  for (const FlightApp& a : policy.flight_apps) {
    for (const std::string& c : categories) {
      auto key = std::make_pair(c, a.name);
      if (attempts_.find(key) == attempts_.end()) {
        attempts_[key] = &families_->attempts.Add({{"category", c}, {"app", a.name}});
      }
    }
  }
}

void Metrics::CountAttempt(const std::string& app, const std::string& category) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = attempts_.find({category.empty() ? kUncategorized : category, app});
  if (it != attempts_.end()) it->second->Increment();
}

void Metrics::CountDecision(const Flow& flow, const Policy& p, int catalog_index) {
  CountFlow(flow);
  if (flow.verdict != Verdict::kDeny || flow.is_dns || flow.app < 0 ||
      static_cast<std::size_t>(flow.app) >= p.flight_apps.size()) {
    return;
  }
  const bool cataloged =
      catalog_index >= 0 && static_cast<std::size_t>(catalog_index) < p.catalog.size();
  CountAttempt(p.flight_apps[flow.app].name, cataloged ? p.catalog[catalog_index].category : "");
}

void Metrics::CountDnsQuestion(const DnsRecord& record, const Policy& p, int catalog_index) {
  if (record.app < 0 || record.verdict == Verdict::kNotGoverned) return;
  dns_[VerdictIndex(record.verdict)]->Increment();
  if (record.verdict != Verdict::kDeny ||
      static_cast<std::size_t>(record.app) >= p.flight_apps.size()) {
    return;
  }
  const bool cataloged =
      catalog_index >= 0 && static_cast<std::size_t>(catalog_index) < p.catalog.size();
  CountAttempt(p.flight_apps[record.app].name, cataloged ? p.catalog[catalog_index].category : "");
}

void Metrics::CountFlow(const Flow& flow) {
  const auto outcome = static_cast<std::size_t>(flow.inspection);
  if (outcome < kInspections && inspection_incomplete_[outcome] != nullptr) {
    inspection_incomplete_[outcome]->Increment();
  }
  const auto reason = static_cast<int>(flow.reason);
  flows_[VerdictIndex(flow.verdict)]
        [reason < kMaxReasons && flows_[0][reason] ? reason : kMaxReasons]
            ->Increment();
}

void VerdictTally::Observe(Verdict verdict, std::uint64_t ip_bytes, std::uint64_t latency_ns) {
  // One writer: a load and a store, no locked read-modify-write.
  const auto add = [](std::atomic<std::uint64_t>& a, std::uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  };
  const int i = VerdictIndex(verdict);
  add(packets[i], 1);
  add(bytes[i], ip_bytes);
  std::size_t bucket = 0;
  const double seconds = static_cast<double>(latency_ns) * 1e-9;
  while (bucket < std::size(kLatencyBounds) && seconds > kLatencyBounds[bucket]) ++bucket;
  add(latency[bucket], 1);
  add(latency_sum_ns, latency_ns);
}

void Metrics::FoldVerdicts(const VerdictTally& tally, VerdictTallyFolded* folded) {
  const auto delta = [](const std::atomic<std::uint64_t>& now, std::uint64_t* last) {
    const std::uint64_t n = now.load(std::memory_order_relaxed);
    const std::uint64_t d = n - *last;
    *last = n;
    return d;
  };
  for (std::size_t i = 0; i < VerdictTally::kVerdicts; ++i) {
    if (const std::uint64_t d = delta(tally.packets[i], &folded->packets[i])) {
      packets_[i]->Increment(static_cast<double>(d));
    }
    if (const std::uint64_t d = delta(tally.bytes[i], &folded->bytes[i])) {
      bytes_[i]->Increment(static_cast<double>(d));
    }
  }
  std::vector<double> buckets(kLatencyBuckets);
  bool any = false;
  for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
    buckets[b] = static_cast<double>(delta(tally.latency[b], &folded->latency[b]));
    any = any || buckets[b] > 0;
  }
  const double sum = static_cast<double>(delta(tally.latency_sum_ns, &folded->latency_sum_ns));
  if (any) latency_->ObserveMultiple(buckets, sum * 1e-9);
}

void Metrics::AddDelta(prometheus::Counter* counter, std::uint64_t* last, std::uint64_t now) {
  // A smaller value means the source was reset (queue rebound): all of it is new.
  const std::uint64_t delta = now >= *last ? now - *last : now;
  if (delta > 0) counter->Increment(static_cast<double>(delta));
  *last = now;
}

void Metrics::SetQueueStats(std::uint16_t queue, const KernelQueueStats& kernel,
                            const NfqueueStats& socket) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = queues_.try_emplace(queue);
  QueueCounters& q = it->second;
  if (inserted) {
    const prometheus::Labels labels{{"queue", std::to_string(queue)}};
    q.dropped = &families_->queue_dropped.Add(labels);
    q.user_dropped = &families_->queue_user_dropped.Add(labels);
    q.enobufs = &families_->queue_enobufs.Add(labels);
  }
  if (kernel.found) {
    AddDelta(q.dropped, &q.last_dropped, kernel.queue_dropped);
    AddDelta(q.user_dropped, &q.last_user_dropped, kernel.user_dropped);
  }
  AddDelta(q.enobufs, &q.last_enobufs, socket.enobufs.load(std::memory_order_relaxed));
}

void Metrics::PolicyReload(bool ok) { (ok ? reloads_ok_ : reloads_failed_)->Increment(); }

void Metrics::NamesRestored(std::uint64_t restored, std::uint64_t expired, std::uint64_t untrusted,
                            std::uint64_t future, bool file_ignored) {
  const std::uint64_t counts[] = {restored, expired, untrusted, future, file_ignored ? 1u : 0u};
  for (int i = 0; i < 5; ++i) names_restored_[i]->Increment(static_cast<double>(counts[i]));
}

void Metrics::SetActiveFlows(std::uint64_t n) { flows_active_->Set(static_cast<double>(n)); }

void Metrics::SetCachedNames(std::uint64_t n) { names_cached_->Set(static_cast<double>(n)); }

void Metrics::SetEventLogLost(std::uint64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  AddDelta(events_lost_, &events_lost_last_, n);
}

void Metrics::SetEvictions(std::uint64_t flows, std::uint64_t names) {
  std::lock_guard<std::mutex> lock(mutex_);
  AddDelta(flows_evicted_, &flows_evicted_last_, flows);
  AddDelta(names_evicted_, &names_evicted_last_, names);
}

void Metrics::SetPacketRefusals(const PacketRefusals& r) {
  const std::array<std::uint64_t, PacketRefusals::kReasons> now = {r.undecodable, r.segment_gap,
                                                                   r.hold_expired, r.hold_evicted};
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t i = 0; i < PacketRefusals::kReasons; ++i) {
    AddDelta(refused_[i], &refused_last_[i], now[i]);
  }
}

void Metrics::SetNameConfirmations(const DnsConfirmerStats& s) {
  const std::array<std::uint64_t, kConfirmationResults> now = {
      s.queries, s.confirmed, s.refuted, s.timed_out, s.rate_limited, s.errors, s.cache_hits};
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t i = 0; i < kConfirmationResults; ++i) {
    AddDelta(confirmations_[i], &confirmations_last_[i], now[i]);
  }
}

void Metrics::SetPools(const PoolUsage& pools) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t i = 0; i < kInspectionPools; ++i) {
    pools_[i].in_use->Set(static_cast<double>(pools[i].in_use));
    pools_[i].capacity->Set(static_cast<double>(pools[i].capacity));
    AddDelta(pools_[i].exhausted, &pools_[i].exhausted_last, pools[i].exhausted);
  }
}

void Metrics::SetEventChainHead(std::uint64_t seq, const std::string& hash) {
  constexpr std::size_t kHeadLabelDigits = 8;
  const std::string label = hash.substr(0, kHeadLabelDigits);
  std::lock_guard<std::mutex> lock(mutex_);
  chain_seq_->Set(static_cast<double>(seq));
  if (label == chain_head_label_) return;
  // One series at a time: the old head's series goes, so the label stays bounded.
  if (chain_head_ != nullptr) families_->chain_head.Remove(chain_head_);
  chain_head_ = nullptr;
  chain_head_label_ = label;
  if (!label.empty()) {
    chain_head_ = &families_->chain_head.Add({{"head", label}});
    chain_head_->Set(1);
  }
}

}  // namespace flightwall
