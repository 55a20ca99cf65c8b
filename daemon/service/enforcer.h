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
//                             inspect: every-packet; never for DNS or HTTP)
// In policy mode `audit` every packet is accepted (the event log still says
// what would have been denied).
//
// Thread-safety: Handle/Tick may be called from several worker threads; the
// Enforcer serialises them with one mutex (the engine and its tables are
// shared so that DNS learned on one queue attests flows on another). Each
// verdict is delivered through the VerdictSink of the worker that received
// the packet.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/engine.h"
#include "service/daemon_config.h"
#include "service/held_packets.h"
#include "source/nfqueue_source.h"
#include "source/packet_injector.h"

namespace flightwall {

// Where a worker's verdicts go (its NfqueueSource in the daemon; a recorder
// in tests).
class VerdictSink {
 public:
  virtual ~VerdictSink() = default;
  virtual void Verdict(std::uint32_t packet_id, NfqueueVerdict verdict, std::uint32_t connmark) = 0;
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
  // `injector` may be null (no fail-fast replies, e.g. in unit tests).
  Enforcer(const DaemonConfig& config, std::shared_ptr<const Policy> policy,
           PacketInjector* injector);

  Engine& GetEngine() { return engine_; }
  std::mutex& Mutex() { return mutex_; }

  // Registers a worker's verdict sink; returns the worker index.
  std::uint16_t AddWorker(VerdictSink* sink);
  // Judges one queued packet (its bytes are only read during the call) and
  // delivers its verdict, now or, for a held packet, when its flow is judged.
  struct Result {
    Verdict verdict = Verdict::kNotGoverned;  // what the packet was judged
    bool held = false;                        // verdict deferred until its name is known
  };
  Result Handle(std::uint16_t worker, const RawPacket& packet, std::uint32_t packet_id);
  // Drops packets held past the timeout; call a few times a second.
  void Tick(Timestamp now);
  // Swaps the policy (after a successful reload).
  void SetPolicy(std::shared_ptr<const Policy> policy);
  std::shared_ptr<const Policy> CurrentPolicy() const { return policy_; }
  EnforcerStats Stats();

 private:
  void Deliver(std::uint16_t worker, std::uint32_t id, NfqueueVerdict v, std::uint32_t mark);
  void ReleaseHeld(const FlowKey& key, NfqueueVerdict v);
  void Inject(std::span<const std::uint8_t> datagram, const PacketOutcome& out);
  void AckHeld(std::span<const std::uint8_t> datagram, const Flow& f);

  DaemonConfig config_;
  std::shared_ptr<const Policy> policy_;
  std::vector<std::shared_ptr<const Policy>> retired_;  // kept alive: flows may point into them
  PacketInjector* injector_;
  Engine engine_;
  HeldPackets held_;
  std::vector<VerdictSink*> workers_;
  std::vector<HeldPacket> scratch_;
  std::mutex mutex_;
  EnforcerStats stats_;
};

}  // namespace flightwall
