#include "service/held_packets.h"

namespace flightwall {

HeldPackets::HeldPackets(std::size_t capacity) : slots_(capacity == 0 ? 1 : capacity) {}

// The ring holds packets in arrival order, possibly with released (free)
// slots in between; Compact() squeezes those out so Hold() always appends.
void HeldPackets::Compact() {
  std::vector<HeldPacket> live;
  live.reserve(size_);
  for (std::size_t i = 0, n = slots_.size(); i < n; ++i) {
    const HeldPacket& p = slots_[(head_ + i) % n];
    if (p.flow.protocol != 0) live.push_back(p);
  }
  std::fill(slots_.begin(), slots_.end(), HeldPacket{});
  for (std::size_t i = 0; i < live.size(); ++i) slots_[i] = live[i];
  head_ = 0;
  size_ = live.size();
  used_ = live.size();
}

bool HeldPackets::Hold(const HeldPacket& p, HeldPacket* dropped) {
  bool evicted = false;
  if (used_ == slots_.size()) Compact();
  if (size_ == slots_.size()) {
    *dropped = slots_[head_];
    slots_[head_] = HeldPacket{};
    head_ = (head_ + 1) % slots_.size();
    --size_;
    --used_;
    evicted = true;
  }
  slots_[(head_ + used_) % slots_.size()] = p;
  ++used_;
  ++size_;
  return evicted;
}

// Freed slots at the oldest end are given back at once, so the span Release
// and Expire walk is only as long as what is actually held (usually a few
// ClientHellos), not every slot ever used.
void HeldPackets::TrimHead() {
  while (used_ > 0 && slots_[head_].flow.protocol == 0) {
    head_ = (head_ + 1) % slots_.size();
    --used_;
  }
  if (used_ == 0) head_ = 0;
}

std::size_t HeldPackets::Release(const FlowKey& flow, std::vector<HeldPacket>* out) {
  if (size_ == 0) return 0;  // the common case: an allowed packet, nothing held
  std::size_t n = 0;
  for (std::size_t i = 0; i < used_; ++i) {
    HeldPacket& p = slots_[(head_ + i) % slots_.size()];
    if (p.flow.protocol != 0 && p.flow == flow) {
      out->push_back(p);
      p = HeldPacket{};
      ++n;
    }
  }
  size_ -= n;
  TrimHead();
  return n;
}

std::size_t HeldPackets::Expire(Timestamp deadline, std::vector<HeldPacket>* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < used_; ++i) {
    HeldPacket& p = slots_[(head_ + i) % slots_.size()];
    if (p.flow.protocol != 0 && p.held_at < deadline) {
      out->push_back(p);
      p = HeldPacket{};
      ++n;
    }
  }
  size_ -= n;
  TrimHead();
  return n;
}

}  // namespace flightwall
