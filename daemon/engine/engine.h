// Engine: decode -> flows and names -> policy -> sinks, for one packet source.
//
// `flightwall audit` feeds it captured frames; the daemon feeds it NFQUEUE
// packets, one Engine per worker (queue), each with its own flow table and
// pools, all sharing one SharedNameCache so that DNS seen on one queue
// attests connections on another. Every table is bounded and preallocated in
// the constructor, so Process() does not allocate once warmed up (sinks
// may). Not thread-safe: an Engine belongs to one thread; the Policy is
// shared read-only and must outlive its use.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/verdict.h"
#include "decode/packet_decoder.h"
#include "engine/event_sink.h"
#include "engine/name_confirmer.h"
#include "engine/pool_usage.h"
#include "flow/flow.h"
#include "flow/shared_name_cache.h"
#include "policy/policy.h"
#include "source/raw_packet.h"

namespace flightwall {

enum class Vantage : std::uint8_t {
  kNetwork,  // capture on a gateway: flight_apps sources pick the app's traffic
  kDevice,   // capture on the device: all traffic it starts is the app's
  kQueue,    // the daemon: the kernel rules already selected flight-app traffic;
             // their mark (else interface/uid/source) says which app (else the first)
};

struct EngineLimits {
  std::size_t max_flows = 65536;
  std::size_t max_named_addresses = 16384;
  std::size_t max_pending_dns = 4096;
  std::size_t stream_buffers = 256;  // TCP flows under inspection at once
  // Client bytes kept per flow under inspection: a ClientHello of up to
  // 64 KiB in ordinary records, HTTP request heads, unacknowledged bytes.
  std::size_t stream_buffer_bytes = 69632;
  std::size_t quic_parsers = 64;          // flows decrypting QUIC Initials at once
  std::size_t dns_tcp_reassemblers = 32;  // DNS-over-TCP flows at once
  std::uint16_t max_http_requests_per_flow = 32;
  // Flows whose revealed name waits for the resolver at once
  // (dns.confirm_revealed_names); more are denied as unconfirmed.
  std::size_t awaiting_confirmation = 64;
  DecoderLimits decoder;
};

// The most memory an Engine built with these limits uses, in bytes: tables
// and inspection pools at their bounds (buffers are committed as they fill).
std::uint64_t EngineMemoryBound(const EngineLimits& limits);

struct EngineTimeouts {
  Timestamp tcp_established = 3600 * kMicrosPerSecond;
  Timestamp tcp_opening = 60 * kMicrosPerSecond;
  Timestamp tcp_closed = 10 * kMicrosPerSecond;
  Timestamp udp = 120 * kMicrosPerSecond;
  Timestamp dns = 30 * kMicrosPerSecond;
  Timestamp icmp = 30 * kMicrosPerSecond;
  // A first payload whose name has not come this long after it began is
  // stalled: when its pool is exhausted the inspection ends as a gap.
  Timestamp inspection = 10 * kMicrosPerSecond;
};

struct EngineStats {
  std::uint64_t packets = 0;
  std::uint64_t ip_packets = 0;
  std::uint64_t flows_created = 0;
  std::uint64_t flows_evicted = 0;  // dropped for space before they idled out
  std::uint64_t flows_expired = 0;
  std::uint64_t flows_reused = 0;  // a new TCP SYN on the 5-tuple of a flow still held
  std::uint64_t stream_buffer_exhausted = 0;
  std::uint64_t slots_reclaimed = 0;  // stalled or empty inspection slots taken back
  std::uint64_t quic_parser_exhausted = 0;
  std::uint64_t dns_tcp_exhausted = 0;
  std::uint64_t stream_gaps = 0;       // segments refused: they came before a hole
  std::uint64_t stream_conflicts = 0;  // retransmissions whose bytes differed
  std::uint64_t stream_no_room = 0;    // segments refused: no room to keep them
  std::uint64_t inspection_incomplete = 0;
  std::uint64_t dns_pending_evicted = 0;
  std::uint64_t dns_unmatched_responses = 0;
  std::uint64_t dns_malformed = 0;
  std::uint64_t names_bound = 0;
  // dns.confirm_revealed_names
  std::uint64_t confirmations_asked = 0;  // flows that asked the resolver
  std::uint64_t names_confirmed = 0;
  std::uint64_t names_unconfirmed = 0;  // refuted, timed out, rate-limited, failed
  std::uint64_t confirm_no_room = 0;    // more flows waiting than awaiting_confirmation
};

struct PacketOutcome {
  DecodeStatus decode = DecodeStatus::kNotIp;
  Verdict verdict = Verdict::kNotGoverned;
  Reason reason = Reason::kNotFlightApp;
  const Flow* flow = nullptr;  // valid until the next Process()
  // The packet as decoded (kOk only, else null), for the replies an enforcer
  // builds from it (reply/reply_builder.h). Valid until the next Process();
  // its payload views also need the RawPacket's bytes.
  const DecodedPacket* packet = nullptr;
  bool to_server = true;  // packet direction within the flow
  // The flow's verdict cannot change any more: an enforcer may let the
  // kernel apply it to the rest of the connection (connmark).
  bool final = false;
  // Payload whose name is not known yet (a ClientHello split over segments,
  // a QUIC Initial over several datagrams): an enforcer holds the packet
  // until a later packet makes the decision final.
  bool awaiting_name = false;
  // Some client payload of this flow is not judged yet (its name is being
  // read or confirmed): packets held for it must stay held.
  bool unjudged = false;
  // This packet may not pass now although its flow's verdict stands (a
  // segment beyond a hole in the client's stream, or no room to keep its
  // bytes): drop it without a reply; the client retransmits.
  bool drop_packet = false;
  // DNS: this packet is a question from a flight app that the policy denies.
  bool dns_question_denied = false;
  Reason dns_reason = Reason::kNotFlightApp;
  bool is_dns = false;
  // Plain HTTP between requests (allowed, not final): what the server sends
  // cannot carry the app's data, so an enforcer may let the kernel pass the
  // server's data packets (kOn) until the client sends again (kOff). On only
  // once the server acknowledged every byte judged, so no retained byte
  // waits for an acknowledgement the engine would no longer see.
  enum class ReplyBypass : std::uint8_t { kUnchanged, kOn, kOff };
  ReplyBypass reply_bypass = ReplyBypass::kUnchanged;
};

class Engine {
 public:
  // `shared_names` (not owned, thread-safe) is the name cache of several
  // engines; null gives the engine one of its own.
  Engine(const Policy& policy, Vantage vantage, const EngineLimits& limits = {},
         const EngineTimeouts& timeouts = {}, SharedNameCache* shared_names = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void AddSink(EventSink* sink);  // not owned; must outlive the engine's use
  // Judges new decisions with `policy` (which must outlive its use). Flows
  // already decided keep their verdict; their apps and rules are found again
  // by name (a flow whose app is gone stays governed, as the first app; one
  // whose rule is gone names none).
  void SetPolicy(const Policy& policy);
  // How to ask the trusted resolver for dns.confirm_revealed_names (not
  // owned, thread-safe, must outlive its use). Without one (the default,
  // and `audit`) the opt-in has no effect.
  void SetNameConfirmer(NameConfirmer* confirmer);
  // Asks again for every flow awaiting confirmation (call every tick); each
  // flow whose confirmation ended is appended to *decided, with whether its
  // held payload may now pass (allowed and fully judged) or must be dropped
  // (denied as unconfirmed, reported); neither: it stays held.
  struct ConfirmationEnded {
    FlowKey key;
    bool release = false;
    bool denied = false;
  };
  void PollConfirmations(Timestamp now, std::vector<ConfirmationEnded>* decided);
  PacketOutcome Process(const RawPacket& raw);
  // The payload held for this flow's name waited too long (the daemon's
  // hold timeout): the inspection ends as a gap and the flow is denied and
  // reported. False when there was nothing pending.
  bool EndStalledInspection(const FlowKey& key, Timestamp now);
  // End of input: finalizes every open flow and DNS question, in order of
  // first packet, so output is deterministic.
  void Finish();

  const EngineStats& Stats() const;
  const DecoderStats& DecodeStats() const;
  std::size_t ActiveFlows() const;
  std::size_t NamedAddresses() const;
  PoolUsage Pools() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightwall
