#include "service/sinks.h"

#include <algorithm>
#include <iostream>

#include "service/chain_head_journal.h"
#include "service/enforcer.h"
#include "sink/chain_key.h"
#include "sink/event_log.h"
#include "sink/event_log_file.h"
#include "sink/event_writer.h"
#include "sink/metrics.h"
#include "source/nfqueue_source.h"

namespace flightwall {

namespace {

constexpr std::size_t kMinEventRing = 64;

// A worker's event sink: its engine's decisions go to its ring, formatted
// later by the writer with the policy the worker judged with.
class WorkerSink : public WorkerEvents {
 public:
  explicit WorkerSink(EventProducer* producer) : producer_(producer) {}

  void Adopt(std::shared_ptr<const Policy> policy) override { producer_->Adopt(std::move(policy)); }
  void OnFlow(const Flow&, int) override {}
  void OnDecision(const Flow& flow, int catalog_index) override {
    producer_->Decision(flow, catalog_index);
  }
  // The daemon acts on a question when it is asked (a denied one is never
  // answered by the resolver), so that is when it is logged and counted.
  void OnDnsQuestion(const DnsRecord& record, int catalog_index) override {
    producer_->DnsQuestion(record, catalog_index);
  }
  void OnDns(const DnsRecord&, int) override {}

 private:
  EventProducer* producer_;
};

struct WorkerTally {
  VerdictTally tally;
  VerdictTallyFolded folded;  // main thread only
};

}  // namespace

struct DaemonSinks::Impl {
  std::shared_ptr<const Policy> policy;  // the one the workers start with
  std::size_t ring_capacity = 0;         // records per worker
  std::unique_ptr<EventLogFile> file;
  std::unique_ptr<EventChain> chain;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<EventWriter> writer;  // declared after what it writes to
  std::vector<std::unique_ptr<WorkerSink>> workers;
  std::vector<std::unique_ptr<WorkerTally>> tallies;
  bool closed = false;
};

DaemonSinks::DaemonSinks() : impl_(std::make_unique<Impl>()) {}
DaemonSinks::~DaemonSinks() = default;

std::unique_ptr<DaemonSinks> DaemonSinks::Open(const DaemonConfig& config,
                                               const std::shared_ptr<const Policy>& policy,
                                               std::size_t workers, std::string* error) {
  std::unique_ptr<DaemonSinks> s(new DaemonSinks());
  Impl& d = *s->impl_;
  d.policy = policy;
  d.ring_capacity =
      std::max<std::size_t>(kMinEventRing, config.event_queue / std::max<std::size_t>(workers, 1));
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
  d.writer = std::make_unique<EventWriter>(d.chain.get(), d.metrics.get(), d.ring_capacity);
  return s;
}

WorkerOutputs DaemonSinks::ForWorker() {
  Impl& d = *impl_;
  d.workers.push_back(std::make_unique<WorkerSink>(d.writer->AddProducer(d.policy)));
  d.tallies.push_back(std::make_unique<WorkerTally>());
  return {d.workers.back().get(), &d.tallies.back()->tally};
}

void DaemonSinks::Start() { impl_->writer->Start(); }

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

void DaemonSinks::Update(Enforcer& enforcer, const std::vector<const NfqueueSource*>& sources) {
  for (auto& t : impl_->tallies) impl_->metrics->FoldVerdicts(t->tally, &t->folded);
  impl_->metrics->SetActiveFlows(enforcer.ActiveFlows());
  impl_->metrics->SetCachedNames(enforcer.NamedAddresses());
  for (const NfqueueSource* s : sources) {
    impl_->metrics->SetQueueStats(s->Queue(), ReadKernelQueueStats(s->Queue()), s->Stats());
  }
  if (impl_->chain) impl_->metrics->SetEventLogLost(impl_->chain->Lost());
  if (impl_->file) {
    const ChainHead head = impl_->file->Head();
    impl_->metrics->SetEventChainHead(head.seq, head.hash);
  }
}

void DaemonSinks::Close() {
  if (impl_->closed) return;
  impl_->closed = true;
  if (!impl_->writer->Stop()) {  // writes everything queued
    std::cerr << "flightwall: the event log is stuck in a write (" << impl_->file->Path()
              << "); events still queued are lost. Check the disk." << std::endl;
    // The writer thread still uses these; the process exit ends it.
    static_cast<void>(impl_->writer.release());
    static_cast<void>(impl_->chain.release());
    static_cast<void>(impl_->file.release());
    static_cast<void>(impl_->metrics.release());
    return;
  }
  if (impl_->file) PublishChainHead(*impl_->file, impl_->chain->Mode(), "stop");
}

}  // namespace flightwall
