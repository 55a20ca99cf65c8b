// ClientStream: the client-to-server bytes of one TCP flow as flightwall
// judged them, so that bytes judged once stay judged.
//
// A segment is taken into the stream only when it continues it: a segment
// that starts beyond the next expected byte (a hole) is refused without
// changing anything (the daemon drops it; the client retransmits), and a
// segment whose bytes overlap what the stream already holds must carry the
// same bytes (a retransmission) or it is a conflict: an attempt to make the
// server read other bytes than the ones judged. The bytes are kept in a
// StreamBufferPool slot from the first one the server has not acknowledged
// (or the inspector still needs) up to the newest; once inspection no longer
// needs new bytes (`retain` off) only sequence numbers advance.
// Plain data plus free functions; the caller owns the pool slot.
#pragma once

#include <cstdint>
#include <span>

#include "flow/stream_buffer_pool.h"

namespace flightwall {

struct ClientStream {
  bool start_known = false;     // the client's SYN was seen
  bool retain = true;           // keep new bytes (while they are inspected)
  std::uint32_t start_seq = 0;  // sequence number of the stream's first byte
  std::uint32_t base_seq = 0;   // sequence number of the first byte held in the slot
  std::uint32_t next_seq = 0;   // sequence number after the newest byte taken
};

enum class SegmentFate : std::uint8_t {
  kFresh,      // new bytes were taken (maybe after an identical overlap)
  kDuplicate,  // only bytes already taken, identical (or already acknowledged)
  kConflict,   // overlapping bytes differ from those taken
  kAhead,      // starts beyond the next expected byte: refused, nothing changed
  kNoRoom,     // new bytes do not fit the slot: refused, nothing changed
  kNoStart,    // the stream's start was never seen (picked up mid-connection)
};

struct SegmentResult {
  SegmentFate fate = SegmentFate::kDuplicate;
  std::span<const std::uint8_t> fresh;  // the new bytes (into the slot when retained)
};

// Starts the stream at the client's SYN.
void StartClientStream(ClientStream& s, std::uint32_t syn_seq);

// Takes one client segment. `slot` may be kNoSlot when nothing is retained.
SegmentResult TakeClientSegment(ClientStream& s, StreamBufferPool& pool, std::uint32_t slot,
                                std::uint32_t seq, std::span<const std::uint8_t> payload);

// The server acknowledged everything before `ack`: retained bytes before
// min(ack, keep_from) are dropped. True when `ack` covers `seq` (the server
// holds every byte before it).
bool AckClientStream(ClientStream& s, StreamBufferPool& pool, std::uint32_t slot, std::uint32_t ack,
                     std::uint32_t keep_from);

// Sequence helpers (RFC 1982 serial arithmetic).
inline bool SeqBefore(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) < 0;
}
inline bool SeqAtOrAfter(std::uint32_t a, std::uint32_t b) { return !SeqBefore(a, b); }

}  // namespace flightwall
