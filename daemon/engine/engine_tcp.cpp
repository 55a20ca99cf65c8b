// TCP in the engine: what flow/tcp_tracker reports turned into engine
// work: the client's payload taken into its stream slot and inspected
// (flow/client_stream), the server's acknowledgements that free held bytes
// and make a decision final, the server's in-order bytes read as DNS
// answers, slots freed on a reset.
#include "engine/engine_impl.h"
#include "flow/tcp_tracker.h"

namespace flightwall {

void Engine::Impl::HandleTcp(Flow& f, bool to_server) {
  const TcpStep step = TrackTcp(f, pkt, to_server);
  if (step.reset) ReleaseSlots(f);  // the connection is gone; its inspection with it
  if (!to_server) {
    if (step.server.gap) ++stats.stream_gaps;
    if (pkt.tcp_flags_value & tcp_flags::kAck) OnServerAck(f);
    if (CarriesDns(f)) HandleDnsTcp(f, false, step.server.fresh);
    return;
  }
  if (!pkt.payload.empty()) TakeClientPayload(f);
}

bool Engine::Impl::NeedsInspection(const Flow& f) const {
  // DNS and plain HTTP are read for as long as the flow lives; TLS until the
  // ClientHello was judged.
  return f.inspection == Inspection::kPending || f.http_requests > 0 || CarriesDns(f);
}

std::uint32_t Engine::Impl::KeepFrom(const Flow& f) const {
  // Bytes the inspector has not read yet stay, acknowledged or not.
  if (f.inspection == Inspection::kPending && !f.not_tls) return f.client_stream.start_seq;
  if (!CarriesDns(f) && (f.http_requests > 0 || f.not_tls)) {
    return SeqBefore(f.http_parse_seq, f.client_stream.next_seq) ? f.http_parse_seq
                                                                 : f.client_stream.next_seq;
  }
  return f.client_stream.next_seq;
}

void Engine::Impl::OnServerAck(Flow& f) {
  if (!AckClientStream(f.client_stream, streams, f.stream_slot, pkt.tcp_ack, KeepFrom(f))) return;
  if (f.inspection == Inspection::kPending || f.judged_acked) return;
  if (f.http_requests == 0 && !CarriesDns(f) && SeqAtOrAfter(pkt.tcp_ack, f.judged_end_seq)) {
    // The server holds every byte that was judged: no retransmission can
    // make it read others, so the decision may become final.
    f.judged_acked = true;
    ReleaseSlots(f);
  }
}

void Engine::Impl::TakeClientPayload(Flow& f) {
  const bool dns = CarriesDns(f);
  const bool governed = f.app >= 0 && f.verdict != Verdict::kNotGoverned;
  if (!f.client_stream.start_known) {
    // Picked up mid-connection: the start, where the name is, was not seen.
    if (governed && NeedsInspection(f)) SetInspection(f, Inspection::kGap);
    return;
  }
  // A governed flow keeps every byte not yet acknowledged in a stream slot,
  // to compare retransmissions with. Other flows (an audit's bystanders)
  // only need a slot while their first name is read.
  const bool want_slot =
      f.client_stream.retain &&
      (governed ? NeedsInspection(f) : f.inspection == Inspection::kPending && !dns);
  if (want_slot && f.stream_slot == Flow::kNoSlot && AcquireStream(f) == Flow::kNoSlot) {
    ++stats.stream_buffer_exhausted;
    SetInspection(f, Inspection::kPoolExhausted);  // deny the newcomer, evict nobody
    return;
  }
  // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
  const std::uint32_t seq = pkt.tcp_seq + ((pkt.tcp_flags_value & tcp_flags::kSyn) ? 1 : 0);
  const SegmentResult r =
      TakeClientSegment(f.client_stream, streams, f.stream_slot, seq, pkt.payload);
  switch (r.fate) {
    case SegmentFate::kFresh:
      if (dns) {
        HandleDnsTcp(f, true, r.fresh);
      } else if (NeedsInspection(f)) {
        InspectClientStream(f);
      }
      return;
    case SegmentFate::kDuplicate:
      return;  // the same bytes again: the verdict they had stands
    case SegmentFate::kConflict:
      ++stats.stream_conflicts;
      SetInspection(f, Inspection::kOverlapConflict);
      return;
    case SegmentFate::kAhead:
      ++stats.stream_gaps;
      f.saw_gap = true;
      // Never read across a hole: while the stream is still read (a name
      // pending, HTTP requests, DNS), the segment waits for the client's
      // retransmission. A flow whose verdict no longer depends on its bytes
      // (an opaque flow a CIDR rule allows, TLS once its ClientHello was
      // judged) lets it pass: refusing it would only stall the connection.
      if (!governed || NeedsInspection(f)) drop_packet = true;
      return;
    case SegmentFate::kNoRoom:
      ++stats.stream_no_room;
      if (f.inspection == Inspection::kPending && f.http_requests == 0) {
        SetInspection(f, Inspection::kTooLarge);  // the name is not in what fits
      } else {
        drop_packet = true;  // wait for the server to acknowledge what is held
      }
      return;
    case SegmentFate::kNoStart:
      SetInspection(f, Inspection::kGap);
      return;
  }
}

}  // namespace flightwall
