#include "service/sinks.h"

#include <iostream>

#include "service/enforcer.h"
#include "sink/event_log.h"
#include "sink/event_log_file.h"
#include "sink/metrics.h"
#include "source/nfqueue_source.h"

namespace flightwall {

// The engine sees one sink that forwards to the current event log and the
// metrics, so a reload can swap the event log (it names rules and apps of
// its policy) without touching the engine's sink list.
struct DaemonSinks::Impl : public EventSink {
  std::shared_ptr<const Policy> policy;
  std::unique_ptr<EventLogFile> file;
  std::unique_ptr<EventChain> chain;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<Metrics> metrics;

  void OnFlow(const Flow&, int) override {}
  void OnDecision(const Flow& flow, int catalog_index) override {
    if (log) log->OnDecision(flow, catalog_index);
    if (metrics) metrics->OnDecision(flow, catalog_index);
  }
  // The daemon acts on a question when it is asked (a denied one is never
  // answered by the resolver), so that is when it is logged and counted.
  void OnDnsQuestion(const DnsRecord& record, int catalog_index) override {
    if (log) log->OnDns(record, catalog_index);
    if (metrics) metrics->OnDns(record, catalog_index);
  }
  void OnDns(const DnsRecord&, int) override {}
};

DaemonSinks::DaemonSinks() : impl_(std::make_unique<Impl>()) {}
DaemonSinks::~DaemonSinks() = default;

std::unique_ptr<DaemonSinks> DaemonSinks::Open(const DaemonConfig& config,
                                               std::shared_ptr<const Policy> policy,
                                               std::string* error) {
  std::unique_ptr<DaemonSinks> s(new DaemonSinks());
  Impl& d = *s->impl_;
  d.policy = std::move(policy);
  if (!config.events_path.empty()) {
    d.file = EventLogFile::Open(config.events_path, error);
    if (!d.file) return nullptr;
    if (!d.file->ResumeNote().empty()) {
      std::cerr << "flightwall: event log: " << d.file->ResumeNote() << std::endl;
    }
    d.chain = std::make_unique<EventChain>(*d.file, d.file->ResumePosition());
    d.log = std::make_unique<EventLog>(*d.policy, *d.chain, EventLog::Timing::kAtDecision);
  }
  d.metrics = std::make_unique<Metrics>(*d.policy);
  if (!config.metrics_listen.empty() && !d.metrics->Listen(config.metrics_listen, error)) {
    return nullptr;
  }
  return s;
}

void DaemonSinks::Attach(Engine& engine) { engine.AddSink(impl_.get()); }

void DaemonSinks::Reopen() {
  if (!impl_->file) return;
  std::string error;
  if (!impl_->file->Reopen(&error)) std::cerr << "flightwall: " << error << std::endl;
}

void DaemonSinks::SetPolicy(std::shared_ptr<const Policy> policy) {
  // The caller holds the enforcer's mutex: workers log under it.
  impl_->policy = std::move(policy);
  if (impl_->chain) {
    impl_->log =
        std::make_unique<EventLog>(*impl_->policy, *impl_->chain, EventLog::Timing::kAtDecision);
  }
  if (impl_->metrics) impl_->metrics->SetPolicy(*impl_->policy);
}

void DaemonSinks::PolicyReload(bool ok) { impl_->metrics->PolicyReload(ok); }

void DaemonSinks::ObserveVerdict(Verdict verdict, std::uint32_t bytes, double latency_seconds) {
  impl_->metrics->ObserveVerdict(verdict, Reason::kPending, latency_seconds, bytes);
}

void DaemonSinks::Update(Enforcer& enforcer, const std::vector<const NfqueueSource*>& sources) {
  {
    std::lock_guard<std::mutex> lock(enforcer.Mutex());
    impl_->metrics->SetActiveFlows(enforcer.GetEngine().ActiveFlows());
    impl_->metrics->SetCachedNames(enforcer.GetEngine().NamedAddresses());
  }
  for (const NfqueueSource* s : sources) {
    impl_->metrics->SetQueueStats(s->Queue(), ReadKernelQueueStats(s->Queue()), s->Stats());
  }
  if (impl_->file) impl_->metrics->SetEventLogLost(impl_->file->Lost());
}

void DaemonSinks::Close() { impl_->log.reset(); }

}  // namespace flightwall
