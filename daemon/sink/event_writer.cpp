#include "sink/event_writer.h"

#include <chrono>

#include "sink/audit_report.h"
#include "sink/event_log.h"
#include "sink/metrics.h"
#include "sink/recent_denials.h"

namespace flightwall {
namespace {

Denial DenialBase(int app, Reason reason, const Policy& policy) {
  Denial d;
  if (app >= 0 && static_cast<std::size_t>(app) < policy.flight_apps.size()) {
    d.app = policy.flight_apps[static_cast<std::size_t>(app)].name;
  }
  d.reason = std::string(ReasonName(reason));
  d.action = policy.mode == PolicyMode::kAudit ? "would-drop" : "dropped";
  return d;
}

Denial DenialOf(const Flow& flow, const Policy& policy) {
  Denial d = DenialBase(flow.app, flow.reason, policy);
  d.time = flow.first_time;
  d.event = "flow";
  d.protocol = ProtocolName(flow.protocol);
  d.dst = flow.server.ToString();
  d.dport = flow.server_port;
  d.hostname = flow.hostname.Str();
  return d;
}

Denial DenialOf(const DnsRecord& dns, const Policy& policy) {
  Denial d = DenialBase(dns.app, dns.reason, policy);
  d.time = dns.time;
  d.event = "dns";
  d.protocol = dns.over_tcp ? "tcp" : "udp";
  d.dst = dns.server.ToString();
  d.dport = dns.server_port;
  d.hostname = dns.qname.Str();
  return d;
}

}  // namespace

EventProducer::EventProducer(EventWriter* writer, std::size_t capacity,
                             std::shared_ptr<const Policy> policy)
    : writer_(writer), ring_(capacity) {
  policies_.emplace_back(generation_, std::move(policy));
}

void EventProducer::Adopt(std::shared_ptr<const Policy> policy) {
  std::lock_guard<std::mutex> lock(policies_mutex_);
  policies_.emplace_back(++generation_, std::move(policy));
}

void EventProducer::Decision(const Flow& flow, int catalog_index) {
  Push(EventRecord::Kind::kFlowDecision, flow, catalog_index);
}

void EventProducer::DnsQuestion(const DnsRecord& record, int catalog_index) {
  Push(EventRecord::Kind::kDnsQuestion, record, catalog_index);
}

template <typename T>
void EventProducer::Push(EventRecord::Kind kind, const T& event, int catalog_index) {
  EventRecord r;
  r.kind = kind;
  r.catalog_index = catalog_index;
  r.generation = generation_;
  r.Store(event);
  if (ring_.Push(r)) writer_->Wake();
}

std::shared_ptr<const Policy> EventProducer::PolicyOf(std::uint64_t generation) {
  std::lock_guard<std::mutex> lock(policies_mutex_);
  std::shared_ptr<const Policy> found;
  std::size_t keep_from = 0;
  for (std::size_t i = 0; i < policies_.size(); ++i) {
    if (policies_[i].first == generation) {
      found = policies_[i].second;
      keep_from = i;
    }
  }
  // Records come in order: no record of an older generation follows.
  policies_.erase(policies_.begin(), policies_.begin() + static_cast<std::ptrdiff_t>(keep_from));
  return found;
}

// What the writer knows of one producer: the policy its records are being
// formatted with and the losses already recorded.
struct EventWriter::ProducerState {
  std::uint64_t generation = 0;
  std::shared_ptr<const Policy> policy;
  std::unique_ptr<EventLog> log;
  std::uint64_t dropped_recorded = 0;
};

EventWriter::EventWriter(EventChain* chain, Metrics* metrics, std::size_t ring_capacity)
    : chain_(chain), metrics_(metrics), ring_capacity_(ring_capacity) {}

EventWriter::~EventWriter() {
  if (thread_.joinable() && !Stop()) thread_.detach();  // see Stop()
}

EventProducer* EventWriter::AddProducer(std::shared_ptr<const Policy> policy) {
  producers_.push_back(
      std::unique_ptr<EventProducer>(new EventProducer(this, ring_capacity_, std::move(policy))));
  states_.push_back(std::make_unique<ProducerState>());
  return producers_.back().get();
}

void EventWriter::Start() {
  thread_ = std::thread([this] { Run(); });
}

bool EventWriter::Stop(std::chrono::milliseconds patience) {
  if (!thread_.joinable()) return true;
  stop_.store(true);
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    wake_.notify_one();
  }
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (!finished_.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!finished_.load()) return false;
  thread_.join();
  return true;
}

std::uint64_t EventWriter::Dropped() const {
  std::uint64_t n = 0;
  for (const auto& p : producers_) n += p->Dropped();
  return n;
}

void EventWriter::Wake() {
  if (!sleeping_.load(std::memory_order_seq_cst)) return;
  std::lock_guard<std::mutex> lock(wake_mutex_);
  wake_.notify_one();
}

void EventWriter::Run() {
  constexpr auto kIdleWake = std::chrono::milliseconds(100);
  for (;;) {
    const bool stopping = stop_.load();
    const bool wrote = WriteOnce();
    if (stopping) break;  // everything pushed before the stop is written
    if (wrote) continue;
    std::unique_lock<std::mutex> lock(wake_mutex_);
    sleeping_.store(true, std::memory_order_seq_cst);
    bool empty = true;
    for (const auto& p : producers_) empty = empty && p->ring_.Empty();
    if (empty && !stop_.load()) wake_.wait_for(lock, kIdleWake);
    sleeping_.store(false, std::memory_order_relaxed);
  }
  WriteOnce();
  finished_.store(true);
}

void EventWriter::WriteQueued() { WriteOnce(); }

bool EventWriter::WriteOnce() {
  bool wrote = false;
  for (std::size_t i = 0; i < producers_.size(); ++i) {
    EventProducer& p = *producers_[i];
    ProducerState& s = *states_[i];
    // A record is dropped only while the ring is full, that is after every
    // record in it was pushed: the losses counted now go after this drain.
    const std::uint64_t dropped = p.Dropped();
    const std::size_t n = p.ring_.Drain([&](const EventRecord& r) {
      if (r.generation != s.generation || !s.policy) {
        s.policy = p.PolicyOf(r.generation);
        s.generation = r.generation;
        s.log.reset();
        if (s.policy && chain_ != nullptr) {
          s.log = std::make_unique<EventLog>(*s.policy, *chain_, EventLog::Timing::kAtDecision);
        }
      }
      if (!s.policy) return;  // cannot happen: Adopt registers before pushing
      if (r.kind == EventRecord::Kind::kFlowDecision) {
        const Flow flow = r.Load<Flow>();
        if (s.log) s.log->OnDecision(flow, r.catalog_index);
        if (metrics_ != nullptr) metrics_->CountDecision(flow, *s.policy, r.catalog_index);
        if (denials_ != nullptr && flow.verdict == Verdict::kDeny) {
          denials_->Add(DenialOf(flow, *s.policy));
        }
      } else {
        const DnsRecord dns = r.Load<DnsRecord>();
        if (s.log) s.log->OnDns(dns, r.catalog_index);
        if (metrics_ != nullptr) metrics_->CountDnsQuestion(dns, *s.policy, r.catalog_index);
        if (denials_ != nullptr && dns.verdict == Verdict::kDeny) {
          denials_->Add(DenialOf(dns, *s.policy));
        }
      }
    });
    wrote = wrote || n > 0;
    if (dropped > s.dropped_recorded) {
      if (chain_ != nullptr) chain_->RecordLost(dropped - s.dropped_recorded);
      s.dropped_recorded = dropped;
    }
  }
  return wrote;
}

}  // namespace flightwall
