#include "service/sinks.h"

#include <iostream>
#include <mutex>

#include "service/chain_head_journal.h"
#include "service/enforcer.h"
#include "sink/chain_key.h"
#include "sink/event_log.h"
#include "sink/event_log_file.h"
#include "sink/metrics.h"
#include "source/nfqueue_source.h"

namespace flightwall {

// Every worker's engine has its own sink, bound to the policy that worker
// judges with (the event log names its rules and apps); all of them append
// to one hash chain, in turn, and count in one set of metrics.
struct DaemonSinks::Impl {
  std::unique_ptr<EventLogFile> file;
  std::unique_ptr<EventChain> chain;
  std::mutex chain_mutex;  // one line at a time from the workers
  std::unique_ptr<Metrics> metrics;
  std::vector<std::unique_ptr<WorkerEvents>> workers;
};

namespace {

class WorkerSink : public WorkerEvents {
 public:
  WorkerSink(EventChain* chain, std::mutex* chain_mutex, Metrics* metrics)
      : chain_(chain), chain_mutex_(chain_mutex), metrics_(metrics) {}

  void Adopt(std::shared_ptr<const Policy> policy) override {
    std::lock_guard<std::mutex> lock(*chain_mutex_);
    policy_ = std::move(policy);
    log_.reset();
    if (chain_) log_ = std::make_unique<EventLog>(*policy_, *chain_, EventLog::Timing::kAtDecision);
  }
  void Close() {
    std::lock_guard<std::mutex> lock(*chain_mutex_);
    log_.reset();
  }

  void OnFlow(const Flow&, int) override {}
  void OnDecision(const Flow& flow, int catalog_index) override {
    {
      std::lock_guard<std::mutex> lock(*chain_mutex_);
      if (log_) log_->OnDecision(flow, catalog_index);
    }
    metrics_->OnDecision(flow, catalog_index);
  }
  // The daemon acts on a question when it is asked (a denied one is never
  // answered by the resolver), so that is when it is logged and counted.
  void OnDnsQuestion(const DnsRecord& record, int catalog_index) override {
    {
      std::lock_guard<std::mutex> lock(*chain_mutex_);
      if (log_) log_->OnDns(record, catalog_index);
    }
    metrics_->OnDns(record, catalog_index);
  }
  void OnDns(const DnsRecord&, int) override {}

 private:
  EventChain* chain_;
  std::mutex* chain_mutex_;
  Metrics* metrics_;
  std::shared_ptr<const Policy> policy_;
  std::unique_ptr<EventLog> log_;
};

}  // namespace

DaemonSinks::DaemonSinks() : impl_(std::make_unique<Impl>()) {}
DaemonSinks::~DaemonSinks() = default;

std::unique_ptr<DaemonSinks> DaemonSinks::Open(const DaemonConfig& config,
                                               const std::shared_ptr<const Policy>& policy,
                                               std::string* error) {
  std::unique_ptr<DaemonSinks> s(new DaemonSinks());
  Impl& d = *s->impl_;
  if (!config.events_path.empty()) {
    d.file = EventLogFile::Open(config.events_path, error);
    if (!d.file) return nullptr;
    if (!d.file->ResumeNote().empty()) {
      std::cerr << "flightwall: event log: " << d.file->ResumeNote() << std::endl;
    }
    ChainKey key;
    if (!config.events_hmac_key_file.empty()) {
      *error = ReadChainKey(config.events_hmac_key_file, KeyFileCheck::kPrivate, &key);
      if (!error->empty()) return nullptr;
    }
    d.chain = std::make_unique<EventChain>(*d.file, d.file->ResumePosition(), key.Bytes());
    PublishChainHead(*d.file, d.chain->Mode(), "start");
  }
  d.metrics = std::make_unique<Metrics>(*policy);
  if (!config.metrics_listen.empty() && !d.metrics->Listen(config.metrics_listen, error)) {
    return nullptr;
  }
  return s;
}

WorkerEvents* DaemonSinks::ForWorker() {
  impl_->workers.push_back(
      std::make_unique<WorkerSink>(impl_->chain.get(), &impl_->chain_mutex, impl_->metrics.get()));
  return impl_->workers.back().get();
}

void DaemonSinks::Reopen() {
  if (!impl_->file) return;
  std::string error;
  if (!impl_->file->Reopen(&error)) std::cerr << "flightwall: " << error << std::endl;
  PublishChainHead(*impl_->file, impl_->chain->Mode(), "reopen");
}

void DaemonSinks::SetPolicy(const Policy& policy) {
  // Each worker's event log follows its own engine (WorkerEvents::Adopt);
  // the metrics' label sets follow the published policy.
  impl_->metrics->SetPolicy(policy);
}

void DaemonSinks::PolicyReload(bool ok) { impl_->metrics->PolicyReload(ok); }

void DaemonSinks::ObserveVerdict(Verdict verdict, std::uint32_t bytes, double latency_seconds) {
  impl_->metrics->ObserveVerdict(verdict, Reason::kPending, latency_seconds, bytes);
}

void DaemonSinks::Update(Enforcer& enforcer, const std::vector<const NfqueueSource*>& sources) {
  impl_->metrics->SetActiveFlows(enforcer.ActiveFlows());
  impl_->metrics->SetCachedNames(enforcer.NamedAddresses());
  for (const NfqueueSource* s : sources) {
    impl_->metrics->SetQueueStats(s->Queue(), ReadKernelQueueStats(s->Queue()), s->Stats());
  }
  if (impl_->file) impl_->metrics->SetEventLogLost(impl_->file->Lost());
  if (impl_->file) {
    const ChainHead head = impl_->file->Head();
    impl_->metrics->SetEventChainHead(head.seq, head.hash);
  }
}

void DaemonSinks::Close() {
  for (auto& w : impl_->workers) static_cast<WorkerSink*>(w.get())->Close();
  if (impl_->file) PublishChainHead(*impl_->file, impl_->chain->Mode(), "stop");
}

}  // namespace flightwall
