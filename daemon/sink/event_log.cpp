#include "sink/event_log.h"

#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "common/time_format.h"
#include "sink/audit_report.h"

namespace flightwall {
namespace {
using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
}  // namespace

std::string EventChainHash(const std::string& prev_hash, const std::string& body) {
  return Sha256Hex(prev_hash + "\n" + body);
}

EventLog::EventLog(const Policy& policy, std::ostream& out, bool governed_only)
    : policy_(policy), out_(out), governed_only_(governed_only) {}

void EventLog::Emit(const Json& j) {
  Json line;
  line["seq"] = ++seq_;
  line["prev"] = prev_hash_;
  for (auto& [k, v] : j.items()) line[k] = v;
  const std::string unhashed = Dump(line);
  const std::string hash = EventChainHash(prev_hash_, unhashed);
  line["hash"] = hash;
  out_ << Dump(line) << "\n";
  prev_hash_ = hash;
}

void EventLog::OnFlow(const Flow& f, int catalog_index) {
  if (governed_only_ && (f.app < 0 || f.verdict == Verdict::kNotGoverned)) return;
  Json j;
  j["time"] = FormatTime(f.first_time);
  j["event"] = "flow";
  j["app"] = f.app >= 0 ? policy_.flight_apps[f.app].name : "";
  j["protocol"] = ProtocolName(f.protocol);
  j["src"] = f.client.ToString();
  j["sport"] = f.client_port;
  j["dst"] = f.server.ToString();
  j["dport"] = f.server_port;
  j["hostname"] = f.hostname.Str();
  j["name_source"] = std::string(NameSourceName(f.name_source));
  j["category"] = catalog_index >= 0 ? policy_.catalog[catalog_index].category : "";
  j["verdict"] = std::string(VerdictName(f.verdict));
  j["reason"] = std::string(ReasonName(f.reason));
  j["rule"] = f.rule >= 0 ? policy_.allow[f.rule].name : "";
  j["packets"] = f.to_server.packets;
  j["bytes"] = f.to_server.payload_bytes;
  j["packets_in"] = f.to_client.packets;
  j["bytes_in"] = f.to_client.payload_bytes;
  j["delivered"] = f.delivered_packet != 0;
  j["first_packet"] = f.first_packet;
  j["decision_packet"] = f.decision_packet;
  Emit(j);
}

void EventLog::OnDns(const DnsRecord& r, int catalog_index) {
  if (governed_only_ && (r.app < 0 || r.verdict == Verdict::kNotGoverned)) return;
  Json j;
  j["time"] = FormatTime(r.time);
  j["event"] = "dns";
  j["app"] = r.app >= 0 ? policy_.flight_apps[r.app].name : "";
  j["protocol"] = r.over_tcp ? "tcp" : "udp";
  j["src"] = r.client.ToString();
  j["sport"] = r.client_port;
  j["dst"] = r.server.ToString();
  j["dport"] = r.server_port;
  j["hostname"] = r.qname.Str();
  j["name_source"] = "dns";
  j["qtype"] = r.qtype;
  j["category"] = catalog_index >= 0 ? policy_.catalog[catalog_index].category : "";
  j["verdict"] = std::string(VerdictName(r.verdict));
  j["reason"] = std::string(ReasonName(r.reason));
  j["rule"] = r.rule >= 0 ? policy_.allow[r.rule].name : "";
  j["packets"] = 1;
  j["bytes"] = r.query_bytes;
  j["answered"] = r.answered;
  j["rcode"] = r.rcode;
  j["first_packet"] = r.packet;
  Emit(j);
}

}  // namespace flightwall
