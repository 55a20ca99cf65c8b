// Fuzz target for the daemon config loader (flightwall.yaml): any bytes must
// give either a config or located errors, never a crash, a hang or an
// exception past the loader. A loaded config stays inside the ranges the
// loader promises, so MemoryBound() cannot overflow into a small number.
// Relative paths resolve against a directory that does not exist;
// hmac_key_file may name real files, which ReadChainKey opens non-blocking
// and reads only when regular and small, so this is harmless here.
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/daemon_config.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const flightwall::DaemonConfigResult result = flightwall::LoadDaemonConfigFromString(
      text, "flightwall.yaml", "/nonexistent/flightwall-fuzz");
  Check(result.config.has_value() == result.errors.empty());
  for (const flightwall::PolicyError& error : result.errors) Check(!error.message.empty());
  if (!result.config) return 0;
  const flightwall::DaemonConfig& c = *result.config;
  Check(!c.policy_path.empty() && c.policy_path.front() == '/');
  Check(c.intercept.queue_first <= c.intercept.queue_last &&
        c.intercept.queue_last - c.intercept.queue_first < 64);
  Check(c.hold_timeout_ms >= 100 && c.hold_timeout_ms <= 30000);
  Check(c.max_held_packets >= 16 && c.max_held_packets <= (1u << 20));
  const flightwall::EngineLimits& l = c.limits;
  Check(l.max_flows >= 64 && l.max_flows <= (1u << 24));
  Check(l.stream_buffers >= 1 && l.stream_buffer_bytes >= 4096 && l.quic_parsers >= 1 &&
        l.dns_tcp_reassemblers >= 1);
  Check(flightwall::MemoryBound(c) >= l.stream_buffers * l.stream_buffer_bytes);
  return 0;
}
