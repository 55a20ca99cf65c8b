#include "sink/event_log.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "common/sha256.h"
#include "common/time_format.h"
#include "sink/audit_report.h"
#include "sink/log_verifier.h"

namespace flightwall {
namespace {
using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }
}  // namespace

std::string EventChainHash(const std::string& prev_hash, const std::string& body) {
  return Sha256Hex(prev_hash + "\n" + body);
}

std::string EventChainHmac(HmacSha256Hasher& hmac, std::string_view prev_hash,
                           std::string_view body) {
  hmac.Update(prev_hash);
  hmac.Update("\n");
  hmac.Update(body);
  return hmac.FinalHex();
}

EventChain::EventChain(LineWriter& out, ChainPosition start, std::span<const std::uint8_t> key)
    : out_(out),
      position_(std::move(start)),
      hmac_(key.empty() ? nullptr : std::make_unique<HmacSha256Hasher>(key)) {}

EventChain::~EventChain() = default;

// `,"hash":"<64 hex>"` plus the closing brace.
constexpr std::size_t kHashMemberBytes = 80;
constexpr std::size_t kTruncatedFieldBytes = 1024;

bool EventChain::Append(const Json& fields) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json line;
  line["seq"] = ++position_.seq;
  line["prev"] = position_.hash;
  if (position_.unrecorded_lost > 0) line["lost_before"] = position_.unrecorded_lost;
  line["chain"] = std::string(ChainModeName(Mode()));
  for (auto& [k, v] : fields.items()) line[k] = v;
  std::string unhashed = Dump(line);
  // A line the verifier would refuse as too long must never be written:
  // shorten over-long text fields and say so (real events are ~0.5 KiB).
  if (unhashed.size() + kHashMemberBytes > kMaxEventLineBytes) {
    for (auto& [k, v] : line.items()) {
      if (v.is_string() && v.get_ref<const std::string&>().size() > kTruncatedFieldBytes) {
        v = v.get<std::string>().substr(0, kTruncatedFieldBytes);
      }
    }
    line["truncated"] = true;
    unhashed = Dump(line);
  }
  std::string hash = hmac_ ? EventChainHmac(*hmac_, position_.hash, unhashed)
                           : EventChainHash(position_.hash, unhashed);
  line["hash"] = hash;
  if (!out_.WriteLine(Dump(line))) {
    // The seq stays used, the chain stays at the last written line: the next
    // written line will say how many events are missing before it.
    ++position_.unrecorded_lost;
    lost_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  position_.hash = std::move(hash);
  position_.unrecorded_lost = 0;
  return true;
}

void EventChain::RecordLost(std::uint64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  position_.seq += n;
  position_.unrecorded_lost += n;
  lost_.fetch_add(n, std::memory_order_relaxed);
}

ChainPosition EventChain::Position() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return position_;
}

EventLog::EventLog(const Policy& policy, LineWriter& out, Timing timing, bool governed_only,
                   ChainPosition start)
    : policy_(policy), timing_(timing), governed_only_(governed_only) {
  own_chain_.emplace(out, std::move(start));
  chain_ = &*own_chain_;
}

EventLog::EventLog(const Policy& policy, EventChain& chain, Timing timing, bool governed_only)
    : policy_(policy), chain_(&chain), timing_(timing), governed_only_(governed_only) {}

void EventLog::OnFlow(const Flow& f, int catalog_index) {
  if (timing_ == Timing::kAtFlowEnd) LogFlow(f, catalog_index);
}

void EventLog::OnDecision(const Flow& f, int catalog_index) {
  if (timing_ == Timing::kAtDecision) LogFlow(f, catalog_index);
}

void EventLog::LogFlow(const Flow& f, int catalog_index) {
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
  // dns.confirm_revealed_names: the trusted resolver confirmed the revealed
  // name for dst when the daemon asked, not in an answer the app received.
  if (f.name_confirmed) j["name_attested_by"] = "confirmed";
  j["category"] = catalog_index >= 0 ? policy_.catalog[catalog_index].category : "";
  j["verdict"] = std::string(VerdictName(f.verdict));
  if (timing_ == Timing::kAtDecision) j["action"] = Action(f.verdict);
  j["reason"] = std::string(ReasonName(f.reason));
  j["inspection"] = std::string(InspectionName(f.inspection));
  j["rule"] = f.rule >= 0 ? policy_.allow[f.rule].name : "";
  j["packets"] = f.to_server.packets;
  j["bytes"] = f.to_server.payload_bytes;
  j["packets_in"] = f.to_client.packets;
  j["bytes_in"] = f.to_client.payload_bytes;
  j["delivered"] = f.delivered_packet != 0;
  j["first_packet"] = f.first_packet;
  j["decision_packet"] = f.decision_packet;
  chain_->Append(j);
}

// What the daemon did: policy mode `audit` only says what it would have done.
std::string EventLog::Action(Verdict verdict) const {
  if (verdict != Verdict::kDeny) return "passed";
  return policy_.mode == PolicyMode::kAudit ? "would-drop" : "dropped";
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
  if (timing_ == Timing::kAtDecision) j["action"] = Action(r.verdict);
  j["reason"] = std::string(ReasonName(r.reason));
  j["rule"] = r.rule >= 0 ? policy_.allow[r.rule].name : "";
  j["packets"] = 1;
  j["bytes"] = r.query_bytes;
  j["answered"] = r.answered;
  j["rcode"] = r.rcode;
  j["first_packet"] = r.packet;
  chain_->Append(j);
}

}  // namespace flightwall
