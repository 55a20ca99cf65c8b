// EventLog: the JSON-lines event format shared by `flightwall audit --events`
// and the daemon. One line per flow decision and per DNS question: time,
// app, protocol, endpoints, host name and how it was learned, category,
// verdict, reason, rule, packets and bytes attempted.
//
// Hash chain. Every line starts with `seq` (1, 2, 3, ...) and `prev` (the
// previous line's hash, "" for the first line of a chain), then `chain` (how
// the hash is made, see below), and ends with `hash` = EventChainHash(prev,
// body), body being the line's JSON with the "hash" member removed (i.e. the
// exact bytes before `,"hash":` plus "}"). Deleting, editing or reordering
// lines therefore breaks the chain, and `flightwall verify-log`
// (log_verifier.h) finds where.
//
// Keyed chain. Given a key (events.hmac_key_file, chain_key.h), the hash is
// EventChainHmac instead, HMAC-SHA256 under the key, and lines say
// "chain":"hmac-sha256" ("sha256" otherwise; logs from before this member
// have none and are sha256). Without the key a line can be neither forged
// nor checked. Neither mode shows lines cut off the end or a whole log
// replaced by a consistent one; that takes the head (ChainHead) published
// outside the file while it was written.
//
// Lost lines. When the LineWriter cannot write a line (disk full, I/O error),
// or the daemon's event ring was full (RecordLost), the line's seq is used up but the chain does
// not advance past it: the next line that is written carries `"lost_before": N` (right after
// "prev"), meaning "N events were decided but could not be logged just before me", so its seq is
// the previous written line's seq + 1 + N and its prev is that line's hash. A verifier can tell
// this recorded loss from a deletion, which leaves a seq gap without lost_before. The member is
// absent when nothing was lost, so `audit` logs are unchanged.
//
// EventChain holds the chain state and serializes appends with a mutex, so
// several EventLogs (one per queue worker and policy in the daemon's writer
// thread) can share one chain and one file. EventLog itself only formats;
// it reads the Policy it was built with, which must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/event_sink.h"
#include "policy/policy.h"
#include "sink/line_writer.h"
#include "sink/log_verifier.h"

namespace flightwall {

class HmacSha256Hasher;

// Where a chain stands: the last seq used (written or lost), the last
// written line's hash, and how many lines were lost since that line (the
// next written line's lost_before).
struct ChainPosition {
  std::uint64_t seq = 0;
  std::string hash;
  std::uint64_t unrecorded_lost = 0;
};

// The last line a chain has on disk: its seq and hash (seq 0 and "" before
// the first). Published outside the log (journal, metrics) so that
// `verify-log --expect-seq/--expect-head` can tell truncation and rewrites.
struct ChainHead {
  std::uint64_t seq = 0;
  std::string hash;
};

class EventChain {
 public:
  // Continues from `start` (EventLogFile::ResumePosition() after a restart).
  // A non-empty `key` makes a keyed chain (it is copied into the hasher).
  explicit EventChain(LineWriter& out, ChainPosition start = {},
                      std::span<const std::uint8_t> key = {});
  ~EventChain();
  EventChain(const EventChain&) = delete;
  EventChain& operator=(const EventChain&) = delete;

  // Stamps seq/prev/lost_before/hash around `fields` and writes the line.
  // False when the writer lost it (it is then counted in Lost()).
  bool Append(const nlohmann::ordered_json& fields);
  // `n` events were decided but never reached the writer (a full event
  // ring): their seqs are used up and the next line says lost_before.
  void RecordLost(std::uint64_t n);

  ChainPosition Position() const;
  // Lines this chain failed to write; never waits for a write in progress.
  std::uint64_t Lost() const { return lost_.load(std::memory_order_relaxed); }
  ChainMode Mode() const { return hmac_ ? ChainMode::kHmacSha256 : ChainMode::kSha256; }

 private:
  mutable std::mutex mutex_;
  LineWriter& out_;
  ChainPosition position_;
  std::atomic<std::uint64_t> lost_{0};
  const std::unique_ptr<HmacSha256Hasher> hmac_;  // null: unkeyed; used under mutex_
};

class EventLog : public EventSink {
 public:
  // When flows are logged: `audit` at flow end (OnFlow, the whole flow is
  // known); the daemon at decision time (OnDecision, when it acts, so the
  // log does not depend on the flow ever ending). DNS questions are logged
  // at OnDns either way.
  enum class Timing : std::uint8_t { kAtFlowEnd, kAtDecision };

  // A private chain over `out`, starting at `start`.
  EventLog(const Policy& policy, LineWriter& out, Timing timing = Timing::kAtFlowEnd,
           bool governed_only = true, ChainPosition start = {});
  // Appends to a chain shared with other EventLogs.
  EventLog(const Policy& policy, EventChain& chain, Timing timing, bool governed_only = true);

  void OnFlow(const Flow& flow, int catalog_index) override;
  void OnDecision(const Flow& flow, int catalog_index) override;
  void OnDns(const DnsRecord& record, int catalog_index) override;

  // Last seq used by the chain (lines written + lines lost).
  std::uint64_t Lines() const { return chain_->Position().seq; }
  std::uint64_t Lost() const { return chain_->Lost(); }
  EventChain& Chain() { return *chain_; }

 private:
  void LogFlow(const Flow& flow, int catalog_index);
  std::string Action(Verdict verdict) const;

  const Policy& policy_;
  std::optional<EventChain> own_chain_;
  EventChain* chain_;
  Timing timing_;
  bool governed_only_;
};

// The hash a line must carry: SHA-256 hex of prev_hash + "\n" + body, where
// body is the line's JSON with the "hash" member removed.
std::string EventChainHash(const std::string& prev_hash, const std::string& body);
// The same for a keyed chain: HMAC-SHA256 hex under the hasher's key.
std::string EventChainHmac(HmacSha256Hasher& hmac, std::string_view prev_hash,
                           std::string_view body);

}  // namespace flightwall
