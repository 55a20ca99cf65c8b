#include "engine/engine.h"

#include <algorithm>

#include "engine/engine_impl.h"
#include "engine/flow_carrier.h"

namespace flightwall {

Engine::Impl::Impl(const Policy& p, Vantage v, const EngineLimits& l, const EngineTimeouts& t,
                   SharedNameCache* shared_names)
    : policy(&p),
      vantage(v),
      limits(l),
      timeouts(t),
      idle_timeouts{t.tcp_opening, t.tcp_established, t.tcp_closed, t.udp, t.dns, t.icmp},
      decoder(l.decoder),
      flows(l.max_flows),
      own_names(shared_names ? nullptr : std::make_unique<SharedNameCache>(l.max_named_addresses)),
      names(shared_names ? shared_names : own_names.get()),
      dns_pending(l.max_pending_dns),
      streams(l.stream_buffers, l.stream_buffer_bytes),
      tls_readers(l.stream_buffers),
      stream_owners(l.stream_buffers),
      quic_owners(l.quic_parsers),
      dns_tcp_owners(l.dns_tcp_reassemblers),
      quic(l.quic_parsers),
      dns_tcp(l.dns_tcp_reassemblers) {
  confirming.reserve(l.awaiting_confirmation);
}

PacketOutcome Engine::Impl::Process(const RawPacket& packet) {
  PacketOutcome out;
  ++stats.packets;
  raw = &packet;
  out.decode = decoder.Decode(packet, &pkt);
  if (out.decode != DecodeStatus::kOk) return out;
  out.packet = &pkt;
  dns_denied_in_packet = false;
  drop_packet = false;
  ++stats.ip_packets;
  ExpireIdle(pkt.time);

  const FlowLookup found = flows.Lookup(pkt, *this);
  Flow* f = found.flow;
  const bool to_server = found.to_server;
  if (found.created) {
    ++stats.flows_created;
    StartFlow(*f);
  }
  if (f->confirming) PollConfirmation(*f);

  if (f->kind == FlowKind::kIcmpError && f->first_packet != pkt.number) JudgeIcmpError(*f);
  if (pkt.protocol == static_cast<std::uint8_t>(IpProto::kTcp)) {
    HandleTcp(*f, to_server);
  } else if (pkt.protocol == static_cast<std::uint8_t>(IpProto::kUdp)) {
    if (CarriesDns(*f)) {
      HandleDnsPayload(*f, to_server, pkt.payload, false);
    } else if (to_server && !pkt.payload.empty() && f->inspection == Inspection::kPending) {
      InspectQuic(*f);
    } else if (to_server && !pkt.payload.empty() && f->name_source == NameSource::kQuicSni &&
               f->verdict == Verdict::kAllow) {
      RecheckQuic(*f);
    }
  } else if (IsIcmp(pkt.protocol)) {
    HandleIcmp(*f);
  }
  TrackDelivery(*f, pkt, to_server);

  out.verdict = f->verdict;
  out.reason = f->reason;
  out.flow = f;
  out.to_server = to_server;
  out.is_dns = CarriesDns(*f);
  out.dns_question_denied = dns_denied_in_packet;
  out.dns_reason = dns_denied_reason;
  out.drop_packet = drop_packet;
  SettleDecision(*f, &out);
  return out;
}

void Engine::Impl::SettleDecision(Flow& f, PacketOutcome* out) {
  SettleFacts facts;
  facts.governed = f.app >= 0;
  facts.verdict = f.verdict;
  facts.carrier = CarrierOf(f.kind);
  facts.to_server = out->to_server;
  facts.has_payload = !pkt.payload.empty();
  facts.carries_dns = out->is_dns;
  facts.dns_seen = f.is_dns;
  facts.payload_unjudged = PayloadUnjudged(f);
  facts.inspection_pending = f.inspection == Inspection::kPending;
  facts.judged_acked = f.judged_acked;
  facts.reading_http = f.http_requests > 0;
  facts.quic_named = f.name_source == NameSource::kQuicSni;
  facts.already_final = f.decision_final;
  facts.packet_refused = out->drop_packet;
  const Settlement s = SettleFlow(facts);
  out->unjudged = s.unjudged;
  out->awaiting_name = s.awaiting_name;
  out->final = s.kernel_may_apply;
  if (s.release_name_room) ReleaseNameSlots(f);
  if (s.decision_final) {
    f.decision_final = true;
    ReportDecision(f);
  } else if (s.may_bypass_replies) {
    ShapeReplyBypass(f, facts.has_payload, out);
  }
}

void Engine::Impl::ShapeReplyBypass(Flow& f, bool has_payload, PacketOutcome* out) {
  // This packet of the server's acknowledges every byte the client sent
  // (and so every byte judged): no retransmission can replace them.
  const bool all_acked = !out->to_server && (pkt.tcp_flags_value & tcp_flags::kAck) &&
                         f.client_stream.start_known &&
                         SeqAtOrAfter(pkt.tcp_ack, f.client_stream.next_seq) && !f.http_awaiting;
  if (all_acked && !f.reply_bypass) {
    f.reply_bypass = true;
    out->reply_bypass = PacketOutcome::ReplyBypass::kOn;
  } else if (out->to_server && has_payload && f.reply_bypass) {
    // A new request: its acknowledgement comes with the server's answer.
    f.reply_bypass = false;
    out->reply_bypass = PacketOutcome::ReplyBypass::kOff;
  }
}

void Engine::Impl::ReportDecision(Flow& f) {
  if (f.decision_reported) return;
  f.decision_reported = true;
  const int catalog = CatalogFor(f);
  for (EventSink* s : sinks) s->OnDecision(f, catalog);
}

int Engine::Impl::CatalogFor(const Flow& f) const {
  // Fronted flows reveal an allowed name; who the data was for is what DNS
  // called the address.
  int catalog = CatalogIndex(*policy, f.hostname.View());
  if (catalog < 0) catalog = CatalogIndex(*policy, f.dns_name.View());
  return catalog;
}

void Engine::Impl::StartFlow(Flow& f) {
  AppContext app;
  app.source = f.client;
  app.any_source = vantage == Vantage::kDevice;
  // The rules mark the connection's app on packets in both directions.
  app.marked_app = raw->marked_app;
  if (pkt.src == f.client) {  // interface and uid describe the packet's sender
    app.in_interface = raw->in_interface;
    app.uid = raw->uid;
  }
  f.app = MatchFlightApp(*policy, app);
  if (f.app < 0 && vantage == Vantage::kQueue && !policy->flight_apps.empty()) f.app = 0;
  // How the destination is known before any payload: the DNS answer that
  // named it (an attesting one first, else the newest).
  const auto bindings = LookupNames(f.server);
  const NameBinding* best = nullptr;
  for (const NameBinding& b : bindings) {
    if (BindingAttests(*policy, b, pkt.time)) {
      best = &b;
      break;
    }
  }
  if (!best && !bindings.empty()) best = &bindings.front();
  if (best) {
    f.hostname = best->name;
    f.dns_name = best->name;
    f.name_source = NameSource::kDns;
  }
  if (f.kind == FlowKind::kIcmpError) {
    JudgeIcmpError(f);
    return;
  }
  Decide(f, bindings);  // the bindings just read; no second lookup
}

std::span<const NameBinding> Engine::Impl::LookupNames(const IpAddress& address) {
  return std::span<const NameBinding>(name_scratch).first(names->Copy(address, name_scratch));
}

void Engine::Impl::JudgeIcmpError(Flow& f) {
  // Each error quotes another packet: judged one by one, never by the
  // verdict of an earlier error with the same type and code.
  f.verdict = Verdict::kNotGoverned;
  QuotedFlow quoted;
  const IcmpQuoted& qp = pkt.icmp_quoted;
  if (qp.present) {
    bool a = true;
    const FlowKey qk = MakeFlowKey(qp.src, qp.src_port, qp.dst, qp.dst_port, qp.protocol, &a);
    if (const Flow* q = flows.Peek(qk)) {
      quoted.known = true;
      quoted.decision = {q->verdict, q->reason, q->rule};
      // A stream's allow is only provisional until its payload was judged.
      const bool stream = q->kind == FlowKind::kTcp || q->kind == FlowKind::kUdp;
      quoted.judged =
          !stream || (!PayloadUnjudged(*q) && q->inspection != Inspection::kPending) || q->is_dns;
      // An error goes back to the sender of the packet it quotes.
      const bool from_server = qp.src == q->server && qp.src_port == q->server_port &&
                               pkt.dst == q->server && pkt.src == q->client;
      const bool from_client =
          qp.src == q->client && qp.src_port == q->client_port && pkt.dst == q->client;
      quoted.side = from_server   ? QuotedFlow::Side::kServerPacket
                    : from_client ? QuotedFlow::Side::kClientPacket
                                  : QuotedFlow::Side::kNeither;
      quoted.dns = CarriesDns(*q);
      f.hostname = q->hostname;
      f.name_source = q->name_source;
    }
  }
  if (f.app >= 0) ApplyDecision(f, DecideIcmpError(quoted));
}

void Engine::Impl::Decide(Flow& f) {
  if (f.app < 0) return;
  Decide(f, LookupNames(f.server));
}

void Engine::Impl::Decide(Flow& f, std::span<const NameBinding> dst_names) {
  if (f.app < 0 || f.kind == FlowKind::kIcmpError) return;  // errors: JudgeIcmpError
  ApplyDecision(f, Judge(f, dst_names));
  // Last: it may decide f again.
  if (f.verdict == Verdict::kAllow && f.reason == Reason::kAwaitingConfirmation &&
      f.name_source != NameSource::kNone && f.name_source != NameSource::kDns &&
      f.inspection != Inspection::kNoName && !f.hostname.View().empty() && !f.confirming) {
    AskConfirmation(f);
  }
}

Decision Engine::Impl::Judge(const Flow& f, std::span<const NameBinding> dst_names) const {
  FlowFacts facts;
  facts.dst = f.server;
  facts.dst_port = f.server_port;
  facts.now = pkt.time;
  facts.dst_names = dst_names;
  facts.inspection = f.inspection;
  const bool revealed = f.name_source != NameSource::kNone && f.name_source != NameSource::kDns;
  if (revealed && f.inspection != Inspection::kNoName) {
    facts.revealed_name = f.hostname.View();
    facts.revealed_source = f.name_source;
    facts.revealed_confirmed = f.name_confirmed;
  }
  facts.may_confirm = MayConfirm();
  facts.confirm_refuted = f.confirm_refuted;
  switch (f.kind) {
    case FlowKind::kTcp:
    case FlowKind::kUdp:
      facts.transport = f.kind == FlowKind::kTcp ? Transport::kTcp : Transport::kUdp;
      return DecideFlow(*policy, facts);
    case FlowKind::kIcmpEcho:
      return DecideIcmpEcho(*policy, facts);
    case FlowKind::kIcmpOther:
      return DecideIcmpOther(f.protocol == static_cast<std::uint8_t>(IpProto::kIcmpv6),
                             f.icmp_type);
    case FlowKind::kIcmpError:
      break;
    case FlowKind::kOther:
      return DecideOtherProtocol(f.server);
  }
  return Decision{f.verdict, f.reason, f.rule};
}

void Engine::Impl::ApplyDecision(Flow& f, const Decision& d) {
  if (!MayReplace(f.verdict)) return;  // the deny stands, from the packet that made it
  f.verdict = d.verdict;
  f.reason = d.reason;
  f.rule = d.rule;
  f.decision_packet = pkt.number;
}

void Engine::Impl::SetInspection(Flow& f, Inspection outcome) {
  if (f.inspection == outcome) return;
  const bool first = f.inspection == Inspection::kPending || f.inspection == Inspection::kComplete;
  if (f.inspection == Inspection::kPending && f.kind == FlowKind::kTcp) {
    // The judged bytes end here; nothing after them is read unless the flow
    // is HTTP or DNS, which are read request by request.
    f.judged_end_seq = f.client_stream.next_seq;
    if (f.http_requests == 0 && !CarriesDns(f)) f.client_stream.retain = false;
  }
  f.inspection = outcome;
  if (InspectionFailed(outcome) || outcome == Inspection::kNoName) {
    if (first && f.app >= 0) ++stats.inspection_incomplete;
    // Nothing more will be read: free the slots for other flows.
    if (InspectionFailed(outcome)) ReleaseSlots(f);
  }
  Decide(f);
}

void Engine::Impl::HandleIcmp(Flow& f) {
  if (f.kind == FlowKind::kIcmpEcho && f.app >= 0 && f.verdict == Verdict::kNotGoverned) Decide(f);
}

bool Engine::Impl::CarriesDns(const Flow& f) const {
  // A flow that carried DNS messages stays DNS even if a reloaded policy
  // no longer lists its port: its questions are still read and judged.
  if (f.kind != FlowKind::kTcp && f.kind != FlowKind::kUdp) return false;
  const Transport t = f.kind == FlowKind::kTcp ? Transport::kTcp : Transport::kUdp;
  return f.is_dns || flightwall::CarriesDns(*policy, t, f.server_port);
}

void Engine::Impl::ExpireIdle(Timestamp now) {
  flows.ExpireIdle(now, idle_timeouts, *this);
  while (DnsPending* p = dns_pending.OldestValue()) {
    if (p->count == 0 || now - p->questions[0].time <= timeouts.dns) break;
    const DnsPendingKey key = *dns_pending.OldestKey();
    FinalizeDns(*p);
    dns_pending.Erase(key);
  }
}

void Engine::Impl::OnFlowEnd(Flow& f, FlowEnd why) {
  switch (why) {
    case FlowEnd::kEvicted:
      ++stats.flows_evicted;
      break;
    case FlowEnd::kReused:
      ++stats.flows_reused;
      break;
    case FlowEnd::kExpired:
      ++stats.flows_expired;
      break;
    case FlowEnd::kFinished:
      break;
  }
  FinalizeFlow(f);
}

void Engine::Impl::FinalizeFlow(Flow& f) {
  ReleaseSlots(f);
  // A flow that sent payload whose name check never finished (a capture cut
  // short, a hole that was never filled) did not show where its data went.
  const bool stream = f.kind == FlowKind::kTcp || f.kind == FlowKind::kUdp;
  if (stream && f.app >= 0 && f.verdict == Verdict::kAllow &&
      f.inspection == Inspection::kPending && f.to_server.payload_bytes > 0 && !CarriesDns(f)) {
    SetInspection(f, Inspection::kGap);
  }
  // Its name was never confirmed: its held payload never passed.
  if (f.confirming) EndConfirmation(f, {ConfirmState::kTimedOut, 0});
  const int catalog = CatalogFor(f);
  for (EventSink* s : sinks) s->OnFlow(f, catalog);
}

void Engine::Impl::Finish() {
  flows.FinishAll(*this);

  std::vector<std::pair<DnsPendingKey, DnsPending*>> pending;
  dns_pending.ForEach([&](const DnsPendingKey& k, DnsPending& p) { pending.emplace_back(k, &p); });
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
    return a.second->questions[0].packet < b.second->questions[0].packet;
  });
  for (auto& [k, p] : pending) FinalizeDns(*p);
  for (auto& [k, p] : pending) dns_pending.Erase(k);
}

Engine::Engine(const Policy& policy, Vantage vantage, const EngineLimits& limits,
               const EngineTimeouts& timeouts, SharedNameCache* shared_names)
    : impl_(std::make_unique<Impl>(policy, vantage, limits, timeouts, shared_names)) {}
Engine::~Engine() = default;
void Engine::AddSink(EventSink* sink) { impl_->sinks.push_back(sink); }
void Engine::SetPolicy(const Policy& policy) {
  const Policy& old = *impl_->policy;
  // Old index -> new one, by name (app and rule names are unique): a flow
  // keeps naming the app and rule it was decided under. An app that is gone
  // leaves its flows governed (as the first app); a rule that is gone is
  // named no more.
  auto remap = [](const auto& from, const auto& to, int missing) {
    std::vector<int> m(from.size(), missing);
    for (std::size_t i = 0; i < from.size(); ++i) {
      for (std::size_t j = 0; j < to.size(); ++j) {
        if (from[i].name == to[j].name) m[i] = static_cast<int>(j);
      }
    }
    return m;
  };
  const std::vector<int> apps =
      remap(old.flight_apps, policy.flight_apps, policy.flight_apps.empty() ? -1 : 0);
  const std::vector<int> rules = remap(old.allow, policy.allow, -1);
  impl_->policy = &policy;
  impl_->flows.ForEach([&](const FlowKey&, Flow& f) {
    if (f.app >= 0 && static_cast<std::size_t>(f.app) < apps.size()) f.app = apps[f.app];
    f.rule = f.rule >= 0 && static_cast<std::size_t>(f.rule) < rules.size() ? rules[f.rule] : -1;
  });
}
void Engine::SetNameConfirmer(NameConfirmer* confirmer) { impl_->confirmer = confirmer; }
PacketOutcome Engine::Process(const RawPacket& raw) { return impl_->Process(raw); }
bool Engine::EndStalledInspection(const FlowKey& key, Timestamp now) {
  Impl& m = *impl_;
  Flow* f = m.flows.Peek(key);
  if (f == nullptr || f->app < 0 || f->verdict == Verdict::kDeny) return false;
  if (f->confirming) {  // the resolver did not answer within the hold timeout
    m.pkt.time = now;
    m.EndConfirmation(*f, {ConfirmState::kTimedOut, 0});
    f->decision_final = true;
    m.ReportDecision(*f);
    return true;
  }
  if (f->inspection != Inspection::kPending && !f->http_awaiting && !f->quic_rechecking) {
    return false;
  }
  m.pkt.time = now;  // the decision's time
  m.SetInspection(*f, Inspection::kGap);
  if (f->verdict != Verdict::kDeny) return false;
  f->decision_final = true;
  m.ReportDecision(*f);
  return true;
}
void Engine::Finish() { impl_->Finish(); }
const EngineStats& Engine::Stats() const { return impl_->stats; }
const DecoderStats& Engine::DecodeStats() const { return impl_->decoder.Stats(); }
std::size_t Engine::ActiveFlows() const { return impl_->flows.Size(); }

PoolUsage Engine::Pools() const {
  const auto use = [](const SlotOwners& o, std::uint64_t exhausted) {
    return PoolUse{static_cast<std::uint64_t>(std::count(o.used.begin(), o.used.end(), true)),
                   o.used.size(), exhausted};
  };
  const EngineStats& s = impl_->stats;
  return {use(impl_->stream_owners, s.stream_buffer_exhausted),
          use(impl_->quic_owners, s.quic_parser_exhausted),
          use(impl_->dns_tcp_owners, s.dns_tcp_exhausted)};
}
std::size_t Engine::NamedAddresses() const { return impl_->names->Addresses(); }

}  // namespace flightwall
