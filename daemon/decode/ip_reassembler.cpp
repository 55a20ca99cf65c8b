#include "decode/ip_reassembler.h"

#include <algorithm>
#include <cstring>

namespace flightwall {

IpReassembler::IpReassembler(const DecoderLimits& limits)
    : timeout_(limits.fragment_timeout),
      slots_(std::max<std::size_t>(1, limits.max_datagrams_in_reassembly)),
      // At least one largest datagram must fit, or nothing could be rebuilt.
      block_count_(std::clamp<std::size_t>(limits.max_reassembly_bytes / kBlockSize,
                                           kBlocksPerDatagram, kNoBlock - 1)),
      arena_(std::make_unique_for_overwrite<std::uint8_t[]>(block_count_ * kBlockSize)),
      output_(std::make_unique_for_overwrite<std::uint8_t[]>(kMaxDatagram)) {
  free_slots_.reserve(slots_.size());
  for (std::size_t i = slots_.size(); i > 0; --i) {
    free_slots_.push_back(static_cast<std::int32_t>(i - 1));
  }
  free_blocks_.reserve(block_count_);
  for (std::size_t i = block_count_; i > 0; --i) {
    free_blocks_.push_back(static_cast<std::uint32_t>(i - 1));
  }
}

// A linear walk: fragments are rare next to whole packets, and the bound on
// slots keeps the walk short without a hash table to size and rehash.
std::int32_t IpReassembler::Find(const FragmentKey& key) const {
  for (std::int32_t i = oldest_; i != kNone; i = slots_[i].newer) {
    if (slots_[i].key == key) return i;
  }
  return kNone;
}

std::int32_t IpReassembler::Create(const FragmentKey& key, Timestamp now) {
  if (free_slots_.empty()) Evict(oldest_);
  const std::int32_t index = free_slots_.back();
  free_slots_.pop_back();
  Slot& slot = slots_[index];
  slot.key = key;
  slot.created = now;
  slot.has_first = false;
  slot.has_last = false;
  slot.first_protocol = 0;
  slot.first_ttl = 0;
  slot.total_length = 0;
  slot.max_end = 0;
  slot.covered_units = 0;
  slot.blocks.fill(kNoBlock);
  slot.covered.reset();
  slot.older = newest_;
  slot.newer = kNone;
  if (newest_ != kNone) slots_[newest_].newer = index;
  newest_ = index;
  if (oldest_ == kNone) oldest_ = index;
  return index;
}

void IpReassembler::Release(std::int32_t index) {
  Slot& slot = slots_[index];
  for (std::uint32_t& block : slot.blocks) {
    if (block != kNoBlock) free_blocks_.push_back(block);
    block = kNoBlock;
  }
  if (slot.older != kNone) {
    slots_[slot.older].newer = slot.newer;
  } else {
    oldest_ = slot.newer;
  }
  if (slot.newer != kNone) {
    slots_[slot.newer].older = slot.older;
  } else {
    newest_ = slot.older;
  }
  slot.older = slot.newer = kNone;
  free_slots_.push_back(index);
}

void IpReassembler::Evict(std::int32_t index) {
  ++evictions_;
  Release(index);
}

void IpReassembler::ExpireOlderThan(Timestamp now) {
  while (oldest_ != kNone && now - slots_[oldest_].created > timeout_) Evict(oldest_);
}

bool IpReassembler::MakeRoom(std::int32_t keep, std::uint32_t blocks_needed) {
  std::int32_t victim = oldest_;
  while (free_blocks_.size() < blocks_needed && victim != kNone) {
    const std::int32_t next = slots_[victim].newer;
    if (victim != keep) Evict(victim);
    victim = next;
  }
  return free_blocks_.size() >= blocks_needed;
}

std::uint8_t* IpReassembler::UnitPointer(Slot& slot, std::uint32_t unit) {
  const std::uint32_t byte = unit * 8;
  std::uint32_t& block = slot.blocks[byte / kBlockSize];
  if (block == kNoBlock) {
    block = free_blocks_.back();
    free_blocks_.pop_back();
  }
  return arena_.get() + std::size_t{block} * kBlockSize + byte % kBlockSize;
}

ReassemblyResult IpReassembler::Add(const Fragment& fragment) {
  ReassemblyResult result;
  const std::uint32_t size =
      static_cast<std::uint32_t>(std::min<std::size_t>(fragment.data.size(), kMaxDatagram + 1));
  const std::uint32_t offset = fragment.offset;
  const std::uint32_t end = offset + size;
  if (offset % 8 != 0) {
    result.status = ReassemblyStatus::kMalformed;
    result.error = "IP fragment offset is not a multiple of 8";
    return result;
  }
  if (end > kMaxDatagram) {
    result.status = ReassemblyStatus::kMalformed;
    result.error = "IP fragment ends beyond 65535 bytes";
    return result;
  }
  if (fragment.more_fragments && (size == 0 || size % 8 != 0)) {
    result.status = ReassemblyStatus::kMalformed;
    result.error = "IP fragment length is not a multiple of 8";
    return result;
  }

  ExpireOlderThan(fragment.time);
  std::int32_t index = Find(fragment.key);
  if (index == kNone) index = Create(fragment.key, fragment.time);

  auto conflict = [&] {
    ++overlaps_;
    Release(index);
    result.status = ReassemblyStatus::kOverlap;
    result.error = "IP fragments overlap with different data";
    return result;
  };
  {
    Slot& slot = slots_[index];
    if (!fragment.more_fragments) {
      if ((slot.has_last && slot.total_length != end) || slot.max_end > end) return conflict();
    } else if (slot.has_last && end > slot.total_length) {
      return conflict();
    }
  }

  std::uint32_t blocks_needed = 0;
  if (size > 0) {
    for (std::uint32_t b = offset / kBlockSize; b <= (end - 1) / kBlockSize; ++b) {
      if (slots_[index].blocks[b] == kNoBlock) ++blocks_needed;
    }
  }
  if (!MakeRoom(index, blocks_needed)) {
    Evict(index);
    result.status = ReassemblyStatus::kDropped;
    result.error = "IP fragment dropped: reassembly memory is full";
    return result;
  }

  Slot& slot = slots_[index];
  for (std::uint32_t unit = offset / 8; unit * 8 < end; ++unit) {
    const std::uint32_t start = unit * 8;
    const std::uint32_t length = std::min<std::uint32_t>(8, end - start);
    const std::uint8_t* incoming = fragment.data.data() + (start - offset);
    std::uint8_t* stored = UnitPointer(slot, unit);
    if (slot.covered[unit]) {
      if (std::memcmp(stored, incoming, length) != 0) return conflict();
      continue;
    }
    std::memcpy(stored, incoming, length);
    slot.covered[unit] = true;
    ++slot.covered_units;
  }
  slot.max_end = std::max(slot.max_end, end);
  if (!fragment.more_fragments) {
    slot.has_last = true;
    slot.total_length = end;
  }
  if (offset == 0) {
    slot.has_first = true;
    slot.first_protocol = fragment.protocol;
    slot.first_ttl = fragment.ttl;
  }
  if (!slot.has_first || !slot.has_last || slot.covered_units != (slot.total_length + 7) / 8) {
    result.status = ReassemblyStatus::kHeld;
    return result;
  }

  for (std::uint32_t copied = 0; copied < slot.total_length; copied += kBlockSize) {
    const std::uint32_t n = std::min(kBlockSize, slot.total_length - copied);
    std::memcpy(output_.get() + copied,
                arena_.get() + std::size_t{slot.blocks[copied / kBlockSize]} * kBlockSize, n);
  }
  result.status = ReassemblyStatus::kComplete;
  result.datagram = std::span<const std::uint8_t>(output_.get(), slot.total_length);
  result.protocol = slot.first_protocol;
  result.ttl = slot.first_ttl;
  ++reassembled_;
  Release(index);
  return result;
}

}  // namespace flightwall
