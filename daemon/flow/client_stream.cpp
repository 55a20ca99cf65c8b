#include "flow/client_stream.h"

#include <algorithm>
#include <cstring>

namespace flightwall {

void StartClientStream(ClientStream& s, std::uint32_t syn_seq) {
  s.start_known = true;
  s.retain = true;
  s.start_seq = s.base_seq = s.next_seq = syn_seq + 1;
}

SegmentResult TakeClientSegment(ClientStream& s, StreamBufferPool& pool, std::uint32_t slot,
                                std::uint32_t seq, std::span<const std::uint8_t> payload) {
  SegmentResult r;
  if (!s.start_known) {
    r.fate = SegmentFate::kNoStart;
    return r;
  }
  if (payload.empty()) return r;
  const std::int64_t ahead = static_cast<std::int32_t>(seq - s.next_seq);
  if (ahead > 0) {
    r.fate = SegmentFate::kAhead;
    return r;
  }
  // Overlap with bytes already taken: [seq, next_seq).
  const std::size_t overlap =
      std::min<std::size_t>(static_cast<std::size_t>(-ahead), payload.size());
  if (overlap > 0 && slot != StreamBufferPool::kNoSlot) {
    const std::span<const std::uint8_t> held = pool.Data(slot);
    // Held bytes cover [base_seq, base_seq + held.size()); compare where
    // the segment and they meet. Bytes before base_seq were acknowledged by
    // the server, which ignores them now.
    const std::int64_t from = static_cast<std::int32_t>(seq - s.base_seq);
    const std::int64_t seg_lo = std::max<std::int64_t>(0, -from);
    const std::int64_t held_lo = std::max<std::int64_t>(0, from);
    const std::int64_t n = std::min<std::int64_t>(static_cast<std::int64_t>(overlap) - seg_lo,
                                                  static_cast<std::int64_t>(held.size()) - held_lo);
    if (n > 0 && std::memcmp(payload.data() + seg_lo, held.data() + held_lo,
                             static_cast<std::size_t>(n)) != 0) {
      r.fate = SegmentFate::kConflict;
      return r;
    }
  }
  const std::span<const std::uint8_t> fresh = payload.subspan(overlap);
  if (fresh.empty()) return r;  // kDuplicate
  if (s.retain && slot != StreamBufferPool::kNoSlot) {
    const std::size_t before = pool.Data(slot).size();
    // Held bytes must end where the fresh ones begin; after an unretained
    // stretch they cannot, so nothing more is kept.
    const bool contiguous =
        static_cast<std::uint32_t>(s.base_seq + before) == s.next_seq || before == 0;
    if (contiguous) {
      if (!pool.Append(slot, fresh)) {
        r.fate = SegmentFate::kNoRoom;
        return r;
      }
      if (before == 0) s.base_seq = s.next_seq;
      s.next_seq += static_cast<std::uint32_t>(fresh.size());
      r.fate = SegmentFate::kFresh;
      r.fresh = pool.Data(slot).subspan(before);
      return r;
    }
  }
  s.next_seq += static_cast<std::uint32_t>(fresh.size());
  r.fate = SegmentFate::kFresh;
  r.fresh = fresh;
  return r;
}

bool AckClientStream(ClientStream& s, StreamBufferPool& pool, std::uint32_t slot, std::uint32_t ack,
                     std::uint32_t keep_from) {
  if (!s.start_known) return false;
  // An acknowledgement beyond what the client sent is bogus; ignore it.
  if (SeqBefore(s.next_seq, ack)) return false;
  if (slot != StreamBufferPool::kNoSlot) {
    const std::uint32_t trim_to = SeqBefore(keep_from, ack) ? keep_from : ack;
    if (SeqBefore(s.base_seq, trim_to)) {
      const std::size_t held = pool.Data(slot).size();
      const std::size_t n = std::min<std::size_t>(trim_to - s.base_seq, held);
      pool.Consume(slot, n);
      s.base_seq += static_cast<std::uint32_t>(n);
      if (n == held) s.base_seq = trim_to;
    }
  }
  return true;
}

}  // namespace flightwall
