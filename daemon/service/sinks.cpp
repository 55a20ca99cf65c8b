#include "service/sinks.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>

#include "service/chain_head_journal.h"
#include "service/enforcer.h"
#include "service/loss_episode.h"
#include "sink/chain_key.h"
#include "sink/event_log.h"
#include "sink/event_log_file.h"
#include "sink/event_writer.h"
#include "sink/metrics.h"
#include "sink/recent_denials.h"
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

void Say(const std::string& message) { std::cerr << "flightwall: " << message << std::endl; }

std::uint64_t SteadyMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// One queue's loss counters, logged as episodes (loss_episode.h).
struct QueueLosses {
  LossEpisode dropped;  // kernel: queue full or socket full
  LossEpisode enobufs;  // our receive buffer overran
};

void ReportQueueLosses(std::uint16_t queue, const KernelQueueStats& k, const NfqueueStats& s,
                       std::uint64_t now_ms, QueueLosses* l) {
  const std::string q = "queue " + std::to_string(queue) + ": ";
  switch (l->dropped.Observe(k.queue_dropped + k.user_dropped, now_ms)) {
    case LossEpisode::Change::kStarted:
      Say(q + "the kernel is dropping packets the daemon cannot take (queue full " +
          std::to_string(k.queue_dropped) + ", socket full " + std::to_string(k.user_dropped) +
          " so far); they are dropped, never passed. The traffic outruns the daemon: spread it "
          "over more queues (intercept.queue: 0-3) or stop the flood's source");
      break;
    case LossEpisode::Change::kEnded:
      Say(q + "packet drops stopped: " + std::to_string(l->dropped.EpisodeLoss()) + " dropped in " +
          std::to_string(l->dropped.EpisodeMs()) + " ms");
      break;
    case LossEpisode::Change::kNone:
      break;
  }
  switch (l->enobufs.Observe(s.enobufs.load(std::memory_order_relaxed), now_ms)) {
    case LossEpisode::Change::kStarted:
      Say(q +
          "receive buffer overrun (ENOBUFS): the kernel could not hand over some packets "
          "(dropped under on_failure: closed, passed unjudged under on_failure: open; "
          "counted in flightwall_queue_enobufs_total); carrying on");
      break;
    case LossEpisode::Change::kEnded:
      Say(q + "receive buffer overruns stopped after " + std::to_string(l->enobufs.EpisodeLoss()) +
          " in " + std::to_string(l->enobufs.EpisodeMs()) + " ms");
      break;
    case LossEpisode::Change::kNone:
      break;
  }
}

}  // namespace

struct DaemonSinks::Impl {
  std::shared_ptr<const Policy> policy;  // the one the workers start with
  std::size_t ring_capacity = 0;         // records per worker
  std::unique_ptr<EventLogFile> file;
  std::unique_ptr<EventChain> chain;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<RecentDenials> denials = std::make_unique<RecentDenials>();
  std::unique_ptr<EventWriter> writer;  // declared after what it writes to
  std::vector<std::unique_ptr<WorkerSink>> workers;
  std::vector<std::unique_ptr<WorkerTally>> tallies;
  std::vector<QueueLosses> queue_losses;  // main thread only, by source index
  ReloadStatus reloads;                   // main thread only
  std::uint64_t log_failures_seen = 0;    // EventLogFile transitions already logged
  std::uint64_t log_recoveries_seen = 0;
  std::uint64_t log_lost_at_failure = 0;
  int log_errno = 0;  // the error last logged while the event log fails
  bool closed = false;

  void ReportEventLog();
};

// Each failure and each recovery of the event log is logged once, however
// many lines are lost in between.
void DaemonSinks::Impl::ReportEventLog() {
  if (!file) return;
  const std::uint64_t failures = file->Failures();
  const std::uint64_t recoveries = file->Recoveries();
  const int err = file->LastErrno();
  if (failures > log_failures_seen) {
    log_failures_seen = failures;
    log_lost_at_failure = file->Lost();
    log_errno = err;
    Say("event log " + file->Path() + ": cannot write (" + std::strerror(err) +
        "); enforcement goes on, lost events are counted (flightwall_events_lost_total) and "
        "recorded in the chain (lost_before). Free space or make the file system writable: "
        "writing resumes by itself (failure " +
        std::to_string(failures) + ")");
  } else if (file->Failing() && err != log_errno) {
    log_errno = err;  // e.g. a full disk then remounted read-only: one line per new cause
    Say("event log " + file->Path() + ": still cannot write, now: " + std::strerror(err));
  }
  if (recoveries > log_recoveries_seen) {
    log_recoveries_seen = recoveries;
    Say("event log " + file->Path() + ": writing again (" +
        std::to_string(file->Lost() - log_lost_at_failure) + " lines lost while it failed)");
  }
}

DaemonSinks::DaemonSinks() : impl_(std::make_unique<Impl>()) {}
DaemonSinks::~DaemonSinks() = default;

Result<std::unique_ptr<DaemonSinks>> DaemonSinks::Open(const DaemonConfig& config,
                                                       const std::shared_ptr<const Policy>& policy,
                                                       std::size_t workers) {
  std::unique_ptr<DaemonSinks> s(new DaemonSinks());
  Impl& d = *s->impl_;
  d.policy = policy;
  d.ring_capacity =
      std::max<std::size_t>(kMinEventRing, config.event_queue / std::max<std::size_t>(workers, 1));
  if (!config.events_path.empty()) {
    Result<std::unique_ptr<EventLogFile>> file = EventLogFile::Open(config.events_path);
    if (!file.ok()) return file.status();
    d.file = std::move(file).value();
    if (!d.file->ResumeNote().empty()) {
      std::cerr << "flightwall: event log: " << d.file->ResumeNote() << std::endl;
    }
    ChainKey key;
    if (!config.events_hmac_key_file.empty()) {
      Status read = ReadChainKey(config.events_hmac_key_file, KeyFileCheck::kPrivate, &key);
      if (!read.ok()) return read;
    }
    d.chain = std::make_unique<EventChain>(*d.file, d.file->ResumePosition(), key.Bytes());
    PublishChainHead(*d.file, d.chain->Mode(), "start");
  }
  d.metrics = std::make_unique<Metrics>(*policy);
  if (!config.metrics_listen.empty()) {
    if (Status listening = d.metrics->Listen(config.metrics_listen); !listening.ok()) {
      return listening;
    }
  }
  d.writer = std::make_unique<EventWriter>(d.chain.get(), d.metrics.get(), d.ring_capacity);
  d.writer->SetRecentDenials(d.denials.get());
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
  if (const Status reopened = impl_->file->Reopen(); !reopened.ok()) {
    std::cerr << "flightwall: " << reopened.ToString() << std::endl;
  }
  PublishChainHead(*impl_->file, impl_->chain->Mode(), "reopen");
}

void DaemonSinks::SetPolicy(const Policy& policy) {
  // Each worker's event log follows its own engine (WorkerEvents::Adopt);
  // the metrics' label sets follow the published policy.
  impl_->metrics->SetPolicy(policy);
}

void DaemonSinks::PolicyReload(bool ok, Timestamp at) {
  impl_->metrics->PolicyReload(ok);
  ReloadStatus& r = impl_->reloads;
  (ok ? r.ok : r.failed) += 1;
  r.last = ok ? "ok" : "failed";
  r.last_at = at;
}

const ReloadStatus& DaemonSinks::Reloads() const { return impl_->reloads; }

void DaemonSinks::NamesRestored(const NameRestoreCounts& c) {
  impl_->metrics->NamesRestored(c.restored, c.expired, c.untrusted, c.future, c.file_ignored);
}

void DaemonSinks::Update(Enforcer& enforcer, const std::vector<const NfqueueSource*>& sources,
                         const DnsConfirmerStats* confirmations) {
  if (confirmations != nullptr) impl_->metrics->SetNameConfirmations(*confirmations);
  for (auto& t : impl_->tallies) impl_->metrics->FoldVerdicts(t->tally, &t->folded);
  impl_->metrics->SetActiveFlows(enforcer.ActiveFlows());
  impl_->metrics->SetCachedNames(enforcer.NamedAddresses());
  impl_->metrics->SetEvictions(enforcer.FlowsEvicted(), enforcer.NameEvictions());
  const EnforcerStats stats = enforcer.Stats();
  impl_->metrics->SetPacketRefusals({.undecodable = stats.malformed_dropped,
                                     .segment_gap = stats.segments_refused,
                                     .hold_expired = stats.held_expired,
                                     .hold_evicted = stats.held_evicted});
  impl_->metrics->SetPools(enforcer.Pools());
  const std::uint64_t now_ms = SteadyMs();
  if (impl_->queue_losses.size() < sources.size()) impl_->queue_losses.resize(sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const NfqueueSource* s = sources[i];
    const KernelQueueStats k = ReadKernelQueueStats(s->Queue());
    impl_->metrics->SetQueueStats(s->Queue(), k, s->Stats());
    ReportQueueLosses(s->Queue(), k, s->Stats(), now_ms, &impl_->queue_losses[i]);
  }
  impl_->ReportEventLog();
  // Lines the disk refused plus events a full ring dropped, read from
  // counters the writer thread does not hold: a writer stuck in write(2)
  // records its ring's drops in the chain only once it is unstuck.
  if (impl_->file) impl_->metrics->SetEventLogLost(impl_->file->Lost() + impl_->writer->Dropped());
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
    static_cast<void>(impl_->denials.release());
    return;
  }
  if (impl_->file) PublishChainHead(*impl_->file, impl_->chain->Mode(), "stop");
}

EventLogStatus DaemonSinks::EventLog() const {
  EventLogStatus st;
  const Impl& d = *impl_;
  // The chain counts both kinds of loss (RecordLost for a full ring).
  st.lost = d.chain ? d.chain->Lost() : (d.writer ? d.writer->Dropped() : 0);
  if (!d.file) return st;
  st.enabled = true;
  st.path = d.file->Path();
  st.lines_written = d.file->Written();
  const ChainHead head = d.file->Head();
  st.chain_seq = head.seq;
  st.chain_head = head.hash;
  return st;
}

const RecentDenials& DaemonSinks::Denials() const { return *impl_->denials; }

}  // namespace flightwall
