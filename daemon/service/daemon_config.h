// DaemonConfig: /etc/flightwall/flightwall.yaml, the daemon's settings (which
// policy, how traffic is intercepted, where evidence goes).
//
// LoadDaemonConfig validates everything and reports problems like the policy
// loader does: file:line:column and what to do, unknown keys with a
// did-you-mean. The policy file it names is loaded separately (LoadPolicy),
// relative paths resolving against the config file's directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "firewall/rule_backend.h"
#include "policy/policy_loader.h"

namespace flightwall {

enum class DnsRefusal : std::uint8_t { kRefused, kNxdomain };

inline constexpr const char* kDefaultControlSocket = "/run/flightwall/control.sock";

struct DaemonConfig {
  std::string path;         // the config file itself
  std::string policy_path;  // absolute
  InterceptSettings intercept;
  DnsRefusal dns_refusal = DnsRefusal::kRefused;
  // dns.state_file: where the attested DNS names are kept across a restart
  // (service/name_cache_store.h); absolute, "" disables. Read at start only.
  std::string names_state_file = "/var/lib/flightwall/names.bin";
  std::string events_path = "/var/log/flightwall/events.jsonl";  // "" disables
  std::string metrics_listen = "127.0.0.1:9714";                 // "" disables
  // control.socket: the unix socket `flightwall status` asks (absolute,
  // shorter than 108 bytes; "" disables).
  std::string control_socket = kDefaultControlSocket;
  std::uint32_t hold_timeout_ms = 2000;  // longest a payload packet waits for its name
  // intercept.receive_buffer_bytes: each queue socket's receive buffer.
  // When it overruns the kernel drops (on_failure: closed) what it could not
  // hand over, counted as ENOBUFS; a smaller one only makes that sooner.
  std::uint32_t receive_buffer_bytes = 8u << 20;
  std::uint32_t max_held_packets = 4096;
  // limits.event_queue: decided events waiting for the event writer, over
  // all workers (each gets its share). More are lost, counted and recorded
  // in the chain; enforcement never waits for the disk.
  std::uint32_t event_queue = 4096;
  // events.hmac_key_file: absolute path of the key of an HMAC-keyed event
  // chain ("" = unkeyed). Checked at load: readable, 32+ bytes, not
  // readable or writable by every user (ReadChainKey, KeyFileCheck::kPrivate).
  std::string events_hmac_key_file;
  // Tables and inspection pools (`limits:`). A flow that finds no room is
  // denied, never waved through.
  EngineLimits limits;
};

// The memory the limits imply at most, in bytes (what `flightwall check
// --config` prints): tables, inspection pools, held packets, event queue.
std::uint64_t MemoryBound(const DaemonConfig& config);

struct DaemonConfigResult {
  std::optional<DaemonConfig> config;
  std::vector<PolicyError> errors;
};

DaemonConfigResult LoadDaemonConfig(const std::string& path);
DaemonConfigResult LoadDaemonConfigFromString(const std::string& text,
                                              const std::string& display_name,
                                              const std::string& base_dir);

}  // namespace flightwall
