// The steps that shape a verdict around the decision functions (decide.h),
// in the order a packet meets them. decide.h answers "what does the policy
// say of this flow, given what is known"; these answer how that answer is
// kept, when it is final, and what happens to one packet because of it. The
// engine (engine/) and the enforcer (service/enforcer) carry them out and
// decide nothing themselves: to change a verdict, change decide.cpp or this
// file.
//
//   1. MayReplace    a deny stands: nothing learned later undoes it.
//   2. RefinesDenial a name revealed after a deny may only sharpen its reason
//                    (an allowed SNI on a denied address is domain fronting).
//   3. SettleFlow    after each packet: is the flow's decision final, does its
//                    payload wait for a name, may its inspection room go, may
//                    the server's replies bypass the queue.
//   4. ActOnPacket   what the daemon does with one queued packet: audit mode,
//                    undecodable packets, DNS questions, held payload, the
//                    reply that makes a denial fail fast, the connection mark
//                    that lets the kernel apply a final verdict.
//
// Pure functions over small fact structs: no I/O, no allocation,
// thread-safe.
#pragma once

#include <cstdint>

#include "common/verdict.h"
#include "policy/decide.h"

namespace flightwall {

// 1. Whether a later decision may replace a flow's `current` verdict: not
// a deny.
bool MayReplace(Verdict current);

// 2. A flow denied before its name was seen, judged again with the name:
// whether that judgement (`with_name`) replaces the first deny's reason. Only
// when it denies too; an allow never undoes the deny.
bool RefinesDenial(const Decision& with_name);

// How a flow carries data, as far as settling it goes.
enum class FlowCarrier : std::uint8_t {
  kTcp,     // a stream: final once the server holds every judged byte
  kUdp,     // datagrams: final once judged
  kSingle,  // ICMP and other protocols: final at once
};

struct SettleFacts {
  bool governed = false;  // a flight app's flow that the policy judges
  Verdict verdict = Verdict::kNotGoverned;
  FlowCarrier carrier = FlowCarrier::kSingle;
  bool to_server = true;
  bool has_payload = false;
  bool carries_dns = false;  // read as DNS (policy/dns_rules.h)
  bool dns_seen = false;     // carried a DNS message already
  // Some client payload is not judged yet: the name is still being read,
  // an HTTP request head is incomplete, a QUIC ClientHello is re-read, or
  // the revealed name awaits the resolver's confirmation.
  bool payload_unjudged = false;
  bool inspection_pending = false;  // no inspection outcome yet
  bool judged_acked = false;        // TCP: the server acknowledged every judged byte
  bool reading_http = false;        // plain HTTP: read request by request
  bool quic_named = false;          // the name came from a QUIC Initial
  bool already_final = false;       // settled by an earlier packet
  bool packet_refused = false;      // this packet is dropped for room or order
};

struct Settlement {
  // The flow's decision cannot change any more (report it, once).
  bool decision_final = false;
  // The kernel may apply it to the rest of the connection (connmark). Not
  // for allowed QUIC: a new connection on the same 5-tuple must have its
  // ClientHello read too.
  bool kernel_may_apply = false;
  // Held payload must stay held: part of it is not judged yet.
  bool unjudged = false;
  // This packet carries client payload whose name is not known yet: hold it.
  bool awaiting_name = false;
  // A denied flow whose name was read has nothing left to read, and its
  // server never acknowledges the dropped bytes: its inspection room goes
  // now, not at its idle timeout, or denied connections would starve
  // allowed ones of it. Denied flows still read for evidence (the name of a
  // flow denied at its SYN, later HTTP requests, DNS answers) keep theirs
  // until a newcomer needs it.
  bool release_name_room = false;
  // Allowed plain HTTP between requests: the server's data may pass in the
  // kernel once it acknowledged every judged byte (the engine checks that).
  bool may_bypass_replies = false;
};

// 3. DNS is judged question by question and never settled as a flow unless
// it is denied as a whole; flows the policy does not govern are never
// settled.
Settlement SettleFlow(const SettleFacts& facts);

// What the engine said about one queued packet, and how the daemon runs.
struct PacketFacts {
  bool enforce = true;  // mode enforce (audit: every packet passes, decisions are logged)
  // The packet decoded into a flow. A queued packet that did not (malformed
  // headers, a fragment the decoder could not place, a version or link the
  // decoder does not read) cannot be judged: dropped when enforcing.
  bool decoded = false;
  Verdict verdict = Verdict::kNotGoverned;
  FlowCarrier carrier = FlowCarrier::kSingle;
  bool icmp_error = false;  // the flow is an ICMP error (never connmarked)
  bool to_server = true;
  bool packet_refused = false;  // Settle's packet_refused
  bool dns = false;             // judged as DNS, question by question
  bool dns_question_denied = false;
  Reason dns_reason = Reason::kNotFlightApp;
  Settlement settled;
  bool every_packet = false;      // intercept.mode every-packet: never connmark
  bool reply_bypass_on = false;   // the engine just turned reply bypass on
  bool reply_bypass_off = false;  // ... or off
};

enum class QueueVerdict : std::uint8_t { kAccept, kDrop, kHold };
enum class PacketReply : std::uint8_t {
  kNone,
  kTcpReset,         // to the client, from the server
  kIcmpUnreachable,  // administratively prohibited, from the server
  kDnsRefusal,       // REFUSED or NXDOMAIN (dns_refusal), from the resolver
};
enum class HeldFate : std::uint8_t { kStay, kAccept, kDrop };  // the flow's held packets
enum class ConnMark : std::uint8_t { kNone, kAllowed, kDenied, kRequests, kInspect };
enum class PacketCount : std::uint8_t { kNone, kMalformedDropped, kSegmentRefused };

struct PacketAction {
  QueueVerdict queue = QueueVerdict::kAccept;
  PacketReply reply = PacketReply::kNone;
  HeldFate held = HeldFate::kStay;
  ConnMark mark = ConnMark::kNone;
  PacketCount count = PacketCount::kNone;
  Verdict judged = Verdict::kNotGoverned;  // what the packet was judged, for the loop's counters
  bool ack_held = false;                   // held ClientHello bytes may need a forged ACK
};

// 4.
PacketAction ActOnPacket(const PacketFacts& facts);

}  // namespace flightwall
