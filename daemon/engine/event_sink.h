// EventSink: where the engine reports what it decided. Sinks (event log,
// report builder, metrics) implement it; the engine calls them synchronously
// on the thread that runs Engine::Process, with views valid only for the call.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/fixed_string.h"
#include "common/ip_address.h"
#include "common/timestamp.h"
#include "common/verdict.h"
#include "flow/flow.h"

namespace flightwall {

// One DNS question a client asked, with the decision and whether it was answered.
struct DnsRecord {
  Timestamp time = 0;
  std::uint64_t packet = 0;
  int app = -1;
  IpAddress client;
  std::uint16_t client_port = 0;
  IpAddress server;
  std::uint16_t server_port = 0;
  bool over_tcp = false;
  std::uint16_t id = 0;
  HostName qname;
  std::uint16_t qtype = 0;
  std::uint32_t query_bytes = 0;
  Verdict verdict = Verdict::kNotGoverned;
  Reason reason = Reason::kNotFlightApp;
  int rule = -1;
  bool answered = false;
  std::uint8_t rcode = 0;
  std::uint64_t answer_packet = 0;
  Timestamp answer_time = 0;
  std::uint16_t answer_addresses = 0;
};

// A name extracted from traffic, whatever the verdict (for attribution tests
// and reports): DNS questions/answers, SNI, Host, QUIC SNI.
struct NameObservation {
  std::uint64_t packet = 0;
  NameSource source = NameSource::kNone;
  std::string_view name;
  const Flow* flow = nullptr;
  // DNS answers only: one bound address and the question it answered.
  bool is_dns_answer = false;
  IpAddress address;
  std::uint16_t record_type = 0;  // 1 A, 28 AAAA, 5 CNAME (address unset)
  std::string_view cname_target;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // A flow ended (closed, idle, evicted, or end of input) with its final verdict.
  virtual void OnFlow(const Flow& flow, int catalog_index) = 0;
  // A DNS question was answered or given up on.
  virtual void OnDns(const DnsRecord& record, int catalog_index) = 0;
  virtual void OnName(const NameObservation& /*observation*/) {}
  // A flight-app flow's verdict became final (the daemon logs here, when it
  // acts; `audit` logs at OnFlow, when the whole flow is known).
  virtual void OnDecision(const Flow& /*flow*/, int /*catalog_index*/) {}
  // A DNS question was just judged (not yet answered): the daemon logs here.
  virtual void OnDnsQuestion(const DnsRecord& /*record*/, int /*catalog_index*/) {}
};

}  // namespace flightwall
