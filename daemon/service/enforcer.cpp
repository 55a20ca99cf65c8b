#include "service/enforcer.h"

#include <algorithm>
#include <limits>

#include "engine/flow_carrier.h"
#include "firewall/rule_backend.h"
#include "reply/reply_builder.h"

namespace flightwall {
namespace {

// Conntrack counts an ICMP error as related to the connection it quotes: a
// mark on the error's verdict would decide that connection. Errors are
// judged one by one instead.
std::uint32_t ConnmarkFor(ConnMark mark) {
  switch (mark) {
    case ConnMark::kAllowed:
      return kConnmarkAllowed;
    case ConnMark::kDenied:
      return kConnmarkDenied;
    case ConnMark::kRequests:
      return kConnmarkRequests;
    case ConnMark::kInspect:
      return kConnmarkInspect;
    case ConnMark::kNone:
      break;
  }
  return 0;
}

constexpr auto kRelaxed = std::memory_order_relaxed;

// One worker's share of the configured totals, with a floor so a small
// share still works.
EngineLimits ShareOf(const EngineLimits& total, std::size_t workers) {
  EngineLimits l = total;
  const auto share = [workers](std::size_t n, std::size_t floor) {
    return std::max(floor, n / std::max<std::size_t>(1, workers));
  };
  l.max_flows = share(total.max_flows, 256);
  l.max_pending_dns = share(total.max_pending_dns, 64);
  l.stream_buffers = share(total.stream_buffers, 4);
  l.quic_parsers = share(total.quic_parsers, 2);
  l.dns_tcp_reassemblers = share(total.dns_tcp_reassemblers, 2);
  return l;
}

}  // namespace

// Written by the worker's thread, read by any (relaxed: they are counters).
struct Enforcer::Counters {
  std::atomic<std::uint64_t> accepted{0}, dropped{0}, held{0}, held_expired{0}, held_evicted{0},
      resets_sent{0}, unreachables_sent{0}, dns_refusals_sent{0}, inject_failures{0},
      malformed_dropped{0}, segments_refused{0}, held_acked{0}, active_flows{0}, flows_evicted{0};
  // Per inspection pool: slots in use, capacity, newcomers denied for want
  // of one (as of the last tick).
  std::array<std::atomic<std::uint64_t>, kInspectionPools> pool_in_use{}, pool_capacity{},
      pool_exhausted{};
};

struct Enforcer::Worker {
  Worker(const Snapshot& s, std::uint64_t v, SharedNameCache* names, std::size_t workers)
      : engine(*s.policy, Vantage::kQueue, ShareOf(s.config.limits, workers), {}, names),
        held(std::max<std::size_t>(64, s.config.max_held_packets / workers)),
        version(v) {
    scratch.reserve(std::max<std::size_t>(64, s.config.max_held_packets / workers));
    confirmations.reserve(64);
  }
  Engine engine;
  HeldPackets held;
  std::uint64_t version;
  std::shared_ptr<const Snapshot> snapshot;  // what `engine` judges with
  VerdictSink* sink = nullptr;
  PacketInjector* injector = nullptr;
  WorkerEvents* events = nullptr;
  std::uint16_t index = 0;
  std::vector<HeldPacket> scratch;
  std::vector<Engine::ConfirmationEnded> confirmations;
  Counters stats;
};

Enforcer::Enforcer(const DaemonConfig& config, std::shared_ptr<const Policy> policy,
                   std::size_t workers)
    : expected_workers_(std::max<std::size_t>(1, workers)),
      names_(config.limits.max_named_addresses),
      snapshot_(std::make_shared<const Snapshot>(Snapshot{config, std::move(policy)})) {}

Enforcer::~Enforcer() = default;

std::uint16_t Enforcer::AddWorker(VerdictSink* sink, PacketInjector* injector,
                                  WorkerEvents* events) {
  std::shared_ptr<const Snapshot> s;
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    s = snapshot_;
  }
  auto w = std::make_unique<Worker>(*s, version_.load(std::memory_order_acquire), &names_,
                                    expected_workers_);
  w->snapshot = s;
  w->sink = sink;
  w->injector = injector;
  w->events = events;
  w->index = static_cast<std::uint16_t>(workers_.size());
  w->engine.SetNameConfirmer(confirmer_);
  if (events) {
    events->Adopt(s->policy);
    w->engine.AddSink(events);
  }
  workers_.push_back(std::move(w));
  return workers_.back()->index;
}

void Enforcer::Publish(const DaemonConfig& config, std::shared_ptr<const Policy> policy) {
  auto next = std::make_shared<const Snapshot>(Snapshot{config, std::move(policy)});
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  snapshot_ = std::move(next);
  version_.fetch_add(1, std::memory_order_release);
}

void Enforcer::SetNameConfirmer(NameConfirmer* confirmer) {
  confirmer_ = confirmer;
  for (auto& w : workers_) w->engine.SetNameConfirmer(confirmer);
}

std::shared_ptr<const Policy> Enforcer::CurrentPolicy() const {
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  return snapshot_->policy;
}

void Enforcer::Adopt(Worker& w) {
  const std::uint64_t v = version_.load(std::memory_order_acquire);
  if (v == w.version) return;
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    w.snapshot = snapshot_;
    w.version = version_.load(std::memory_order_relaxed);
  }
  // The engine and the event sink switch together, on this thread.
  w.engine.SetPolicy(*w.snapshot->policy);
  if (w.events) w.events->Adopt(w.snapshot->policy);
}

void Enforcer::Deliver(Worker& w, std::uint32_t id, NfqueueVerdict v, std::uint32_t mark) {
  (v == NfqueueVerdict::kAccept ? w.stats.accepted : w.stats.dropped).fetch_add(1, kRelaxed);
  w.sink->Verdict(id, v, mark);
}

void Enforcer::ReleaseHeld(Worker& w, const FlowKey& key, NfqueueVerdict v) {
  w.scratch.clear();
  w.held.Release(key, &w.scratch);
  for (const HeldPacket& p : w.scratch) Deliver(w, p.packet_id, v, 0);
}

void Enforcer::Reply(Worker& w, const DecodedPacket& pkt, std::span<const std::uint8_t> datagram,
                     PacketReply kind, DnsRefusal refusal) {
  if (!w.injector || kind == PacketReply::kNone) return;
  std::uint8_t reply[kMaxInjectedPacket];
  std::size_t n = 0;
  std::atomic<std::uint64_t>* sent = nullptr;
  switch (kind) {
    case PacketReply::kTcpReset:
      n = BuildTcpReset(pkt, reply);
      sent = &w.stats.resets_sent;
      break;
    case PacketReply::kIcmpUnreachable:
      n = BuildIcmpUnreachable(pkt, datagram, reply);
      sent = &w.stats.unreachables_sent;
      break;
    case PacketReply::kDnsRefusal:
      n = BuildDnsRefusal(pkt, refusal == DnsRefusal::kNxdomain ? 3 : 5, reply);
      sent = &w.stats.dns_refusals_sent;
      break;
    case PacketReply::kNone:
      return;
  }
  if (n == 0) return;  // not a packet that may be answered
  if (w.injector->Send(std::span<const std::uint8_t>(reply, n))) {
    sent->fetch_add(1, kRelaxed);
  } else {
    w.stats.inject_failures.fetch_add(1, kRelaxed);
  }
}

Enforcer::Result Enforcer::Handle(std::uint16_t worker, const RawPacket& packet, std::uint32_t id) {
  Worker& w = *workers_[worker];
  Adopt(w);
  const DaemonConfig& config = w.snapshot->config;
  const PacketOutcome out = w.engine.Process(packet);
  // What the engine found, handed to the policy's last step
  // (policy/verdict_steps.h), which says what to do with the packet.
  PacketFacts facts;
  facts.enforce = w.snapshot->policy->mode != PolicyMode::kAudit;
  facts.decoded = out.decode == DecodeStatus::kOk && out.flow != nullptr && out.packet != nullptr;
  facts.verdict = out.verdict;
  if (out.flow != nullptr) {
    facts.carrier = CarrierOf(out.flow->kind);
    facts.icmp_error = out.flow->kind == FlowKind::kIcmpError;
  }
  facts.to_server = out.to_server;
  facts.packet_refused = out.drop_packet;
  facts.dns = out.is_dns;
  facts.dns_question_denied = out.dns_question_denied;
  facts.dns_reason = out.dns_reason;
  facts.settled.kernel_may_apply = out.final;
  facts.settled.awaiting_name = out.awaiting_name;
  facts.settled.unjudged = out.unjudged;
  facts.every_packet = config.intercept.every_packet;
  facts.reply_bypass_on = out.reply_bypass == PacketOutcome::ReplyBypass::kOn;
  facts.reply_bypass_off = out.reply_bypass == PacketOutcome::ReplyBypass::kOff;
  const PacketAction act = ActOnPacket(facts);

  switch (act.count) {
    case PacketCount::kMalformedDropped:
      w.stats.malformed_dropped.fetch_add(1, kRelaxed);
      break;
    case PacketCount::kSegmentRefused:
      w.stats.segments_refused.fetch_add(1, kRelaxed);
      break;
    case PacketCount::kNone:
      break;
  }
  if (out.packet != nullptr) Reply(w, *out.packet, packet.data, act.reply, config.dns_refusal);
  if (act.held != HeldFate::kStay) {
    ReleaseHeld(w, KeyOf(*out.flow),
                act.held == HeldFate::kAccept ? NfqueueVerdict::kAccept : NfqueueVerdict::kDrop);
  }
  if (act.queue == QueueVerdict::kHold) {
    const FlowKey key = KeyOf(*out.flow);
    HeldPacket h{key, w.index, id, packet.monotonic != 0 ? packet.monotonic : packet.time};
    HeldPacket dropped;
    w.stats.held.fetch_add(1, kRelaxed);
    if (w.held.Hold(h, &dropped)) {
      w.stats.held_evicted.fetch_add(1, kRelaxed);
      Deliver(w, dropped.packet_id, NfqueueVerdict::kDrop, 0);
    }
    if (act.ack_held && out.packet != nullptr) AckHeld(w, *out.packet, *out.flow);
    return {act.judged, true};
  }
  Deliver(w, id,
          act.queue == QueueVerdict::kAccept ? NfqueueVerdict::kAccept : NfqueueVerdict::kDrop,
          ConnmarkFor(act.mark));
  return {act.judged, false};
}

void Enforcer::AckHeld(Worker& w, const DecodedPacket& pkt, const Flow& f) {
  // A ClientHello larger than the client's initial congestion window (ten
  // segments) only arrives whole if its first segments are acknowledged.
  // They are held, so the server cannot; the daemon does, on its behalf.
  // Nothing reaches the server before the name is judged.
  constexpr std::uint32_t kAckHeldAfter = 8192;
  if (!w.injector || f.kind != FlowKind::kTcp || !f.server_stream.known ||
      f.client_stream.next_seq - f.client_stream.start_seq < kAckHeldAfter) {
    return;
  }
  std::uint8_t reply[kMaxInjectedPacket];
  const std::size_t n = BuildTcpAck(pkt, f.server_stream.next_seq, f.server_window, reply);
  if (n && w.injector->Send(std::span<const std::uint8_t>(reply, n))) {
    w.stats.held_acked.fetch_add(1, kRelaxed);
  } else if (n) {
    w.stats.inject_failures.fetch_add(1, kRelaxed);
  }
}

void Enforcer::Tick(std::uint16_t worker, Timestamp now, Timestamp monotonic_now) {
  Worker& w = *workers_[worker];
  Adopt(w);
  w.scratch.clear();
  const Timestamp deadline = (monotonic_now != 0 ? monotonic_now : now) -
                             static_cast<Timestamp>(w.snapshot->config.hold_timeout_ms) * 1000;
  w.held.Expire(deadline, &w.scratch);
  for (const HeldPacket& p : w.scratch) {
    w.stats.held_expired.fetch_add(1, kRelaxed);
    Deliver(w, p.packet_id, NfqueueVerdict::kDrop, 0);
    // The name never came in time: the flow is denied (and logged) so
    // nothing it sends later passes on an inspection that never finished.
    w.engine.EndStalledInspection(p.flow, now);
  }
  // Flows whose name the resolver confirmed or refuted since the last tick.
  w.confirmations.clear();
  w.engine.PollConfirmations(now, &w.confirmations);
  for (const Engine::ConfirmationEnded& c : w.confirmations) {
    if (c.release) {
      ReleaseHeld(w, c.key, NfqueueVerdict::kAccept);
    } else if (c.denied) {
      ReleaseHeld(w, c.key, NfqueueVerdict::kDrop);
    }
  }
  w.stats.active_flows.store(w.engine.ActiveFlows(), kRelaxed);
  w.stats.flows_evicted.store(w.engine.Stats().flows_evicted, kRelaxed);
  const PoolUsage pools = w.engine.Pools();
  for (std::size_t i = 0; i < kInspectionPools; ++i) {
    w.stats.pool_in_use[i].store(pools[i].in_use, kRelaxed);
    w.stats.pool_capacity[i].store(pools[i].capacity, kRelaxed);
    w.stats.pool_exhausted[i].store(pools[i].exhausted, kRelaxed);
  }
}

void Enforcer::Drain(std::uint16_t worker) {
  Worker& w = *workers_[worker];
  w.scratch.clear();
  w.held.Expire(std::numeric_limits<Timestamp>::max(), &w.scratch);
  for (const HeldPacket& p : w.scratch) {
    w.stats.held_expired.fetch_add(1, kRelaxed);
    Deliver(w, p.packet_id, NfqueueVerdict::kDrop, 0);
  }
}

EnforcerStats Enforcer::Stats() const {
  EnforcerStats s;
  for (const auto& w : workers_) {
    const Counters& c = w->stats;
    s.accepted += c.accepted.load(kRelaxed);
    s.dropped += c.dropped.load(kRelaxed);
    s.held += c.held.load(kRelaxed);
    s.held_expired += c.held_expired.load(kRelaxed);
    s.held_evicted += c.held_evicted.load(kRelaxed);
    s.resets_sent += c.resets_sent.load(kRelaxed);
    s.unreachables_sent += c.unreachables_sent.load(kRelaxed);
    s.dns_refusals_sent += c.dns_refusals_sent.load(kRelaxed);
    s.inject_failures += c.inject_failures.load(kRelaxed);
    s.malformed_dropped += c.malformed_dropped.load(kRelaxed);
    s.segments_refused += c.segments_refused.load(kRelaxed);
    s.held_acked += c.held_acked.load(kRelaxed);
  }
  return s;
}

PoolUsage Enforcer::Pools() const {
  PoolUsage sum{};
  for (const auto& w : workers_) {
    for (std::size_t i = 0; i < kInspectionPools; ++i) {
      sum[i].in_use += w->stats.pool_in_use[i].load(kRelaxed);
      sum[i].capacity += w->stats.pool_capacity[i].load(kRelaxed);
      sum[i].exhausted += w->stats.pool_exhausted[i].load(kRelaxed);
    }
  }
  return sum;
}

std::uint64_t Enforcer::ActiveFlows() const {
  std::uint64_t n = 0;
  for (const auto& w : workers_) n += w->stats.active_flows.load(kRelaxed);
  return n;
}

std::uint64_t Enforcer::NamedAddresses() const { return names_.Addresses(); }

std::uint64_t Enforcer::FlowsEvicted() const {
  std::uint64_t n = 0;
  for (const auto& w : workers_) n += w->stats.flows_evicted.load(kRelaxed);
  return n;
}

std::uint64_t Enforcer::NameEvictions() const { return names_.AddressEvictions(); }

}  // namespace flightwall
