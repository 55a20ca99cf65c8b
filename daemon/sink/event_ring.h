// EventRing: a bounded single-producer single-consumer queue of fixed-size
// event records, from one queue worker to the event writer thread.
//
// The worker (producer) copies a decided flow or DNS question into the next
// free slot and moves on; it never waits: when the ring is full the record
// is dropped and counted (Dropped()), and the writer records the loss in the
// hash chain. The writer (consumer) takes records in the order they were
// pushed. Head and tail are separate cache lines; the slots are one calloc'd
// block, so a ring commits memory only as far as it has been filled.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "engine/event_sink.h"
#include "flow/flow.h"

namespace flightwall {

// One event as the worker saw it: a copy of the flow or DNS question (both
// trivially copyable), the catalog entry it matched and the generation of
// the policy it was decided under (EventProducer resolves it).
struct EventRecord {
  enum class Kind : std::uint8_t { kFlowDecision, kDnsQuestion };
  static constexpr std::size_t kPayloadBytes = sizeof(Flow) > sizeof(DnsRecord) ? sizeof(Flow)
                                                                                : sizeof(DnsRecord);

  Kind kind = Kind::kFlowDecision;
  int catalog_index = -1;
  std::uint64_t generation = 0;
  alignas(std::max_align_t) unsigned char payload[kPayloadBytes];

  template <typename T>
  void Store(const T& value) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= kPayloadBytes);
    std::memcpy(payload, &value, sizeof(T));
  }
  template <typename T>
  T Load() const {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= kPayloadBytes);
    T value;
    std::memcpy(&value, payload, sizeof(T));
    return value;
  }
};
static_assert(std::is_trivially_copyable_v<EventRecord>);

class EventRing {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit EventRing(std::size_t capacity) {
    while (capacity_ < capacity) capacity_ <<= 1;
    slots_ = static_cast<EventRecord*>(std::calloc(capacity_, sizeof(EventRecord)));
    if (slots_ == nullptr) throw std::bad_alloc();
  }
  ~EventRing() { std::free(slots_); }
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  // Producer only. False (and counted) when full.
  bool Push(const EventRecord& record) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ >= capacity_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - cached_head_ >= capacity_) {
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return false;
      }
    }
    std::memcpy(&slots_[tail & (capacity_ - 1)], &record, sizeof(EventRecord));
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Calls f(const EventRecord&) for every record pushed so
  // far, oldest first; returns how many.
  template <typename F>
  std::size_t Drain(F&& f) {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    for (std::uint64_t i = head; i != tail; ++i) {
      f(slots_[i & (capacity_ - 1)]);
      head_.store(i + 1, std::memory_order_release);
    }
    return static_cast<std::size_t>(tail - head);
  }

  bool Empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  std::size_t Capacity() const { return capacity_; }
  // Records dropped because the ring was full (any thread).
  std::uint64_t Dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kCacheLine = 64;
  std::size_t capacity_ = 2;
  EventRecord* slots_ = nullptr;
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};  // next to read
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};  // next to write
  std::uint64_t cached_head_ = 0;                           // producer's view of head_
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace flightwall
