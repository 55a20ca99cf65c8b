// Inspection slots in the engine: who holds which pool slot, taking back
// stalled and empty ones when a pool is full (never an inspection in
// progress), and the memory the limits imply.
#include <algorithm>
#include <type_traits>

#include "engine/engine_impl.h"

namespace flightwall {

namespace {

template <typename Pool>
void FreeSlot(Pool& pool, SlotOwners& owners, std::uint32_t* slot) {
  if (*slot == Flow::kNoSlot) return;
  pool.Release(*slot);
  owners.used[*slot] = false;
  *slot = Flow::kNoSlot;
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

void Engine::Impl::ReleaseSlots(Flow& f) {
  ReleaseNameSlots(f);
  FreeSlot(dns_tcp, dns_tcp_owners, &f.dns_tcp_slot);
}

void Engine::Impl::ReleaseNameSlots(Flow& f) {
  FreeSlot(streams, stream_owners, &f.stream_slot);
  FreeSlot(quic, quic_owners, &f.quic_slot);
}

template <typename Pool>
bool Engine::Impl::Reclaim(Pool& pool, SlotOwners& owners, std::uint32_t Flow::*slot_of) {
  for (std::uint32_t s = 0; s < owners.used.size(); ++s) {
    if (!owners.used[s]) continue;
    Flow* o = flows.Peek(owners.key[s]);
    const bool stale = o == nullptr || o->*slot_of != s;
    const bool stalled = !stale && o->inspection == Inspection::kPending &&
                         pkt.time - owners.since[s] > timeouts.inspection;
    // A denied flow's verdict is final; what its slot still holds (a DNS
    // stream's answers) is evidence, not a decision, and yields to a newcomer.
    const bool denied = !stale && o->app >= 0 && o->verdict == Verdict::kDeny;
    // An HTTP or DNS connection between requests holds no bytes: its slot
    // can go and come back with its next request.
    bool idle = false;
    if constexpr (std::is_same_v<Pool, StreamBufferPool>) {
      idle = !stale && o->inspection != Inspection::kPending && !o->http_awaiting &&
             pool.Data(s).empty();
    }
    if (!stale && !stalled && !idle && !denied) continue;
    ++stats.slots_reclaimed;
    if (stalled && !denied) {
      SetInspection(*o, Inspection::kGap);  // its bytes never came; frees its slots
    } else {
      std::uint32_t slot = s;
      FreeSlot(pool, owners, &slot);
      if (!stale) o->*slot_of = Flow::kNoSlot;
    }
    return true;
  }
  return false;
}

template <typename Pool>
std::uint32_t Engine::Impl::Acquire(Pool& pool, SlotOwners& owners, std::uint32_t Flow::*slot_of,
                                    Flow& f) {
  f.*slot_of = TakeSlot(pool, owners, f, pkt.time);
  if (f.*slot_of == Flow::kNoSlot && Reclaim(pool, owners, slot_of)) {
    f.*slot_of = TakeSlot(pool, owners, f, pkt.time);
  }
  return f.*slot_of;
}

std::uint32_t Engine::Impl::AcquireStream(Flow& f) {
  const std::uint32_t s = Acquire(streams, stream_owners, &Flow::stream_slot, f);
  if (s != Flow::kNoSlot) tls_readers[s].Reset();
  return s;
}

std::uint32_t Engine::Impl::AcquireQuic(Flow& f) {
  const std::uint32_t s = Acquire(quic, quic_owners, &Flow::quic_slot, f);
  if (s != Flow::kNoSlot) quic.Get(s).Reset();
  return s;
}

std::uint32_t Engine::Impl::AcquireDnsTcp(Flow& f) {
  const std::uint32_t s = Acquire(dns_tcp, dns_tcp_owners, &Flow::dns_tcp_slot, f);
  if (s != Flow::kNoSlot) {
    for (auto& r : dns_tcp.Get(s)) r.Reset();
  }
  return s;
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
