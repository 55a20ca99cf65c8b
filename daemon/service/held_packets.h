// HeldPackets: queued packets whose verdict waits for their flow's name.
//
// The first payload packet of a TCP flow (a ClientHello, an HTTP request)
// and QUIC Initials are held until the engine has read the name and the
// policy has judged it; then every held packet of the flow gets the same
// verdict. Bounded in total (the oldest is dropped when full) and in time
// (a packet held past the timeout is dropped: fail closed). Preallocated;
// not thread-safe (each worker has its own).
#pragma once

#include <cstdint>
#include <vector>

#include "common/timestamp.h"
#include "flow/flow.h"

namespace flightwall {

struct HeldPacket {
  FlowKey flow;
  std::uint16_t worker = 0;  // which queue/worker must issue the verdict
  std::uint32_t packet_id = 0;
  Timestamp held_at = 0;
};

class HeldPackets {
 public:
  explicit HeldPackets(std::size_t capacity);

  // Holds a packet; when full, *dropped receives the oldest held packet
  // (which the caller must drop) and true is returned.
  bool Hold(const HeldPacket& p, HeldPacket* dropped);
  // Moves every packet of `flow` to *out (appending); returns how many.
  std::size_t Release(const FlowKey& flow, std::vector<HeldPacket>* out);
  // Moves packets held since before `deadline` to *out.
  std::size_t Expire(Timestamp deadline, std::vector<HeldPacket>* out);
  std::size_t Size() const { return size_; }

 private:
  std::vector<HeldPacket> slots_;  // ring in arrival order; flow.protocol == 0 marks a free slot
  std::size_t head_ = 0;           // oldest
  std::size_t used_ = 0;           // slots from head_ in use, held or freed by Release/Expire
  std::size_t size_ = 0;           // packets actually held
  void Compact();
  void TrimHead();
};

}  // namespace flightwall
