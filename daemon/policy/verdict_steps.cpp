#include "policy/verdict_steps.h"

namespace flightwall {
namespace {

// The reply that makes a denied opening fail fast instead of timing out:
// only to what the client sends, never to the server.
PacketReply FailFast(FlowCarrier carrier, bool to_server) {
  if (!to_server) return PacketReply::kNone;
  switch (carrier) {
    case FlowCarrier::kTcp:
      return PacketReply::kTcpReset;
    case FlowCarrier::kUdp:
      return PacketReply::kIcmpUnreachable;
    case FlowCarrier::kSingle:
      break;
  }
  return PacketReply::kNone;
}

PacketAction Pass(Verdict judged) {
  PacketAction a;
  a.judged = judged;
  return a;
}

PacketAction Drop(Verdict judged) {
  PacketAction a;
  a.queue = QueueVerdict::kDrop;
  a.judged = judged;
  return a;
}

}  // namespace

bool MayReplace(Verdict current) { return current != Verdict::kDeny; }

bool RefinesDenial(const Decision& with_name) { return with_name.verdict == Verdict::kDeny; }

Settlement SettleFlow(const SettleFacts& facts) {
  Settlement s;
  if (!facts.governed || facts.verdict == Verdict::kNotGoverned) return s;
  const bool deny = facts.verdict == Verdict::kDeny;
  if (facts.carries_dns && !deny) return s;  // judged question by question
  const bool stream = facts.carrier != FlowCarrier::kSingle;
  // Payload passes only once its name check is over: the first payload
  // until the inspection has an outcome, an HTTP request until its head is
  // complete, a revealed name until the resolver confirmed it.
  s.unjudged = facts.payload_unjudged && !deny;
  s.awaiting_name = stream && facts.to_server && facts.has_payload && s.unjudged;
  // UDP is final once judged; TCP once judged and the server acknowledged
  // every judged byte (no retransmission can replace them then), except
  // plain HTTP and DNS, which stay under inspection (a later request may
  // name another host). Denials and single packets are final at once.
  bool settled = false;
  if (facts.payload_unjudged) {
    settled = false;
  } else if (facts.carrier == FlowCarrier::kUdp) {
    settled = !facts.inspection_pending;
  } else if (facts.carrier == FlowCarrier::kTcp) {
    settled =
        !facts.inspection_pending && facts.judged_acked && !facts.reading_http && !facts.dns_seen;
  }
  s.decision_final = facts.already_final || deny || !stream || settled;
  s.release_name_room =
      deny && !facts.inspection_pending && !facts.reading_http && !facts.carries_dns;
  s.kernel_may_apply = s.decision_final && !(!deny && facts.quic_named);
  s.may_bypass_replies = !s.decision_final && facts.carrier == FlowCarrier::kTcp &&
                         facts.reading_http && facts.verdict == Verdict::kAllow &&
                         !s.awaiting_name && !facts.packet_refused && !facts.payload_unjudged;
  return s;
}

PacketAction ActOnPacket(const PacketFacts& facts) {
  if (!facts.decoded) {
    // Only IP reaches the queue and conntrack reassembles fragments before
    // it, so what does not decode is malformed or a trick: fail closed.
    if (!facts.enforce) return Pass(Verdict::kNotGoverned);
    PacketAction a = Drop(Verdict::kDeny);
    a.count = PacketCount::kMalformedDropped;
    return a;
  }
  if (!facts.enforce || facts.verdict == Verdict::kNotGoverned) return Pass(facts.verdict);
  const bool deny = facts.verdict == Verdict::kDeny;
  if (facts.packet_refused && !deny) {
    // Not judged yet (beyond a hole, or no room to keep its bytes): the
    // client retransmits; the flow's verdict stands.
    PacketAction a = Drop(Verdict::kDeny);
    a.count = PacketCount::kSegmentRefused;
    return a;
  }
  if (facts.dns && !(facts.carrier == FlowCarrier::kTcp && deny)) {
    if (!facts.dns_question_denied) return deny ? Drop(facts.verdict) : Pass(facts.verdict);
    PacketAction a = Drop(Verdict::kDeny);
    if (facts.dns_reason == Reason::kDnsResolverNotAllowed) {
      a.reply = FailFast(facts.carrier, facts.to_server);  // unreachable from that server
    } else if (facts.dns_reason == Reason::kDnsNameNotAllowed) {
      a.reply = PacketReply::kDnsRefusal;
    }
    return a;
  }
  if (deny) {
    PacketAction a = Drop(Verdict::kDeny);
    a.reply = FailFast(facts.carrier, facts.to_server);
    a.held = HeldFate::kDrop;
    if (facts.settled.kernel_may_apply && !facts.icmp_error) a.mark = ConnMark::kDenied;
    return a;
  }
  if (facts.settled.awaiting_name) {
    PacketAction a = Pass(facts.verdict);
    a.queue = QueueVerdict::kHold;
    a.ack_held = true;
    return a;
  }
  PacketAction a = Pass(Verdict::kAllow);
  // Held payload passes only once every byte of it was judged: not while a
  // name is still read or confirmed, whatever this packet (an ACK) is.
  if (!facts.settled.unjudged) a.held = HeldFate::kAccept;
  if (!facts.every_packet && !facts.icmp_error) {
    if (facts.settled.kernel_may_apply) {
      a.mark = ConnMark::kAllowed;
    } else if (facts.reply_bypass_on) {
      a.mark = ConnMark::kRequests;
    } else if (facts.reply_bypass_off) {
      a.mark = ConnMark::kInspect;
    }
  }
  return a;
}

}  // namespace flightwall
