// Engine internals shared by engine.cpp (the pipeline for one packet,
// decisions, flows' start and end), engine_tcp.cpp (what the TCP tracker
// reports turned into slot, inspection and DNS work),
// engine_slots.cpp (inspection pool slots), engine_dns.cpp (DNS questions,
// answers, name binding) and engine_inspect.cpp (TLS, HTTP and QUIC name
// extraction). The flow table (keying, eviction, expiry) is flow/flow_table,
// TCP state and sequence tracking flow/tcp_tracker, delivery evidence
// flow/delivery: they know nothing of policy, pools or sinks. Not a public
// API.
#pragma once

#include <array>
#include <vector>

#include "common/bounded_table.h"
#include "engine/engine.h"
#include "engine/inspection_pools.h"
#include "flow/delivery.h"
#include "flow/flow_table.h"
#include "flow/shared_name_cache.h"
#include "policy/decide.h"
#include "policy/verdict_steps.h"
#include "proto/dns_parser.h"
#include "proto/http_request.h"
#include "proto/quic_initial.h"
#include "proto/tls_client_hello.h"
#include "proto/tls_hello_reader.h"

namespace flightwall {

struct DnsPendingKey {
  IpAddress client;
  IpAddress server;
  std::uint16_t client_port = 0;
  std::uint16_t server_port = 0;
  std::uint16_t id = 0;
  bool tcp = false;
  friend bool operator==(const DnsPendingKey&, const DnsPendingKey&) = default;
};

struct DnsPendingKeyHash {
  std::size_t operator()(const DnsPendingKey& k) const {
    return (k.client.Hash() * 31 + k.server.Hash()) * 131 +
           ((std::size_t{k.client_port} << 17) ^ (std::size_t{k.id} << 1) ^ k.tcp);
  }
};

struct DnsPending {
  std::array<DnsRecord, DnsMessage::kMaxQuestions> questions{};
  std::size_t count = 0;
};

using DnsTcpPair = std::array<DnsTcpReassembler, 2>;  // [0] to server, [1] to client

// Which flow holds each slot of a pool, and since when: when a pool is
// exhausted, slots whose inspection stalled (its bytes never came) or that
// hold nothing (an idle HTTP or DNS connection) are taken back. An
// inspection in progress is never evicted.
struct SlotOwners {
  explicit SlotOwners(std::size_t n) : key(n), since(n, 0), used(n, false) {}
  std::vector<FlowKey> key;
  std::vector<Timestamp> since;
  std::vector<bool> used;
};

struct Engine::Impl final : FlowEndHandler {
  Impl(const Policy& p, Vantage v, const EngineLimits& l, const EngineTimeouts& t,
       SharedNameCache* shared_names);

  PacketOutcome Process(const RawPacket& raw);
  void Finish();

  // engine.cpp
  // A flow the table created: its app, its name from DNS, its first decision.
  void StartFlow(Flow& f);
  // A flow leaving the table: counted, then finalized.
  void OnFlowEnd(Flow& f, FlowEnd why) override;
  void Decide(Flow& f);
  // With the destination's bindings already read (they live in
  // name_scratch until the next LookupNames).
  void Decide(Flow& f, std::span<const NameBinding> dst_names);
  // What the policy says of f now (decide.h), without applying it.
  Decision Judge(const Flow& f, std::span<const NameBinding> dst_names) const;
  void JudgeIcmpError(Flow& f);
  void ApplyDecision(Flow& f, const Decision& d);
  // Records how the inspection ended and decides again with it.
  void SetInspection(Flow& f, Inspection outcome);
  void HandleIcmp(Flow& f);
  void FinalizeFlow(Flow& f);
  int CatalogFor(const Flow& f) const;
  void SettleDecision(Flow& f, PacketOutcome* out);
  void ShapeReplyBypass(Flow& f, bool has_payload, PacketOutcome* out);
  // Tells the sinks a flow's final decision, once.
  void ReportDecision(Flow& f);
  // Idle flows and DNS questions whose answer never came.
  void ExpireIdle(Timestamp now);
  // Whether f carries DNS (policy/dns_rules.h), or already carried DNS
  // messages: read as DNS, judged question by question, never bypassed.
  bool CarriesDns(const Flow& f) const;

  // engine_tcp.cpp
  void HandleTcp(Flow& f, bool to_server);
  void TakeClientPayload(Flow& f);
  void OnServerAck(Flow& f);
  bool NeedsInspection(const Flow& f) const;
  std::uint32_t KeepFrom(const Flow& f) const;

  // engine_slots.cpp: pool slots for flow f (kNoSlot when the pool is
  // exhausted even after taking back stalled and empty slots).
  std::uint32_t AcquireStream(Flow& f);
  std::uint32_t AcquireQuic(Flow& f);
  std::uint32_t AcquireDnsTcp(Flow& f);
  // Takes a slot of `pool` for f into f.*slot_of; when the pool is full,
  // first takes back one stale, stalled or (stream) empty slot.
  template <typename Pool>
  std::uint32_t Acquire(Pool& pool, SlotOwners& owners, std::uint32_t Flow::*slot_of, Flow& f);
  template <typename Pool>
  bool Reclaim(Pool& pool, SlotOwners& owners, std::uint32_t Flow::*slot_of);
  void ReleaseSlots(Flow& f);
  // The slots that hold bytes for reading a name (ClientHello, QUIC); not
  // the DNS-over-TCP reassemblers.
  void ReleaseNameSlots(Flow& f);

  // engine_dns.cpp
  void HandleDnsPayload(Flow& f, bool to_server, std::span<const std::uint8_t> message, bool tcp);
  void HandleDnsTcp(Flow& f, bool to_server, std::span<const std::uint8_t> part);
  void BindAnswers(const Flow& f, bool trusted);
  void FinalizeDns(DnsPending& pending);

  // engine_inspect.cpp
  void InspectClientStream(Flow& f);
  void InspectTls(Flow& f);
  void InspectHttp(Flow& f);
  void InspectQuic(Flow& f);
  void RecheckQuic(Flow& f);
  // A ClientHello read whole: its outcome (complete, no name, ECH) and name
  // go to the policy.
  void JudgeHello(Flow& f, const ClientHelloInfo& h, bool encrypted, NameSource source);
  // Takes a QUIC parser for f; false (and the flow denied) when none is free.
  bool StartQuicParser(Flow& f);
  void Reveal(Flow& f, std::string_view name, NameSource source);

  // engine_confirm.cpp (dns.confirm_revealed_names)
  bool MayConfirm() const;
  void AskConfirmation(Flow& f);
  // Asks again for a flow awaiting confirmation; true when it ended.
  bool PollConfirmation(Flow& f);
  void EndConfirmation(Flow& f, const ConfirmResult& r);
  // Client payload of f that is not judged yet (held until it is).
  bool PayloadUnjudged(const Flow& f) const;
  void Observe(const NameObservation& o);

  const Policy* policy;  // replaced on reload (Engine::SetPolicy)
  Vantage vantage;
  EngineLimits limits;
  EngineTimeouts timeouts;
  FlowIdleTimeouts idle_timeouts;  // from timeouts
  PacketDecoder decoder;
  const RawPacket* raw = nullptr;  // the packet being processed
  DecodedPacket pkt;
  FlowTable flows;
  std::unique_ptr<SharedNameCache> own_names;  // when no shared cache was given
  SharedNameCache* names;
  std::array<NameBinding, NameCache::kNamesPerAddress> name_scratch{};
  // The bindings of `address`, copied into name_scratch (valid until the
  // next call).
  std::span<const NameBinding> LookupNames(const IpAddress& address);
  BoundedTable<DnsPendingKey, DnsPending, DnsPendingKeyHash> dns_pending;
  StreamBufferPool streams;
  std::vector<TlsHelloReader> tls_readers;  // one per stream slot
  SlotOwners stream_owners;
  SlotOwners quic_owners;
  SlotOwners dns_tcp_owners;
  ObjectPool<QuicInitialParser> quic;
  ObjectPool<DnsTcpPair> dns_tcp;
  DnsMessage dns_msg;
  ClientHelloInfo hello;
  HttpRequestInfo http;
  std::vector<EventSink*> sinks;
  EngineStats stats;
  // Set by HandleDnsPayload for the packet being processed.
  bool dns_denied_in_packet = false;
  Reason dns_denied_reason = Reason::kNotFlightApp;
  // Set for the packet being processed: it may not pass now, although its
  // flow's verdict is unchanged (a segment beyond a hole, no room to keep it).
  bool drop_packet = false;
  NameConfirmer* confirmer = nullptr;  // not owned; null: no active attestation
  std::vector<FlowKey> confirming;     // flows awaiting confirmation (bounded)
};

}  // namespace flightwall
