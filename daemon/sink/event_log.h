// EventLog: the JSON-lines event format shared by `flightwall audit --events`
// and the daemon. One line per flow decision and per DNS question: time,
// app, protocol, endpoints, host name and how it was learned, category,
// verdict, reason, rule, packets and bytes attempted. Each line carries
// `seq` and a SHA-256 `hash` over the previous line's hash and this line's
// content, so deleting or editing a line breaks the chain.
// Writes to a caller-owned std::ostream. Not thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "engine/event_sink.h"
#include "policy/policy.h"

namespace flightwall {

class EventLog : public EventSink {
 public:
  EventLog(const Policy& policy, std::ostream& out, bool governed_only = true);

  void OnFlow(const Flow& flow, int catalog_index) override;
  void OnDns(const DnsRecord& record, int catalog_index) override;

  std::uint64_t Lines() const { return seq_; }

 private:
  void Emit(const nlohmann::ordered_json& fields);

  const Policy& policy_;
  std::ostream& out_;
  bool governed_only_;
  std::uint64_t seq_ = 0;
  std::string prev_hash_;
};

// The hash a line must carry: SHA-256 hex of prev_hash + "\n" + body, where
// body is the line's JSON with the "hash" member removed.
std::string EventChainHash(const std::string& prev_hash, const std::string& body);

}  // namespace flightwall
