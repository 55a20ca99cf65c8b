// BoundedTable<Key, Value, Hash>: a fixed-capacity hash table with LRU eviction.
//
// Memory is committed as the table fills: slots come in chunks of kChunk,
// allocated the first time the table grows into them and kept, so an idle
// table costs its bucket array and a table that has been full never
// allocates again (Find/Insert/Erase then never allocate). It never holds
// more than `capacity` entries: when full, Insert evicts the least recently
// used entry and reports it (callers count evictions, they never grow).
// Iteration order is deterministic (slot order). Values must be default
// constructible; an erased slot's value is reset to Value{}.
// Not thread-safe: one table per worker.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace flightwall {

template <typename Key, typename Value, typename Hash>
class BoundedTable {
 public:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  static constexpr std::uint32_t kChunk = 256;

  explicit BoundedTable(std::size_t capacity)
      : capacity_(capacity == 0 ? 1 : capacity), buckets_(BucketCount(capacity_), kNone) {
    chunks_.reserve((capacity_ + kChunk - 1) / kChunk);
  }

  std::size_t Size() const { return size_; }
  std::size_t Capacity() const { return capacity_; }
  // Slots committed so far (at most Capacity()).
  std::size_t Committed() const { return grown_; }

  // Returns the value for key or nullptr. Marks it most recently used.
  Value* Find(const Key& key) {
    const std::uint32_t i = FindIndex(key);
    if (i == kNone) return nullptr;
    Touch(i);
    return &S(i).value;
  }
  // Returns the value for key or nullptr, without marking it used.
  const Value* Peek(const Key& key) const {
    const std::uint32_t i = FindIndex(key);
    return i == kNone ? nullptr : &S(i).value;
  }
  Value* Peek(const Key& key) {
    const std::uint32_t i = FindIndex(key);
    return i == kNone ? nullptr : &S(i).value;
  }

  struct InsertResult {
    Value* value = nullptr;
    bool inserted = false;  // false: the key was already there
    bool evicted = false;   // an LRU entry was dropped to make room
    Key evicted_key{};
    Value evicted_value{};  // moved out so the caller can finalize it
  };

  // Finds or inserts key (with Value{}), evicting the LRU entry when full.
  InsertResult FindOrInsert(const Key& key) {
    InsertResult r;
    std::uint32_t i = FindIndex(key);
    if (i != kNone) {
      Touch(i);
      r.value = &S(i).value;
      return r;
    }
    if (free_head_ == kNone && grown_ < capacity_) Grow();
    if (free_head_ == kNone) {
      const std::uint32_t victim = lru_tail_;
      r.evicted = true;
      r.evicted_key = S(victim).key;
      r.evicted_value = std::move(S(victim).value);
      EraseIndex(victim);
    }
    i = free_head_;
    free_head_ = S(i).next_free;
    Slot& s = S(i);
    s.key = key;
    s.value = Value{};
    s.used = true;
    const std::size_t b = Hash{}(key) % buckets_.size();
    s.next_in_bucket = buckets_[b];
    buckets_[b] = i;
    LinkFront(i);
    ++size_;
    r.value = &s.value;
    r.inserted = true;
    return r;
  }

  bool Erase(const Key& key) {
    const std::uint32_t i = FindIndex(key);
    if (i == kNone) return false;
    EraseIndex(i);
    return true;
  }

  // Least recently used entry, or nullptr when empty (for expiry sweeps).
  const Key* OldestKey() const { return lru_tail_ == kNone ? nullptr : &S(lru_tail_).key; }
  Value* OldestValue() { return lru_tail_ == kNone ? nullptr : &S(lru_tail_).value; }

  // Calls fn(key, value) for every entry in slot order.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (std::uint32_t i = 0; i < grown_; ++i) {
      Slot& s = S(i);
      if (s.used) fn(static_cast<const Key&>(s.key), s.value);
    }
  }

 private:
  struct Slot {
    Key key{};
    Value value{};
    bool used = false;
    std::uint32_t next_in_bucket = kNone;
    std::uint32_t next_free = kNone;
    std::uint32_t prev_lru = kNone;
    std::uint32_t next_lru = kNone;
  };

  static std::size_t BucketCount(std::size_t capacity) { return capacity * 2 + 1; }

  std::uint32_t FindIndex(const Key& key) const {
    const std::size_t b = Hash{}(key) % buckets_.size();
    for (std::uint32_t i = buckets_[b]; i != kNone; i = S(i).next_in_bucket) {
      if (S(i).key == key) return i;
    }
    return kNone;
  }

  void EraseIndex(std::uint32_t i) {
    Slot& s = S(i);
    const std::size_t b = Hash{}(s.key) % buckets_.size();
    std::uint32_t* link = &buckets_[b];
    while (*link != i) link = &S(*link).next_in_bucket;
    *link = s.next_in_bucket;
    Unlink(i);
    s.used = false;
    s.key = Key{};
    s.value = Value{};
    s.next_free = free_head_;
    free_head_ = i;
    --size_;
  }

  void LinkFront(std::uint32_t i) {
    S(i).prev_lru = kNone;
    S(i).next_lru = lru_head_;
    if (lru_head_ != kNone) S(lru_head_).prev_lru = i;
    lru_head_ = i;
    if (lru_tail_ == kNone) lru_tail_ = i;
  }
  void Unlink(std::uint32_t i) {
    Slot& s = S(i);
    if (s.prev_lru != kNone)
      S(s.prev_lru).next_lru = s.next_lru;
    else
      lru_head_ = s.next_lru;
    if (s.next_lru != kNone)
      S(s.next_lru).prev_lru = s.prev_lru;
    else
      lru_tail_ = s.prev_lru;
    s.prev_lru = s.next_lru = kNone;
  }
  void Touch(std::uint32_t i) {
    if (lru_head_ == i) return;
    Unlink(i);
    LinkFront(i);
  }

  Slot& S(std::uint32_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const Slot& S(std::uint32_t i) const { return chunks_[i / kChunk][i % kChunk]; }
  // Commits the next chunk of slots and puts them on the free list. The last
  // chunk holds only the slots up to `capacity`, so a small table (or one
  // whose capacity is not a multiple of kChunk) commits no more than its
  // bound; S() never indexes past them, as no slot index reaches capacity.
  void Grow() {
    const std::size_t n = std::min<std::size_t>(kChunk, capacity_ - grown_);
    chunks_.push_back(std::make_unique<Slot[]>(n));
    for (std::size_t k = n; k > 0; --k) {
      const auto idx = static_cast<std::uint32_t>(grown_ + k - 1);
      S(idx).next_free = free_head_;
      free_head_ = idx;
    }
    grown_ += n;
  }

  std::size_t capacity_;
  std::size_t grown_ = 0;
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::vector<std::uint32_t> buckets_;
  std::uint32_t free_head_ = kNone;
  std::uint32_t lru_head_ = kNone;
  std::uint32_t lru_tail_ = kNone;
  std::size_t size_ = 0;
};

}  // namespace flightwall
