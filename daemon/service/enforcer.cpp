#include "service/enforcer.h"

#include "firewall/rule_backend.h"

namespace flightwall {
namespace {

FlowKey KeyOf(const Flow& f) {
  bool a = true;
  return MakeFlowKey(f.client, f.client_port, f.server, f.server_port, f.protocol, &a);
}

// Conntrack counts an ICMP error as related to the connection it quotes: a
// mark on the error's verdict would decide that connection. Errors are
// judged one by one instead.
bool MayMark(const Flow& f) { return f.kind != FlowKind::kIcmpError; }

}  // namespace

Enforcer::Enforcer(const DaemonConfig& config, std::shared_ptr<const Policy> policy,
                   PacketInjector* injector)
    : config_(config),
      policy_(std::move(policy)),
      injector_(injector),
      engine_(*policy_, Vantage::kQueue, config.limits),
      held_(config.max_held_packets) {
  scratch_.reserve(config.max_held_packets);
}

std::uint16_t Enforcer::AddWorker(VerdictSink* sink) {
  std::lock_guard<std::mutex> lock(mutex_);
  workers_.push_back(sink);
  return static_cast<std::uint16_t>(workers_.size() - 1);
}

void Enforcer::Deliver(std::uint16_t worker, std::uint32_t id, NfqueueVerdict v,
                       std::uint32_t mark) {
  if (v == NfqueueVerdict::kAccept) {
    ++stats_.accepted;
  } else {
    ++stats_.dropped;
  }
  workers_[worker]->Verdict(id, v, mark);
}

void Enforcer::ReleaseHeld(const FlowKey& key, NfqueueVerdict v) {
  scratch_.clear();
  held_.Release(key, &scratch_);
  for (const HeldPacket& p : scratch_) Deliver(p.worker, p.packet_id, v, 0);
}

void Enforcer::Inject(std::span<const std::uint8_t> datagram, const PacketOutcome& out) {
  if (!injector_ || !out.to_server) return;
  std::uint8_t reply[kMaxInjectedPacket];
  std::size_t n = 0;
  if (out.flow->kind == FlowKind::kTcp) {
    n = BuildTcpReset(datagram, reply);
    if (n) ++stats_.resets_sent;
  } else if (out.flow->kind == FlowKind::kUdp) {
    n = BuildIcmpUnreachable(datagram, reply);
    if (n) ++stats_.unreachables_sent;
  }
  if (n && !injector_->Send(std::span<const std::uint8_t>(reply, n))) ++stats_.inject_failures;
}

Enforcer::Result Enforcer::Handle(std::uint16_t worker, const RawPacket& packet, std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const PacketOutcome out = engine_.Process(packet);
  const bool enforce = policy_->mode != PolicyMode::kAudit;
  if (out.decode != DecodeStatus::kOk || out.flow == nullptr) {
    // Not IP at all cannot come from NFQUEUE; fragments are reassembled by
    // conntrack before the queue; what is left is malformed: fail closed.
    const bool drop =
        enforce && (out.decode == DecodeStatus::kMalformed || out.decode == DecodeStatus::kHeld);
    if (drop) ++stats_.malformed_dropped;
    Deliver(worker, id, drop ? NfqueueVerdict::kDrop : NfqueueVerdict::kAccept, 0);
    return {drop ? Verdict::kDeny : Verdict::kNotGoverned, false};
  }
  if (!enforce || out.verdict == Verdict::kNotGoverned) {
    Deliver(worker, id, NfqueueVerdict::kAccept, 0);
    return {out.verdict, false};
  }
  const Flow& f = *out.flow;
  if (out.drop_packet && out.verdict != Verdict::kDeny) {
    // Not judged yet (beyond a hole, or no room to keep its bytes): the
    // client retransmits; the flow's verdict stands.
    ++stats_.segments_refused;
    Deliver(worker, id, NfqueueVerdict::kDrop, 0);
    return {Verdict::kDeny, false};
  }
  if (out.is_dns && !(f.kind == FlowKind::kTcp && out.verdict == Verdict::kDeny)) {
    if (out.dns_question_denied) {
      if (out.dns_reason == Reason::kDnsResolverNotAllowed) {
        Inject(packet.data, out);  // fail fast: ICMP unreachable from that server
      } else if (injector_ && out.dns_reason == Reason::kDnsNameNotAllowed) {
        std::uint8_t reply[kMaxInjectedPacket];
        const std::uint8_t rcode = config_.dns_refusal == DnsRefusal::kNxdomain ? 3 : 5;
        const std::size_t n = BuildDnsRefusal(packet.data, rcode, reply);
        if (n && injector_->Send(std::span<const std::uint8_t>(reply, n))) {
          ++stats_.dns_refusals_sent;
        } else if (n) {
          ++stats_.inject_failures;
        }
      }
      Deliver(worker, id, NfqueueVerdict::kDrop, 0);
      return {Verdict::kDeny, false};
    }
    Deliver(worker, id,
            out.verdict == Verdict::kDeny ? NfqueueVerdict::kDrop : NfqueueVerdict::kAccept, 0);
    return {out.verdict, false};
  }
  const FlowKey key = KeyOf(f);
  if (out.verdict == Verdict::kDeny) {
    const bool opening =
        (f.kind == FlowKind::kTcp && out.to_server) || (f.kind == FlowKind::kUdp && out.to_server);
    if (opening) Inject(packet.data, out);
    ReleaseHeld(key, NfqueueVerdict::kDrop);
    Deliver(worker, id, NfqueueVerdict::kDrop, out.final && MayMark(f) ? kConnmarkDenied : 0);
    return {Verdict::kDeny, false};
  }
  if (out.awaiting_name) {
    HeldPacket h{key, worker, id, packet.time};
    HeldPacket dropped;
    ++stats_.held;
    if (held_.Hold(h, &dropped)) {
      ++stats_.held_evicted;
      Deliver(dropped.worker, dropped.packet_id, NfqueueVerdict::kDrop, 0);
    }
    AckHeld(packet.data, f);
    return {out.verdict, true};
  }
  ReleaseHeld(key, NfqueueVerdict::kAccept);
  const bool bypass = out.final && !config_.intercept.every_packet && MayMark(f);
  Deliver(worker, id, NfqueueVerdict::kAccept, bypass ? kConnmarkAllowed : 0);
  return {Verdict::kAllow, false};
}

void Enforcer::AckHeld(std::span<const std::uint8_t> datagram, const Flow& f) {
  // A ClientHello larger than the client's initial congestion window (ten
  // segments) only arrives whole if its first segments are acknowledged.
  // They are held, so the server cannot; the daemon does, on its behalf.
  // Nothing reaches the server before the name is judged.
  constexpr std::uint32_t kAckHeldAfter = 8192;
  if (!injector_ || f.kind != FlowKind::kTcp || !f.server_stream.known ||
      f.client_stream.next_seq - f.client_stream.start_seq < kAckHeldAfter) {
    return;
  }
  std::uint8_t reply[kMaxInjectedPacket];
  const std::size_t n = BuildTcpAck(datagram, f.server_stream.next_seq, f.server_window, reply);
  if (n && injector_->Send(std::span<const std::uint8_t>(reply, n))) {
    ++stats_.held_acked;
  } else if (n) {
    ++stats_.inject_failures;
  }
}

void Enforcer::Tick(Timestamp now) {
  std::lock_guard<std::mutex> lock(mutex_);
  scratch_.clear();
  const Timestamp deadline = now - static_cast<Timestamp>(config_.hold_timeout_ms) * 1000;
  held_.Expire(deadline, &scratch_);
  for (const HeldPacket& p : scratch_) {
    ++stats_.held_expired;
    Deliver(p.worker, p.packet_id, NfqueueVerdict::kDrop, 0);
    // The name never came in time: the flow is denied (and logged) so
    // nothing it sends later passes on an inspection that never finished.
    engine_.EndStalledInspection(p.flow, now);
  }
}

void Enforcer::SetPolicy(std::shared_ptr<const Policy> policy) {
  std::lock_guard<std::mutex> lock(mutex_);
  retired_.push_back(policy_);
  policy_ = std::move(policy);
  engine_.SetPolicy(*policy_);
}

EnforcerStats Enforcer::Stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace flightwall
