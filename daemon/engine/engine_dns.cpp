// DNS in the engine: questions become decisions (rule 2), answers become
// name bindings (attribution), and an answer to a denied question is the
// evidence that the question's data left.
#include <algorithm>

#include "engine/engine_impl.h"

namespace flightwall {

void Engine::Impl::HandleDnsTcp(Flow& f, bool to_server, std::span<const std::uint8_t> part) {
  if (part.empty() || InspectionFailed(f.inspection)) return;
  if (f.dns_tcp_slot == Flow::kNoSlot && AcquireDnsTcp(f) == Flow::kNoSlot) {
    ++stats.dns_tcp_exhausted;
    // Questions that cannot be read cannot be judged: deny the newcomer.
    SetInspection(f, Inspection::kPoolExhausted);
    return;
  }
  DnsTcpReassembler& r = dns_tcp.Get(f.dns_tcp_slot)[to_server ? 0 : 1];
  if (!r.Append(part)) {
    ++stats.dns_malformed;
    if (to_server) SetInspection(f, Inspection::kMalformed);
    return;
  }
  std::span<const std::uint8_t> message;
  while (f.dns_tcp_slot != Flow::kNoSlot && r.Next(&message)) {
    HandleDnsPayload(f, to_server, message, true);
  }
}

void Engine::Impl::HandleDnsPayload(Flow& f, bool to_server, std::span<const std::uint8_t> message,
                                    bool tcp) {
  const ParseStatus st = ParseDnsMessage(message, &dns_msg);
  if (st == ParseStatus::kMalformed) ++stats.dns_malformed;
  if (st != ParseStatus::kOk && dns_msg.questions_stored == 0) {
    if (to_server && f.app >= 0) {
      const Decision d = DecideUnreadableDns();
      dns_denied_in_packet = true;
      dns_denied_reason = d.reason;
      // A TCP connection that carried a denied message is reset, so no
      // retransmission can carry it later.
      if (tcp) ApplyDecision(f, d);
    }
    return;
  }
  f.is_dns = true;

  DnsPendingKey key;
  key.client = f.client;
  key.server = f.server;
  key.client_port = f.client_port;
  key.server_port = f.server_port;
  key.id = dns_msg.id;
  key.tcp = tcp;

  if (!dns_msg.is_response) {
    if (!to_server) return;  // a query from the server side: not the app's question
    auto r = dns_pending.FindOrInsert(key);
    if (r.evicted) {
      ++stats.dns_pending_evicted;
      FinalizeDns(r.evicted_value);
    }
    if (!r.inserted) {  // a retransmitted query: same questions, same verdict
      for (std::size_t i = 0; i < r.value->count; ++i) {
        if (r.value->questions[i].verdict == Verdict::kDeny) {
          dns_denied_in_packet = true;
          dns_denied_reason = r.value->questions[i].reason;
        }
      }
      return;
    }
    DnsPending& p = *r.value;
    p.count = dns_msg.questions_stored;
    for (std::size_t i = 0; i < p.count; ++i) {
      DnsRecord& q = p.questions[i];
      q.time = pkt.time;
      q.packet = pkt.number;
      q.app = f.app;
      q.client = f.client;
      q.client_port = f.client_port;
      q.server = f.server;
      q.server_port = f.server_port;
      q.over_tcp = tcp;
      q.id = dns_msg.id;
      q.qname = dns_msg.questions[i].name;
      q.qtype = dns_msg.questions[i].qtype;
      q.query_bytes = static_cast<std::uint32_t>(message.size());
      if (f.app >= 0) {
        const Decision d = DecideDnsQuestion(*policy, f.server, q.qname.View());
        q.verdict = d.verdict;
        q.reason = d.reason;
        q.rule = d.rule;
        if (d.verdict == Verdict::kDeny) {
          dns_denied_in_packet = true;
          dns_denied_reason = d.reason;
          if (tcp) ApplyDecision(f, d);  // the connection is reset: no retransmission passes
        }
      }
      NameObservation o;
      o.packet = pkt.number;
      o.source = NameSource::kDns;
      o.name = q.qname.View();
      o.flow = &f;
      Observe(o);
      const int catalog = CatalogIndex(*policy, q.qname.View());
      for (EventSink* s : sinks) s->OnDnsQuestion(q, catalog);
    }
    return;
  }

  if (to_server) return;  // a "response" sent by the client: ignore
  BindAnswers(f, IsAllowedResolver(*policy, f.server));
  if (DnsPending* p = dns_pending.Find(key)) {
    std::uint16_t addresses = 0;
    for (std::size_t i = 0; i < dns_msg.answers_stored; ++i) {
      const auto t = dns_msg.answers[i].type;
      if (t == dns_type::kA || t == dns_type::kAaaa) ++addresses;
    }
    for (std::size_t i = 0; i < p->count; ++i) {
      DnsRecord& q = p->questions[i];
      q.answered = true;
      q.rcode = dns_msg.rcode;
      q.answer_packet = pkt.number;
      q.answer_time = pkt.time;
      q.answer_addresses = addresses;
    }
    FinalizeDns(*p);
    dns_pending.Erase(key);
  } else {
    ++stats.dns_unmatched_responses;
  }
}

void Engine::Impl::BindAnswers(const Flow& f, bool trusted) {
  if (dns_msg.rcode != 0) return;
  for (std::size_t i = 0; i < dns_msg.answers_stored; ++i) {
    const DnsAnswer& a = dns_msg.answers[i];
    // Follow CNAMEs back towards the question: the name the client asked for
    // is the one its later connection will use.
    std::string_view name = a.owner.View();
    std::uint32_t ttl = a.ttl;
    for (int hops = 0; hops < 16; ++hops) {
      const DnsAnswer* parent = nullptr;
      for (std::size_t j = 0; j < dns_msg.answers_stored; ++j) {
        const DnsAnswer& c = dns_msg.answers[j];
        if (c.type == dns_type::kCname && c.cname_target.View() == name && j != i) {
          parent = &c;
          break;
        }
      }
      if (!parent) break;
      name = parent->owner.View();
      ttl = std::min(ttl, parent->ttl);
    }
    NameObservation o;
    o.packet = pkt.number;
    o.source = NameSource::kDns;
    o.flow = &f;
    o.is_dns_answer = true;
    o.record_type = a.type;
    if (a.type == dns_type::kCname) {
      o.name = a.owner.View();
      o.cname_target = a.cname_target.View();
      Observe(o);
      continue;
    }
    if (a.type != dns_type::kA && a.type != dns_type::kAaaa) continue;
    NameBinding b;
    b.name.Assign(name);
    b.answered_at = pkt.time;
    b.ttl = ttl;
    b.trusted = trusted;
    b.resolver = f.server;
    b.packet = pkt.number;
    names->Bind(a.address, b);
    ++stats.names_bound;
    o.name = a.owner.View();
    o.address = a.address;
    Observe(o);
  }
}

void Engine::Impl::FinalizeDns(DnsPending& pending) {
  for (std::size_t i = 0; i < pending.count; ++i) {
    const DnsRecord& q = pending.questions[i];
    const int catalog = CatalogIndex(*policy, q.qname.View());
    for (EventSink* s : sinks) s->OnDns(q, catalog);
  }
  pending.count = 0;
}

}  // namespace flightwall
