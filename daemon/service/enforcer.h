// Enforcer: turns the engine's judgement of each queued packet into NFQUEUE
// verdicts, connmarks and fail-fast replies.
//
//   not governed           -> accept
//   DNS question denied    -> drop; a local REFUSED/NXDOMAIN when it was sent
//                             to an allowed resolver (other resolvers: drop only);
//                             over TCP the connection is denied and reset
//   segment refused        -> drop only (beyond a hole in the client's stream,
//                             or no room to keep it): the client retransmits
//   flow denied            -> drop, connmark "denied" once final, TCP RST /
//                             ICMP unreachable to the app
//   payload awaiting name  -> hold until the flow's name is judged (a large
//                             ClientHello's held segments are acknowledged on
//                             the server's behalf); past the hold timeout the
//                             flow is denied as a gap
//   allowed                -> accept, connmark "allowed" once final (unless
//                             inspect: every-packet; never for DNS or HTTP);
//                             plain HTTP between requests: connmark
//                             "requests" (the server's data passes in the
//                             kernel) until the client sends again
// In policy mode `audit` every packet is accepted (the event log still says
// what would have been denied).
//
// Workers. Each queue has one worker that owns everything its packets touch:
// an Engine (its shard of the flows and its inspection pools), its held
// packets, its verdict sink, its injector and its event sink. The rules
// spread flows with --queue-balance, which hashes the addresses
// symmetrically, so both directions of a connection reach the same worker;
// only the DNS name cache is shared (flow/shared_name_cache.h). A worker's
// methods (Handle, Tick, Drain) are called only from its own thread, so only
// the owning thread ever issues a verdict on its queue, and no lock is taken
// on the packet path except the name cache's shard locks.
//
// Policy and config form one immutable snapshot. Publish() swaps it (any
// thread); each worker adopts the new snapshot at its next packet or tick,
// switching its engine and its event sink together, so a decision and the
// event that reports it always use the same policy. Old snapshots are freed
// when the last worker has moved on. Stats() and the gauges may be read from
// any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/engine.h"
#include "policy/verdict_steps.h"
#include "reply/packet_injector.h"
#include "service/daemon_config.h"
#include "service/held_packets.h"
#include "source/nfqueue_source.h"

namespace flightwall {

// Where a worker's verdicts go (its NfqueueSource in the daemon; a recorder
// in tests).
class VerdictSink {
 public:
  virtual ~VerdictSink() = default;
  virtual void Verdict(std::uint32_t packet_id, NfqueueVerdict verdict, std::uint32_t connmark) = 0;
};

// A worker's evidence sink: receives its engine's events and is told when
// the worker judges with another policy (the event log names the rules and
// apps of that policy).
class WorkerEvents : public EventSink {
 public:
  virtual void Adopt(std::shared_ptr<const Policy> policy) = 0;
};

struct EnforcerStats {
  std::uint64_t accepted = 0;
  std::uint64_t dropped = 0;
  std::uint64_t held = 0;
  std::uint64_t held_expired = 0;  // dropped: the name never came in time
  std::uint64_t held_evicted = 0;  // dropped: too many packets held at once
  std::uint64_t resets_sent = 0;
  std::uint64_t unreachables_sent = 0;
  std::uint64_t dns_refusals_sent = 0;
  std::uint64_t inject_failures = 0;
  std::uint64_t malformed_dropped = 0;
  std::uint64_t segments_refused = 0;  // dropped until the hole before them is filled
  std::uint64_t held_acked = 0;        // ACKs sent on the server's behalf for held data
};

class Enforcer {
 public:
  // `workers`: how many will be added; the config's limits are totals, and
  // each worker's tables and pools get its share (the name cache is shared).
  Enforcer(const DaemonConfig& config, std::shared_ptr<const Policy> policy,
           std::size_t workers = 1);
  ~Enforcer();
  Enforcer(const Enforcer&) = delete;
  Enforcer& operator=(const Enforcer&) = delete;

  // Adds a worker before any thread runs; returns its index. `injector`
  // (fail-fast replies) and `events` may be null; none is owned.
  std::uint16_t AddWorker(VerdictSink* sink, PacketInjector* injector = nullptr,
                          WorkerEvents* events = nullptr);
  // dns.confirm_revealed_names: how every worker's engine asks the trusted
  // resolver (not owned; must outlive the workers). Call before any thread
  // runs. Tick releases or drops what a flow held once its answer came.
  void SetNameConfirmer(NameConfirmer* confirmer);

  // Judges one queued packet (its bytes are only read during the call) and
  // delivers its verdict, now or, for a held packet, when its flow is judged.
  struct Result {
    Verdict verdict = Verdict::kNotGoverned;  // what the packet was judged
    bool held = false;                        // verdict deferred until its name is known
  };
  Result Handle(std::uint16_t worker, const RawPacket& packet, std::uint32_t packet_id);
  // Drops what the worker held past the hold timeout; call at least every
  // tick (the daemon: every 50 ms, whether packets arrive or not). `now` is
  // wall time (for the events); `monotonic_now`, when given, is on the
  // clock of RawPacket::monotonic and measures the timeout.
  void Tick(std::uint16_t worker, Timestamp now, Timestamp monotonic_now = 0);
  // At stop: drops everything the worker holds (fail closed).
  void Drain(std::uint16_t worker);

  // Publishes a new snapshot (after a successful reload); any thread.
  void Publish(const DaemonConfig& config, std::shared_ptr<const Policy> policy);
  std::shared_ptr<const Policy> CurrentPolicy() const;

  EnforcerStats Stats() const;
  std::uint64_t ActiveFlows() const;  // over all workers, as of their last tick
  PoolUsage Pools() const;            // over all workers, as of their last tick
  std::uint64_t NamedAddresses() const;
  // The shared DNS name cache (saved and restored by the daemon: service/
  // name_cache_store.h). Thread-safe like SharedNameCache.
  SharedNameCache& Names() { return names_; }
  // Evictions for space, cumulative: flows (as of each worker's last tick)
  // and name-cache addresses.
  std::uint64_t FlowsEvicted() const;
  std::uint64_t NameEvictions() const;
  std::size_t Workers() const { return workers_.size(); }

 private:
  struct Snapshot {
    DaemonConfig config;
    std::shared_ptr<const Policy> policy;
  };
  struct Counters;
  struct Worker;

  void Adopt(Worker& w);
  void Deliver(Worker& w, std::uint32_t id, NfqueueVerdict v, std::uint32_t mark);
  void ReleaseHeld(Worker& w, const FlowKey& key, NfqueueVerdict v);
  // Sends the reply the policy asked for (a reset, an ICMP unreachable, a
  // DNS refusal) to the packet `pkt` decoded from `datagram`, when it may
  // be answered; counted.
  void Reply(Worker& w, const DecodedPacket& pkt, std::span<const std::uint8_t> datagram,
             PacketReply kind, DnsRefusal refusal);
  void AckHeld(Worker& w, const DecodedPacket& pkt, const Flow& f);

  std::size_t expected_workers_;
  SharedNameCache names_;
  mutable std::mutex snapshot_mutex_;  // guards snapshot_ (not the packet path)
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<std::uint64_t> version_{1};
  std::vector<std::unique_ptr<Worker>> workers_;
  NameConfirmer* confirmer_ = nullptr;
};

}  // namespace flightwall
