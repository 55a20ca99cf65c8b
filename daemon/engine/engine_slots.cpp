// Inspection slots in the engine: who holds which pool slot, taking back
// stalled and empty ones when a pool is full (never an inspection in
// progress), and the memory the limits imply.
#include <algorithm>

#include "engine/engine_impl.h"

namespace flightwall {

void Engine::Impl::ReleaseSlots(Flow& f) {
  if (f.stream_slot != Flow::kNoSlot) {
    streams.Release(f.stream_slot);
    stream_owners.used[f.stream_slot] = false;
  }
  if (f.quic_slot != Flow::kNoSlot) {
    quic.Release(f.quic_slot);
    quic_owners.used[f.quic_slot] = false;
  }
  if (f.dns_tcp_slot != Flow::kNoSlot) {
    dns_tcp.Release(f.dns_tcp_slot);
    dns_tcp_owners.used[f.dns_tcp_slot] = false;
  }
  f.stream_slot = f.quic_slot = f.dns_tcp_slot = Flow::kNoSlot;
}

namespace {

FlowKey KeyOf(const Flow& f) {
  bool a = true;
  return MakeFlowKey(f.client, f.client_port, f.server, f.server_port, f.protocol, &a);
}

template <typename Pool>
std::uint32_t TakeSlot(Pool& pool, SlotOwners& owners, const Flow& f, Timestamp now) {
  const std::uint32_t s = pool.Acquire();
  if (s != Flow::kNoSlot) {
    owners.key[s] = KeyOf(f);
    owners.since[s] = now;
    owners.used[s] = true;
  }
  return s;
}

}  // namespace

bool Engine::Impl::Reclaim(SlotOwners& owners, std::uint32_t Flow::*slot_of) {
  for (std::uint32_t s = 0; s < owners.used.size(); ++s) {
    if (!owners.used[s]) continue;
    Flow* o = flows.Peek(owners.key[s]);
    const bool stale = o == nullptr || o->*slot_of != s;
    const bool stalled = !stale && o->inspection == Inspection::kPending &&
                         pkt.time - owners.since[s] > timeouts.inspection;
    // An HTTP or DNS connection between requests holds no bytes: its slot
    // can go and come back with its next request.
    const bool idle = !stale && o->inspection != Inspection::kPending && !o->http_awaiting &&
                      slot_of == &Flow::stream_slot && streams.Data(s).empty();
    if (!stale && !stalled && !idle) continue;
    ++stats.slots_reclaimed;
    if (stale) {
      owners.used[s] = false;
      if (slot_of == &Flow::stream_slot) streams.Release(s);
      if (slot_of == &Flow::quic_slot) quic.Release(s);
      if (slot_of == &Flow::dns_tcp_slot) dns_tcp.Release(s);
    } else if (stalled) {
      SetInspection(*o, Inspection::kGap);  // its bytes never came; frees its slots
    } else {
      streams.Release(s);
      owners.used[s] = false;
      o->stream_slot = Flow::kNoSlot;
    }
    return true;
  }
  return false;
}

std::uint32_t Engine::Impl::AcquireStream(Flow& f) {
  f.stream_slot = TakeSlot(streams, stream_owners, f, pkt.time);
  if (f.stream_slot == Flow::kNoSlot && Reclaim(stream_owners, &Flow::stream_slot)) {
    f.stream_slot = TakeSlot(streams, stream_owners, f, pkt.time);
  }
  if (f.stream_slot != Flow::kNoSlot) tls_readers[f.stream_slot].Reset();
  return f.stream_slot;
}

std::uint32_t Engine::Impl::AcquireQuic(Flow& f) {
  f.quic_slot = TakeSlot(quic, quic_owners, f, pkt.time);
  if (f.quic_slot == Flow::kNoSlot && Reclaim(quic_owners, &Flow::quic_slot)) {
    f.quic_slot = TakeSlot(quic, quic_owners, f, pkt.time);
  }
  if (f.quic_slot != Flow::kNoSlot) quic.Get(f.quic_slot).Reset();
  return f.quic_slot;
}

std::uint32_t Engine::Impl::AcquireDnsTcp(Flow& f) {
  f.dns_tcp_slot = TakeSlot(dns_tcp, dns_tcp_owners, f, pkt.time);
  if (f.dns_tcp_slot == Flow::kNoSlot && Reclaim(dns_tcp_owners, &Flow::dns_tcp_slot)) {
    f.dns_tcp_slot = TakeSlot(dns_tcp, dns_tcp_owners, f, pkt.time);
  }
  if (f.dns_tcp_slot != Flow::kNoSlot) {
    for (auto& r : dns_tcp.Get(f.dns_tcp_slot)) r.Reset();
  }
  return f.dns_tcp_slot;
}

std::uint64_t EngineMemoryBound(const EngineLimits& l) {
  // Bounded tables keep a key, a value and about four words of links and
  // hash buckets per entry; Finish() keeps one more pointer per flow.
  constexpr std::uint64_t kEntryOverhead = 4 * sizeof(std::uintptr_t);
  std::uint64_t bytes = 0;
  bytes += l.max_flows * (sizeof(FlowKey) + sizeof(Flow) + kEntryOverhead + sizeof(std::uintptr_t));
  bytes +=
      l.max_named_addresses *
      (sizeof(IpAddress) + NameCache::kNamesPerAddress * sizeof(NameBinding) + 8 + kEntryOverhead);
  bytes += l.max_pending_dns * (sizeof(DnsPendingKey) + sizeof(DnsPending) + kEntryOverhead);
  bytes += l.stream_buffers * (l.stream_buffer_bytes + sizeof(TlsHelloReader) + 16);
  bytes += l.quic_parsers * (sizeof(QuicInitialParser) + QuicInitialParser::kMaxCryptoBytes + 4096);
  bytes += l.dns_tcp_reassemblers * (sizeof(DnsTcpPair) + 16);
  return bytes;
}

}  // namespace flightwall
