// Name extraction in the engine: the first bytes a client sends reveal the
// host it wants (TLS SNI, HTTP Host, QUIC SNI). Each revealed name goes
// through the policy again (fronting and CDN checks need it).
#include "engine/engine_impl.h"

namespace flightwall {
namespace {
// Client datagrams a QUIC ClientHello may take: a 64 KiB one needs about 55
// Initials of 1200 bytes.
constexpr std::uint32_t kMaxQuicPackets = 64;
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
  if (f.hostname.View() != name) {
    // A confirmation vouches for one name: another revealed while it is
    // asked (a pipelined request, a new QUIC ClientHello) is not confirmed.
    if (f.confirming) {
      f.confirming = false;
      f.confirm_refuted = true;
      ++stats.names_unconfirmed;
    }
    f.name_confirmed = false;
  }
  f.hostname.Assign(name);
  f.name_source = source;
  f.name_packet = pkt.number;
  if (already_denied && f.app >= 0) {
    // Denied before the name was seen (e.g. the address was attested only
    // for a denied name). The revealed name gives the more precise reason:
    // an allowed SNI here is domain fronting, not just a denied host.
    const Decision with_name = Judge(f, LookupNames(f.server));
    if (RefinesDenial(with_name)) {
      f.reason = with_name.reason;
      f.rule = with_name.rule;
      f.decision_packet = pkt.number;
    }
    return;
  }
  Decide(f);
}

void Engine::Impl::InspectClientStream(Flow& f) {
  if (f.stream_slot == Flow::kNoSlot) return;
  if (!f.not_tls && f.http_requests == 0 && f.inspection == Inspection::kPending) {
    InspectTls(f);
    if (!f.not_tls) return;
    f.http_parse_seq = f.client_stream.start_seq;
  }
  InspectHttp(f);
}

void Engine::Impl::InspectTls(Flow& f) {
  // While the ClientHello is read the slot holds the stream from its start.
  TlsHelloReader& reader = tls_readers[f.stream_slot];
  const ParseStatus st = reader.Feed(streams.Data(f.stream_slot), &hello);
  switch (st) {
    case ParseStatus::kNeedMore:
      return;
    case ParseStatus::kNotMine:
      f.not_tls = true;
      return;
    case ParseStatus::kTooLarge:
      return SetInspection(f, Inspection::kTooLarge);
    case ParseStatus::kMalformed:
      return SetInspection(f, Inspection::kMalformed);
    case ParseStatus::kOk:
      break;
  }
  // The records that carried the ClientHello end here (at most at the
  // newest byte: a record claiming more than arrived is not waited for).
  f.judged_end_seq = f.client_stream.start_seq + static_cast<std::uint32_t>(reader.ConsumedBytes());
  if (SeqBefore(f.client_stream.next_seq, f.judged_end_seq)) {
    f.judged_end_seq = f.client_stream.next_seq;
  }
  f.client_stream.retain = false;  // later bytes are encrypted: nothing to read in them
  JudgeHello(f, hello, hello.has_ech || hello.has_esni, NameSource::kSni);
}

namespace {

Inspection HelloOutcome(const ClientHelloInfo& h, bool encrypted) {
  if (encrypted) return Inspection::kEncryptedClientHello;
  return h.has_sni ? Inspection::kComplete : Inspection::kNoName;
}

}  // namespace

void Engine::Impl::JudgeHello(Flow& f, const ClientHelloInfo& h, bool encrypted,
                              NameSource source) {
  f.encrypted_client_hello = encrypted;
  f.inspection = HelloOutcome(h, encrypted);
  if (f.inspection != Inspection::kComplete && f.app >= 0) ++stats.inspection_incomplete;
  if (h.has_sni) {
    Reveal(f, h.sni.View(), source);
  } else {
    Decide(f);
  }
}

bool Engine::Impl::StartQuicParser(Flow& f) {
  if (AcquireQuic(f) == Flow::kNoSlot) {
    ++stats.quic_parser_exhausted;
    SetInspection(f, Inspection::kPoolExhausted);
    return false;
  }
  f.quic_first_packet = static_cast<std::uint32_t>(f.to_server.packets);
  return true;
}

void Engine::Impl::InspectHttp(Flow& f) {
  for (;;) {
    const ClientStream& cs = f.client_stream;
    // A request body still arriving: nothing to parse until it is past.
    if (!SeqBefore(f.http_parse_seq, cs.next_seq)) {
      f.http_awaiting = false;
      return;
    }
    const std::span<const std::uint8_t> held = streams.Data(f.stream_slot);
    const std::size_t offset = f.http_parse_seq - cs.base_seq;
    if (SeqBefore(f.http_parse_seq, cs.base_seq) || offset > held.size()) {
      return SetInspection(f, Inspection::kGap);  // cannot happen: the head is kept
    }
    const std::span<const std::uint8_t> data = held.subspan(offset);
    const ParseStatus st = ParseHttpRequestHead(data, &http);
    if (st == ParseStatus::kNeedMore) {
      // Hold the bytes of an incomplete head until its Host is known; a
      // head that does not fit what flightwall keeps is too large to judge.
      f.http_awaiting = true;
      if (streams.Room(f.stream_slot) == 0) SetInspection(f, Inspection::kTooLarge);
      return;
    }
    f.http_awaiting = false;
    if (st == ParseStatus::kNotMine) {
      return SetInspection(
          f, f.http_requests == 0 ? Inspection::kUnrecognizedProtocol : Inspection::kMalformed);
    }
    if (st != ParseStatus::kOk) return SetInspection(f, Inspection::kMalformed);
    ++f.http_requests;
    // Past this many requests, or a body too long to skip by sequence
    // number, the next head cannot be found: stop judging, deny.
    if (f.http_requests > limits.max_http_requests_per_flow ||
        http.content_length >= (std::uint64_t{1} << 30)) {
      return SetInspection(f, Inspection::kTooLarge);
    }
    f.http_parse_seq += static_cast<std::uint32_t>(http.head_length + http.content_length);
    if (http.has_host) {
      f.inspection = Inspection::kComplete;
      Reveal(f, http.host.View(), NameSource::kHttpHost);
    } else {
      SetInspection(f, Inspection::kNoName);
    }
    if (f.verdict == Verdict::kDeny || InspectionFailed(f.inspection)) return;
    // A chunked body's end is not followed: what comes after it could be
    // another request nobody judged.
    if (http.chunked) return SetInspection(f, Inspection::kUnrecognizedProtocol);
  }
}

void Engine::Impl::InspectQuic(Flow& f) {
  if (f.quic_slot == Flow::kNoSlot) {
    switch (QuicInitialParser::ClassifyDatagram(pkt.payload)) {
      case QuicLongHeaderKind::kUnknownVersion:
        return SetInspection(f, Inspection::kUnknownVersion);
      case QuicLongHeaderKind::kNotQuicLongHeader:
        // A short header or plain UDP before any Initial: no name will come.
        return SetInspection(f, Inspection::kUnrecognizedProtocol);
      case QuicLongHeaderKind::kSupportedOther:
        // 0-RTT may precede the Initial; held meanwhile, for a few datagrams.
        if (f.to_server.packets >= kMaxQuicPackets) SetInspection(f, Inspection::kMalformed);
        return;
      case QuicLongHeaderKind::kSupportedInitial:
        break;
    }
    if (!StartQuicParser(f)) return;
  }
  QuicInitialParser& q = quic.Get(f.quic_slot);
  const ParseStatus st = q.Feed(pkt.payload);
  const auto fed = static_cast<std::uint32_t>(f.to_server.packets) - f.quic_first_packet;
  switch (st) {
    case ParseStatus::kNeedMore:
    case ParseStatus::kNotMine:
      // Datagrams that never complete the ClientHello (forged, undecryptable)
      // end the inspection after a few.
      if (fed >= kMaxQuicPackets) SetInspection(f, Inspection::kMalformed);
      return;
    case ParseStatus::kTooLarge:
      return SetInspection(f, Inspection::kTooLarge);
    case ParseStatus::kMalformed:
      // CRYPTO bytes resent with other content: the server keeps the first
      // copy, we might have read the other.
      return SetInspection(f, q.Stats().crypto_conflicts > 0 ? Inspection::kOverlapConflict
                                                             : Inspection::kMalformed);
    case ParseStatus::kOk:
      break;
  }
  // The parser stays built after its slot is released (nothing takes it
  // before this call returns), so the result can still be read.
  const ClientHelloInfo& result = q.Result();
  const Inspection outcome = HelloOutcome(result, result.has_ech);
  f.encrypted_client_hello = result.has_ech;
  const bool again = f.quic_rechecking;
  f.quic_rechecking = false;
  ReleaseSlots(f);
  if (again && outcome == Inspection::kComplete && f.hostname.View() == result.sni.View()) {
    return;  // the same ClientHello again (a retransmitted first Initial)
  }
  if (again && outcome != Inspection::kComplete) return SetInspection(f, outcome);
  JudgeHello(f, result, result.has_ech, NameSource::kQuicSni);
}

void Engine::Impl::RecheckQuic(Flow& f) {
  // A judged QUIC flow stays under inspection (never bypassed): a client
  // may start another connection on the same 5-tuple with another
  // ClientHello. Initials keyed on their own Destination Connection ID are
  // read again; the connection's later Initials (keyed on the first DCID)
  // do not decrypt that way and pass.
  if (f.quic_slot == Flow::kNoSlot) {
    switch (QuicInitialParser::ClassifyDatagram(pkt.payload)) {
      case QuicLongHeaderKind::kUnknownVersion:
        return SetInspection(f, Inspection::kUnknownVersion);
      case QuicLongHeaderKind::kSupportedInitial:
        break;
      default:
        return;
    }
    if (!StartQuicParser(f)) return;
    f.quic_rechecking = true;
  }
  QuicInitialParser& q = quic.Get(f.quic_slot);
  const std::uint32_t before = q.Stats().initials_decrypted;
  InspectQuic(f);
  if (f.quic_slot != Flow::kNoSlot && q.Stats().initials_decrypted == before &&
      q.Stats().initials_decrypted == 0) {
    ReleaseSlots(f);  // not a new ClientHello: nothing to hold
    f.quic_rechecking = false;
  }
}

}  // namespace flightwall
