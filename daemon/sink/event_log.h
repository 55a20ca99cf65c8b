// EventLog: the JSON-lines event format shared by `flightwall audit --events`
// and the daemon. One line per flow decision and per DNS question: time,
// app, protocol, endpoints, host name and how it was learned, category,
// verdict, reason, rule, packets and bytes attempted.
//
// Hash chain. Every line starts with `seq` (1, 2, 3, ...) and `prev` (the
// previous line's hash, "" for the first line of a chain) and ends with
// `hash` = EventChainHash(prev, body), body being the line's JSON with the
// "hash" member removed (i.e. the exact bytes before `,"hash":` plus "}").
// Deleting, editing or reordering lines therefore breaks the chain, and
// `flightwall verify-log` (log_verifier.h) finds where.
//
// Lost lines. When the LineWriter cannot write a line (disk full, I/O error)
// the line's seq is used up but the chain does not advance past it: the next
// line that is written carries `"lost_before": N` (right after "prev"),
// meaning "N events were decided but could not be logged just before me",
// so its seq is the previous written line's seq + 1 + N and its prev is
// that line's hash. A verifier can tell this recorded loss from a deletion,
// which leaves a seq gap without lost_before. The member is absent when
// nothing was lost, so `audit` logs are unchanged.
//
// EventChain holds the chain state and serializes appends with a mutex, so
// several EventLogs (the daemon's queue workers, or the old and new policy
// around a reload) can share one chain and one file. EventLog itself only
// formats; it reads the Policy it was built with, which must outlive it.
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/event_sink.h"
#include "policy/policy.h"
#include "sink/line_writer.h"

namespace flightwall {

// Where a chain stands: the last seq used (written or lost), the last
// written line's hash, and how many lines were lost since that line (the
// next written line's lost_before).
struct ChainPosition {
  std::uint64_t seq = 0;
  std::string hash;
  std::uint64_t unrecorded_lost = 0;
};

class EventChain {
 public:
  // Continues from `start` (EventLogFile::ResumePosition() after a restart).
  explicit EventChain(LineWriter& out, ChainPosition start = {});
  EventChain(const EventChain&) = delete;
  EventChain& operator=(const EventChain&) = delete;

  // Stamps seq/prev/lost_before/hash around `fields` and writes the line.
  // False when the writer lost it (it is then counted in Lost()).
  bool Append(const nlohmann::ordered_json& fields);

  ChainPosition Position() const;
  std::uint64_t Lost() const;  // lines this chain failed to write

 private:
  mutable std::mutex mutex_;
  LineWriter& out_;
  ChainPosition position_;
  std::uint64_t lost_ = 0;
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

}  // namespace flightwall
