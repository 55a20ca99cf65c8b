#include "service/status_report.h"

#include "common/time_format.h"
#include "firewall/rule_backend.h"
#include "policy/policy.h"
#include "service/daemon_config.h"
#include "service/enforcer.h"
#include "service/sinks.h"
#include "source/nfqueue_source.h"

namespace flightwall {

std::vector<std::string> Assess(const StatusSnapshot& s) {
  std::vector<std::string> why;
  if (s.stalled_workers > 0) {
    why.push_back(std::to_string(s.stalled_workers) +
                  " queue worker(s) have not turned for 5 s (the watchdog is not fed)");
  }
  if (s.events_lost > 0) {
    why.push_back(std::to_string(s.events_lost) +
                  " event(s) not logged since the start (disk full or event queue full)");
  }
  for (const QueueStatus& q : s.queues) {
    if (q.Drops() > 0) {
      why.push_back("queue " + std::to_string(q.queue) + " dropped " + std::to_string(q.Drops()) +
                    " packet(s) (kernel queue full " + std::to_string(q.kernel_dropped) +
                    ", socket full " + std::to_string(q.user_dropped) + ", overruns " +
                    std::to_string(q.enobufs) + ")");
    }
  }
  if (s.last_reload == "failed") {
    why.push_back("the last policy reload failed; the previous policy is still enforced");
  }
  if (s.policy_mode == "audit") {
    why.push_back("policy mode is audit: denials are logged, not enforced");
  }
  return why;
}

nlohmann::ordered_json StatusJson(const StatusSnapshot& s) {
  using Json = nlohmann::ordered_json;
  const std::vector<std::string> why = Assess(s);
  Json j;
  j["running"] = true;
  j["state"] = why.empty() ? "ok" : "degraded";
  j["degraded"] = why;
  j["pid"] = s.pid;
  j["version"] = s.version;
  j["config"] = s.config_path;
  j["policy"] = Json{{"name", s.policy_name},
                     {"sha256", s.policy_sha256},
                     {"mode", s.policy_mode},
                     {"path", s.policy_path}};
  j["intercept"] = Json{{"mode", s.intercept_mode},
                        {"backend", s.backend},
                        {"on_failure", s.fail_open ? "open" : "closed"}};
  j["started_at"] = FormatTime(s.started_at);
  j["uptime_seconds"] = s.now > s.started_at ? (s.now - s.started_at) / 1000000 : 0;
  Json queues = Json::array();
  for (const QueueStatus& q : s.queues) {
    queues.push_back(Json{{"queue", q.queue},
                          {"received", q.received},
                          {"verdicts", q.verdicts},
                          {"waiting", q.waiting},
                          {"drops", q.Drops()},
                          {"kernel_dropped", q.kernel_dropped},
                          {"user_dropped", q.user_dropped},
                          {"enobufs", q.enobufs},
                          {"errors", q.errors}});
  }
  j["queues"] = queues;
  j["workers"] = Json{{"count", s.workers}, {"stalled", s.stalled_workers}};
  j["flows"] = Json{{"active", s.flows_active}, {"named_addresses", s.named_addresses}};
  Json pools = Json::object();
  for (std::size_t i = 0; i < kInspectionPools; ++i) {
    pools[InspectionPoolName(static_cast<InspectionPool>(i))] =
        Json{{"in_use", s.pools[i].in_use},
             {"slots", s.pools[i].capacity},
             {"exhausted", s.pools[i].exhausted}};
  }
  j["inspection_pools"] = pools;
  j["packets"] = Json{{"accepted", s.accepted},
                      {"dropped", s.dropped},
                      {"held", s.held},
                      {"held_expired", s.held_expired},
                      {"held_evicted", s.held_evicted},
                      {"malformed_dropped", s.malformed_dropped},
                      {"segments_refused", s.segments_refused}};
  j["event_log"] = Json{{"enabled", s.event_log_enabled},
                        {"path", s.event_log_path},
                        {"lines_written", s.event_lines_written},
                        {"lost", s.events_lost},
                        {"chain_seq", s.chain_seq},
                        {"chain_head", s.chain_head}};
  j["reload"] = Json{{"ok", s.reloads_ok},
                     {"failed", s.reloads_failed},
                     {"last", s.last_reload.empty() ? "none" : s.last_reload},
                     {"last_at", s.last_reload.empty() ? "" : FormatTime(s.last_reload_at)}};
  Json denials = Json::array();
  for (auto it = s.last_denials.rbegin(); it != s.last_denials.rend(); ++it) {
    denials.push_back(Json{{"time", FormatTime(it->time)},
                           {"event", it->event},
                           {"app", it->app},
                           {"protocol", it->protocol},
                           {"dst", it->dst},
                           {"dport", it->dport},
                           {"hostname", it->hostname},
                           {"reason", it->reason},
                           {"action", it->action}});
  }
  j["denials_total"] = s.denials_total;
  j["last_denials"] = denials;
  return j;
}

StatusSnapshot CollectStatus(const DaemonConfig& config, const Policy& policy,
                             const Enforcer& enforcer,
                             const std::vector<const NfqueueSource*>& sources,
                             const DaemonSinks& sinks) {
  StatusSnapshot s;
  s.version = FLIGHTWALL_VERSION;
  s.config_path = config.path;
  s.policy_name = policy.name;
  s.policy_sha256 = policy.sha256;
  s.policy_path = config.policy_path;
  s.policy_mode = PolicyModeName(policy.mode);
  s.intercept_mode = InterceptModeName(config.intercept.mode);
  s.backend = BackendKindName(config.intercept.backend);
  s.fail_open = config.intercept.fail_open;
  for (const NfqueueSource* src : sources) {
    QueueStatus q;
    q.queue = src->Queue();
    const NfqueueStats& st = src->Stats();
    q.received = st.received.load(std::memory_order_relaxed);
    q.verdicts = st.verdicts.load(std::memory_order_relaxed);
    q.enobufs = st.enobufs.load(std::memory_order_relaxed);
    q.errors = st.receive_errors.load(std::memory_order_relaxed) +
               st.verdict_errors.load(std::memory_order_relaxed);
    const KernelQueueStats k = ReadKernelQueueStats(q.queue);
    q.waiting = k.queue_total;
    q.kernel_dropped = k.queue_dropped;
    q.user_dropped = k.user_dropped;
    s.queues.push_back(q);
  }
  s.workers = enforcer.Workers();
  s.flows_active = enforcer.ActiveFlows();
  s.named_addresses = enforcer.NamedAddresses();
  s.pools = enforcer.Pools();
  const EnforcerStats e = enforcer.Stats();
  s.accepted = e.accepted;
  s.dropped = e.dropped;
  s.held = e.held;
  s.held_expired = e.held_expired;
  s.held_evicted = e.held_evicted;
  s.malformed_dropped = e.malformed_dropped;
  s.segments_refused = e.segments_refused;
  const EventLogStatus ev = sinks.EventLog();
  s.event_log_enabled = ev.enabled;
  s.event_log_path = ev.path;
  s.event_lines_written = ev.lines_written;
  s.events_lost = ev.lost;
  s.chain_seq = ev.chain_seq;
  s.chain_head = ev.chain_head;
  const ReloadStatus& reloads = sinks.Reloads();
  s.reloads_ok = reloads.ok;
  s.reloads_failed = reloads.failed;
  s.last_reload = reloads.last;
  s.last_reload_at = reloads.last_at;
  s.last_denials = sinks.Denials().Snapshot();
  s.denials_total = sinks.Denials().Total();
  return s;
}

void StatusBoard::Publish(const StatusSnapshot& snapshot) {
  // Names come from packets: bytes that are not UTF-8 are replaced, never thrown on.
  std::string json =
      StatusJson(snapshot).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(mutex_);
  json_ = std::move(json);
}

std::string StatusBoard::Answer(std::string_view request) const {
  if (request != "status") {
    return nlohmann::ordered_json{
        {"error", "unknown request '" + std::string(request.substr(0, 64)) + "'; send status"}}
        .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return json_;
}

}  // namespace flightwall
