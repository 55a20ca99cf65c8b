// IpReassembler: rebuilds IPv4 and IPv6 datagrams from their fragments.
//
// Memory is bounded and allocated once, at construction, from DecoderLimits:
// a slot per concurrent datagram and an arena of fixed-size blocks shared by
// all of them. Adding a fragment never allocates. When the slots or the
// blocks run out, the oldest incomplete datagram is evicted (counted); a
// datagram older than the timeout, measured in packet time, is evicted on the
// next fragment (counted). Fragments that overlap earlier ones with
// different bytes discard the whole datagram (counted), since the two copies
// could be read differently by us and by the receiver; identical overlaps and
// duplicates are accepted. Out-of-order arrival is fine.
//
// A completed datagram is copied to one output buffer owned by the
// reassembler; the returned view is valid until the next call to Add().
// Not thread-safe: one per PacketDecoder.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/ip_address.h"
#include "common/timestamp.h"
#include "decode/packet_decoder.h"

namespace flightwall {

// Identifies the datagram a fragment belongs to. IPv6 leaves `protocol` 0:
// only the first fragment's next header counts (RFC 8200 section 4.5).
struct FragmentKey {
  IpAddress src;
  IpAddress dst;
  std::uint32_t id = 0;
  std::uint8_t protocol = 0;

  friend bool operator==(const FragmentKey&, const FragmentKey&) = default;
};

struct Fragment {
  FragmentKey key;
  std::uint32_t offset = 0;  // bytes from the start of the fragmentable data
  bool more_fragments = false;
  std::span<const std::uint8_t> data;
  std::uint8_t protocol = 0;  // upper-layer protocol as this fragment states it
  std::uint8_t ttl = 0;
  Timestamp time = 0;
};

enum class ReassemblyStatus : std::uint8_t {
  kHeld,       // stored; the datagram is not complete yet
  kComplete,   // `datagram` holds the reassembled data
  kOverlap,    // conflicted with stored bytes; the datagram was discarded
  kDropped,    // no room even after evicting everything else
  kMalformed,  // the fragment itself is invalid; `error` says why
};

struct ReassemblyResult {
  ReassemblyStatus status = ReassemblyStatus::kHeld;
  std::span<const std::uint8_t> datagram;  // data after the IP header(s)
  std::uint8_t protocol = 0;               // from the fragment at offset 0
  std::uint8_t ttl = 0;                    // from the fragment at offset 0
  const char* error = nullptr;
};

class IpReassembler {
 public:
  static constexpr std::uint32_t kMaxDatagram = 65535;
  static constexpr std::uint32_t kBlockSize = 1024;
  static constexpr std::uint32_t kBlocksPerDatagram = (kMaxDatagram + kBlockSize) / kBlockSize;
  static constexpr std::uint32_t kUnitsPerDatagram = (kMaxDatagram + 8) / 8;

  explicit IpReassembler(const DecoderLimits& limits);

  ReassemblyResult Add(const Fragment& fragment);

  std::uint64_t Evictions() const { return evictions_; }
  std::uint64_t Overlaps() const { return overlaps_; }
  std::uint64_t Reassembled() const { return reassembled_; }
  std::size_t DatagramsInProgress() const { return slots_.size() - free_slots_.size(); }
  std::size_t BytesHeld() const { return (block_count_ - free_blocks_.size()) * kBlockSize; }

 private:
  static constexpr std::uint32_t kNoBlock = 0xffffffffu;
  static constexpr std::int32_t kNone = -1;

  struct Slot {
    FragmentKey key;
    Timestamp created = 0;
    std::int32_t older = kNone;  // age list, oldest at head_
    std::int32_t newer = kNone;
    bool has_first = false;
    bool has_last = false;
    std::uint8_t first_protocol = 0;
    std::uint8_t first_ttl = 0;
    std::uint32_t total_length = 0;  // known once has_last
    std::uint32_t max_end = 0;
    std::uint32_t covered_units = 0;
    std::array<std::uint32_t, kBlocksPerDatagram> blocks;
    std::bitset<kUnitsPerDatagram> covered;  // 8-byte units received
  };

  std::int32_t Find(const FragmentKey& key) const;
  std::int32_t Create(const FragmentKey& key, Timestamp now);
  void Release(std::int32_t index);
  void Evict(std::int32_t index);
  void ExpireOlderThan(Timestamp now);
  bool MakeRoom(std::int32_t keep, std::uint32_t blocks_needed);
  std::uint8_t* UnitPointer(Slot& slot, std::uint32_t unit);

  Timestamp timeout_;
  std::vector<Slot> slots_;
  std::vector<std::int32_t> free_slots_;
  std::int32_t oldest_ = kNone;
  std::int32_t newest_ = kNone;
  std::size_t block_count_;
  std::unique_ptr<std::uint8_t[]> arena_;
  std::vector<std::uint32_t> free_blocks_;
  std::unique_ptr<std::uint8_t[]> output_;
  std::uint64_t evictions_ = 0;
  std::uint64_t overlaps_ = 0;
  std::uint64_t reassembled_ = 0;
};

}  // namespace flightwall
