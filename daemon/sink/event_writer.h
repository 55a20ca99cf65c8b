// EventWriter: the daemon's evidence off the packet path. Each queue worker
// has an EventProducer; it copies every decided flow and DNS question into
// its own EventRing (event_ring.h) and never waits. One writer thread takes
// the records in order, formats them with the policy they were decided
// under, hashes them into the one event chain, writes them, and counts them
// in the metrics. A slow or full disk therefore slows nobody but the writer:
// when a ring is full its records are dropped, counted
// (flightwall_events_lost_total) and recorded in the chain as lost_before
// on the next line written.
//
// Policies. A producer's records carry the generation of the policy its
// worker judged with; Adopt() (the worker, at a reload) registers the new
// generation first. The writer keeps a policy only while records of it may
// still be queued, so a retired policy is freed once its last record is
// written.
//
// Wakeups. The writer sleeps while every ring is empty; a producer wakes it
// (a mutex and a condition variable, taken only when the writer is asleep,
// so at most once per burst) and it also wakes every 100 ms on its own.
//
// Denials. Given a RecentDenials (SetRecentDenials, before Start), the
// writer also copies each denied flow and DNS question into it, for
// `flightwall status`; that is the writer's work, never a worker's.
//
// Threads: AddProducer and SetRecentDenials before Start; a producer's methods from its worker
// only; Stop from the thread that called Start, after the workers stopped:
// it writes whatever is still queued, then joins (within a deadline).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "policy/policy.h"
#include "sink/event_ring.h"

namespace flightwall {

class EventChain;
class Metrics;
class EventWriter;
class RecentDenials;

class EventProducer {
 public:
  // Worker thread, when it starts judging with `policy`.
  void Adopt(std::shared_ptr<const Policy> policy);
  // Worker thread; never blocks (a full ring drops the record, counted).
  void Decision(const Flow& flow, int catalog_index);
  void DnsQuestion(const DnsRecord& record, int catalog_index);

  std::uint64_t Dropped() const { return ring_.Dropped(); }

 private:
  friend class EventWriter;
  EventProducer(EventWriter* writer, std::size_t capacity, std::shared_ptr<const Policy> policy);
  template <typename T>
  void Push(EventRecord::Kind kind, const T& event, int catalog_index);
  // Writer thread: the policy of `generation` (registered before any record
  // of it was pushed); forgets older ones.
  std::shared_ptr<const Policy> PolicyOf(std::uint64_t generation);

  EventWriter* writer_;
  EventRing ring_;
  std::uint64_t generation_ = 1;  // worker thread only
  std::mutex policies_mutex_;     // reloads and the writer's generation changes only
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const Policy>>> policies_;
};

class EventWriter {
 public:
  // `chain` (null: no event log) and `metrics` (null: none) must outlive
  // the writer. `ring_capacity`: records per producer.
  EventWriter(EventChain* chain, Metrics* metrics, std::size_t ring_capacity);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  EventProducer* AddProducer(std::shared_ptr<const Policy> policy);
  // `denials` (null: none) must outlive the writer.
  void SetRecentDenials(RecentDenials* denials) { denials_ = denials; }
  void Start();
  // Writes what is queued and joins the thread. False when the writer is
  // still stuck in a write after `patience` (a hung disk): the thread is
  // then left to the process's exit, and the writer, the chain, the file
  // and the metrics must be kept alive (leaked) until then.
  bool Stop(std::chrono::milliseconds patience = std::chrono::seconds(5));
  // Records lost because a ring was full, over all producers.
  std::uint64_t Dropped() const;
  // Writes what is queued now, on the calling thread (tests; never while
  // the writer thread runs).
  void WriteQueued();

 private:
  friend class EventProducer;
  struct ProducerState;
  void Run();
  bool WriteOnce();
  void Wake();

  EventChain* chain_;
  Metrics* metrics_;
  RecentDenials* denials_ = nullptr;
  std::size_t ring_capacity_;
  std::vector<std::unique_ptr<EventProducer>> producers_;
  std::vector<std::unique_ptr<ProducerState>> states_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> sleeping_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
};

}  // namespace flightwall
