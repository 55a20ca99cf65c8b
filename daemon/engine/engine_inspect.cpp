// Name extraction in the engine: the first bytes a client sends reveal the
// host it wants (TLS SNI, HTTP Host, QUIC SNI). Each revealed name goes
// through the policy again (fronting and CDN checks need it).
#include "engine/engine_impl.h"

namespace flightwall {
namespace {
constexpr std::uint32_t kMaxQuicPackets = 16;  // give up on a QUIC flow after this many
}  // namespace

void Engine::Impl::Observe(const NameObservation& o) {
  for (EventSink* s : sinks) s->OnName(o);
}

void Engine::Impl::Reveal(Flow& f, std::string_view name, NameSource source) {
  NameObservation o;
  o.packet = pkt.number;
  o.source = source;
  o.name = name;
  o.flow = &f;
  Observe(o);
  if (name.empty()) return;
  const bool already_denied = f.verdict == Verdict::kDeny;
  const bool had_revealed = f.name_source != NameSource::kNone && f.name_source != NameSource::kDns;
  if (already_denied && had_revealed) return;  // keep the name that was denied
  f.hostname.Assign(name);
  f.name_source = source;
  f.name_packet = pkt.number;
  if (already_denied && f.app >= 0) {
    // Denied before the name was seen (e.g. the address was attested only
    // for a denied name). The revealed name gives the more precise reason:
    // an allowed SNI here is domain fronting, not just a denied host.
    const Flow before = f;
    f.verdict = Verdict::kNotGoverned;
    Decide(f);
    if (f.verdict != Verdict::kDeny) {  // a deny is final: keep the first one
      f.verdict = before.verdict;
      f.reason = before.reason;
      f.rule = before.rule;
      f.decision_packet = before.decision_packet;
    }
    return;
  }
  Decide(f);
}

void Engine::Impl::InspectClientStream(Flow& f, std::span<const std::uint8_t> part) {
  if (f.inspection_done || part.empty()) return;
  if (f.http_skip > 0) {
    const std::size_t n = part.size() < f.http_skip ? part.size() : f.http_skip;
    f.http_skip -= n;
    part = part.subspan(n);
    if (part.empty()) return;
  }
  if (f.stream_slot == Flow::kNoSlot) {
    f.stream_slot = streams.Acquire();
    if (f.stream_slot == Flow::kNoSlot) {
      ++stats.stream_buffer_exhausted;
      f.inspection_done = true;
      return;
    }
  }
  auto done = [&] {
    f.inspection_done = true;
    streams.Release(f.stream_slot);
    f.stream_slot = Flow::kNoSlot;
  };
  const bool fit = streams.Append(f.stream_slot, part);
  for (;;) {
    const auto data = streams.Data(f.stream_slot);
    if (f.http_requests == 0) {
      const ParseStatus tls = ParseTlsClientHelloRecords(data, &hello);
      if (tls == ParseStatus::kOk) {
        f.encrypted_client_hello = hello.has_ech || hello.has_esni;
        if (hello.has_sni) Reveal(f, hello.sni.View(), NameSource::kSni);
        return done();
      }
      if (tls == ParseStatus::kNeedMore) {
        if (!fit || streams.Full(f.stream_slot)) done();
        return;
      }
      if (tls == ParseStatus::kMalformed) return done();
    }
    const ParseStatus st = ParseHttpRequestHead(data, &http);
    if (st == ParseStatus::kNeedMore) {
      if (!fit || streams.Full(f.stream_slot)) done();
      return;
    }
    if (st != ParseStatus::kOk) return done();
    ++f.http_requests;
    if (http.has_host) Reveal(f, http.host.View(), NameSource::kHttpHost);
    if (http.chunked || f.http_requests >= limits.max_http_requests_per_flow) return done();
    streams.Consume(f.stream_slot, http.head_length);
    const std::size_t left = streams.Data(f.stream_slot).size();
    if (http.content_length >= left) {
      f.http_skip = http.content_length - left;
      streams.Consume(f.stream_slot, left);
      return;
    }
    streams.Consume(f.stream_slot, http.content_length);
    if (streams.Data(f.stream_slot).empty()) return;
  }
}

void Engine::Impl::InspectQuic(Flow& f) {
  if (f.quic_slot == Flow::kNoSlot) {
    if (!QuicInitialParser::LooksLikeInitial(pkt.payload)) {
      // 0-RTT packets may precede the Initial; a short header or plain
      // UDP for a while means there is no Initial to wait for.
      const bool long_header = !pkt.payload.empty() && (pkt.payload[0] & 0x80) != 0;
      if (!long_header || f.to_server.packets >= kMaxQuicPackets) f.inspection_done = true;
      return;
    }
    f.quic_slot = quic.Acquire();
    if (f.quic_slot == Flow::kNoSlot) {
      ++stats.quic_parser_exhausted;
      f.inspection_done = true;
      return;
    }
    quic.Get(f.quic_slot).Reset();
  }
  QuicInitialParser& q = quic.Get(f.quic_slot);
  const ParseStatus st = q.Feed(pkt.payload);
  const bool give_up = st == ParseStatus::kMalformed || f.to_server.packets >= kMaxQuicPackets;
  if (st == ParseStatus::kOk || give_up) {
    if (st == ParseStatus::kOk) {
      f.encrypted_client_hello = q.Result().has_ech;
      if (q.Result().has_sni) Reveal(f, q.Result().sni.View(), NameSource::kQuicSni);
    }
    quic.Release(f.quic_slot);
    f.quic_slot = Flow::kNoSlot;
    f.inspection_done = true;
  }
}

}  // namespace flightwall
