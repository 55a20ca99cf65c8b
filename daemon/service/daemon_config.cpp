#include "service/daemon_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "common/listen_address.h"
#include "firewall/bridge_netfilter.h"
#include "policy/did_you_mean.h"
#include "policy/yaml_checker.h"
#include "sink/chain_key.h"
#include "sink/event_ring.h"

namespace flightwall {
namespace {

constexpr std::array<std::string_view, 7> kTopKeys = {"policy",  "intercept", "dns",    "events",
                                                      "metrics", "limits",    "control"};
constexpr std::array<std::string_view, 9> kLimitsKeys = {
    "flows",        "named_addresses",      "pending_dns",  "stream_buffers", "stream_buffer_bytes",
    "quic_parsers", "dns_tcp_reassemblers", "held_packets", "event_queue"};
constexpr std::array<std::string_view, 8> kInterceptKeys = {
    "mode",    "queue",           "backend", "on_failure",
    "inspect", "hold_timeout_ms", "bridge",  "receive_buffer_bytes"};
constexpr std::array<std::string_view, 2> kDnsKeys = {"refuse_with", "state_file"};
constexpr std::array<std::string_view, 2> kEventsKeys = {"path", "hmac_key_file"};
constexpr std::array<std::string_view, 1> kMetricsKeys = {"listen"};
constexpr std::array<std::string_view, 1> kControlKeys = {"socket"};
// sizeof(sockaddr_un::sun_path) on Linux, with room for the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;

bool ParseQueue(const std::string& text, std::uint16_t* first, std::uint16_t* last) {
  auto number = [](std::string_view s, std::uint16_t* out) {
    if (s.empty() || s.size() > 5) return false;
    unsigned v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 65535) return false;
    *out = static_cast<std::uint16_t>(v);
    return true;
  };
  const auto dash = text.find('-');
  if (dash == std::string::npos) {
    if (!number(text, first)) return false;
    *last = *first;
    return true;
  }
  return number(std::string_view(text).substr(0, dash), first) &&
         number(std::string_view(text).substr(dash + 1), last) && *first <= *last &&
         *last - *first < 64;
}

// intercept.bridge names the bridge in mode bridge and nowhere else; the
// nftables backend cannot name a bridge port (firewall/bridge_netfilter.h).
void CheckBridgeSettings(Checker& c, const YAML::Node& in, InterceptSettings* intercept) {
  const bool bridge_mode = intercept->mode == InterceptMode::kBridge;
  if (auto b = c.Scalar(in, "bridge")) {
    const Status valid = IsValidInterfaceName(*b);
    if (!bridge_mode) {
      c.Error(in["bridge"], "'bridge' applies only to mode: bridge; remove it or set mode: bridge");
    } else if (!valid.ok() || b->ends_with('+')) {
      c.Error(in["bridge"], "'bridge' must name one bridge interface, e.g. br0: " +
                                (valid.ok() ? "'" + *b + "' is a wildcard" : valid.message()));
    } else {
      intercept->bridge = *b;
    }
  } else if (bridge_mode && !in["bridge"]) {
    c.Error(in["mode"],
            "mode: bridge needs 'bridge:' naming the bridge the tablet's port is in (e.g. "
            "bridge: br0); the flight app's interfaces then name that port");
  }
  if (bridge_mode && intercept->backend == BackendKind::kNftables) {
    c.Error(in["backend"],
            "mode: bridge needs backend: iptables (or none): its physdev match names the "
            "tablet's bridge port, which nftables' inet family cannot see");
  }
}

}  // namespace

DaemonConfigResult LoadDaemonConfigFromString(const std::string& text,
                                              const std::string& display_name,
                                              const std::string& base_dir) {
  DaemonConfigResult result;
  Checker c(display_name, &result.errors);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    result.errors.push_back({display_name, e.mark.line + 1, e.mark.column + 1,
                             "YAML syntax error: " + e.msg + "; fix the syntax at this spot"});
    return result;
  }
  if (!root.IsMap()) {
    result.errors.push_back({display_name, 1, 1,
                             "the config must be a map with at least 'policy:'; see "
                             "flightwall.yaml(5)"});
    return result;
  }
  DaemonConfig cfg;
  cfg.path = display_name;
  try {
    c.CheckKeys(root, kTopKeys, "the config");
    if (auto p = c.Scalar(root, "policy")) {
      std::filesystem::path pp(*p);
      if (pp.is_relative()) pp = std::filesystem::path(base_dir) / pp;
      cfg.policy_path = pp.lexically_normal().string();
    } else if (!root["policy"]) {
      result.errors.push_back({display_name, 1, 1,
                               "missing 'policy:': name the policy file to enforce, e.g. "
                               "policy: /etc/flightwall/policy.yaml"});
    }
    if (const YAML::Node in = c.Section(root, "intercept")) {
      c.CheckKeys(in, kInterceptKeys, "intercept");
      if (auto m =
              c.OneOf(in, "mode", std::array<std::string_view, 3>{"forward", "output", "bridge"})) {
        cfg.intercept.mode = *m == "forward"  ? InterceptMode::kForward
                             : *m == "output" ? InterceptMode::kOutput
                                              : InterceptMode::kBridge;
      }
      if (auto q = c.Scalar(in, "queue")) {
        if (!ParseQueue(*q, &cfg.intercept.queue_first, &cfg.intercept.queue_last)) {
          c.Error(in["queue"],
                  "'queue' must be a queue number 0-65535 or a range like 0-3 "
                  "(at most 64 queues)");
        }
      }
      if (auto b = c.OneOf(in, "backend",
                           std::array<std::string_view, 3>{"iptables", "nftables", "none"})) {
        cfg.intercept.backend = *b == "iptables"   ? BackendKind::kIptables
                                : *b == "nftables" ? BackendKind::kNftables
                                                   : BackendKind::kNone;
      }
      if (auto f = c.OneOf(in, "on_failure", std::array<std::string_view, 2>{"closed", "open"})) {
        cfg.intercept.fail_open = *f == "open";
      }
      if (auto i = c.OneOf(in, "inspect",
                           std::array<std::string_view, 2>{"decisions", "every-packet"})) {
        cfg.intercept.every_packet = *i == "every-packet";
      }
      CheckBridgeSettings(c, in, &cfg.intercept);
      if (auto h = c.Number(in, "hold_timeout_ms", 100, 30000)) {
        cfg.hold_timeout_ms = static_cast<std::uint32_t>(*h);
      }
      if (auto n = c.Number(in, "receive_buffer_bytes", 65536, 1u << 30)) {
        cfg.receive_buffer_bytes = static_cast<std::uint32_t>(*n);
      }
    }
    if (const YAML::Node dns = c.Section(root, "dns")) {
      c.CheckKeys(dns, kDnsKeys, "dns");
      if (auto r =
              c.OneOf(dns, "refuse_with", std::array<std::string_view, 2>{"refused", "nxdomain"})) {
        cfg.dns_refusal = *r == "refused" ? DnsRefusal::kRefused : DnsRefusal::kNxdomain;
      }
      if (auto f = c.Scalar(dns, "state_file")) {
        if (!f->empty() && f->front() != '/') {
          c.Error(dns["state_file"],
                  "'state_file' must be an absolute path (default "
                  "/var/lib/flightwall/names.bin), or \"\" to keep no names across restarts");
        } else {
          cfg.names_state_file = *f;
        }
      }
    }
    if (const YAML::Node ev = c.Section(root, "events")) {
      c.CheckKeys(ev, kEventsKeys, "events");
      if (auto p = c.Scalar(ev, "path")) cfg.events_path = *p;
      if (auto k = c.Scalar(ev, "hmac_key_file")) {
        // Checked at load, so `check --config`, the start and a reload
        // report a bad key at its line like any other setting.
        std::filesystem::path kp(*k);
        if (kp.is_relative()) kp = std::filesystem::path(base_dir) / kp;
        cfg.events_hmac_key_file = kp.lexically_normal().string();
        ChainKey key;
        const Status read =
            k->empty() ? Status::Error(
                             "'hmac_key_file' is empty; name the key file, or remove the setting "
                             "for an unkeyed chain")
                       : ReadChainKey(cfg.events_hmac_key_file, KeyFileCheck::kPrivate, &key);
        if (!read.ok()) c.Error(ev["hmac_key_file"], read.ToString());
      }
    }
    if (const YAML::Node me = c.Section(root, "metrics")) {
      c.CheckKeys(me, kMetricsKeys, "metrics");
      if (auto l = c.Scalar(me, "listen")) {
        if (!l->empty() && !ValidListenAddress(*l)) {
          c.Error(me["listen"],
                  "'listen' must be one numeric address and port such as "
                  "127.0.0.1:9714 or [::1]:9714 (or \"\" to serve no metrics), "
                  "not '" +
                      *l + "'");
        } else {
          cfg.metrics_listen = *l;
        }
      }
    }
    if (const YAML::Node co = c.Section(root, "control")) {
      c.CheckKeys(co, kControlKeys, "control");
      if (auto p = c.Scalar(co, "socket")) {
        if (!p->empty() && ((*p)[0] != '/' || p->size() > kMaxSocketPath)) {
          c.Error(co["socket"],
                  "'socket' must be an absolute path of at most " + std::to_string(kMaxSocketPath) +
                      " bytes (or \"\" to disable the control socket), not '" + *p + "'");
        } else {
          cfg.control_socket = *p;
        }
      }
    }
    if (const YAML::Node li = c.Section(root, "limits")) {
      c.CheckKeys(li, kLimitsKeys, "limits");
      EngineLimits& l = cfg.limits;
      constexpr std::uint64_t kMany = 1u << 24;
      if (auto n = c.Number(li, "flows", 64, kMany)) l.max_flows = *n;
      if (auto n = c.Number(li, "named_addresses", 64, kMany)) l.max_named_addresses = *n;
      if (auto n = c.Number(li, "pending_dns", 16, kMany)) l.max_pending_dns = *n;
      if (auto n = c.Number(li, "stream_buffers", 1, 1u << 20)) l.stream_buffers = *n;
      // Large enough for a 64 KiB ClientHello in ordinary records; smaller
      // buffers deny larger ClientHellos as too-large.
      if (auto n = c.Number(li, "stream_buffer_bytes", 4096, 1u << 20)) {
        l.stream_buffer_bytes = *n;
      }
      if (auto n = c.Number(li, "quic_parsers", 1, 1u << 16)) l.quic_parsers = *n;
      if (auto n = c.Number(li, "dns_tcp_reassemblers", 1, 1u << 16)) {
        l.dns_tcp_reassemblers = *n;
      }
      if (auto n = c.Number(li, "held_packets", 16, 1u << 20)) {
        cfg.max_held_packets = static_cast<std::uint32_t>(*n);
      }
      if (auto n = c.Number(li, "event_queue", 64, 1u << 20)) {
        cfg.event_queue = static_cast<std::uint32_t>(*n);
      }
    }
  } catch (const YAML::Exception& e) {
    result.errors.push_back({display_name, e.mark.line + 1, e.mark.column + 1,
                             std::string("unexpected YAML structure: ") + e.msg});
  }
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

std::uint64_t MemoryBound(const DaemonConfig& config) {
  // Held packets keep their flow key and ids; the kernel keeps the bytes.
  // Each queued event is a copy of its flow or DNS question.
  return EngineMemoryBound(config.limits) + std::uint64_t{config.max_held_packets} * 64 +
         std::uint64_t{config.event_queue} * sizeof(EventRecord);
}

DaemonConfigResult LoadDaemonConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    DaemonConfigResult r;
    r.errors.push_back({path, 0, 0,
                        "cannot read the config file; check the path (default "
                        "/etc/flightwall/flightwall.yaml) and permissions"});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string base = std::filesystem::absolute(path).parent_path().string();
  return LoadDaemonConfigFromString(text.str(), path, base);
}

}  // namespace flightwall
