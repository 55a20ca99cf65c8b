// The command-line front end: `flightwall check|audit|...`.
// Exit codes: 0 success / clean, 1 findings (leaks), 2 usage or input error,
// 3 inconclusive (audit: the evidence is incomplete and no leak was found).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flightwall {

constexpr int kExitOk = 0;
constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInconclusive = 3;

struct AuditOptions {
  std::string policy;
  std::string vantage = "network";
  std::string fail_on = "leaks";
  std::string report_json;
  std::string report_html;
  std::string junit;
  std::string events;
  std::string baseline;  // --report-json of an earlier audit to compare with
  bool quiet = false;
  std::vector<std::string> captures;
  // --scenario NAME=CAPTURE (repeatable): a campaign of scenarios instead.
  std::vector<std::string> scenarios;
  std::string campaign;  // --campaign FILE.yaml: app, version, device, scenarios
  // Live capture instead of files (--live): interface, stop after
  // (--duration, e.g. "5m"; empty = until SIGINT/SIGTERM), keep the packets.
  std::string live;
  std::string duration;
  std::string write;
  std::uint64_t rotate_mb = 0;
  int buffer_kb = 0;
};

struct CheckOptions {
  std::string policy;
  std::string config;  // a daemon config: its policy, limits and the memory they imply
};

struct RunOptions {
  std::string config = "/etc/flightwall/flightwall.yaml";
};

struct RulesOptions {
  std::string config = "/etc/flightwall/flightwall.yaml";
  std::string action = "print";  // print | install | remove
};

// Exit 0: chain intact, 1: broken (also truncated or rewritten against the
// expected head), 2: a file or the key cannot be read, or the log cannot be
// verified (keyed without --key-file, head before the first file).
struct VerifyLogOptions {
  std::vector<std::string> files;  // one chain, oldest first (rotated logs)
  std::string key_file;            // HMAC key of a keyed chain (events.hmac_key_file)
  std::uint64_t expect_seq = 0;    // a published head: seq the chain must reach
  std::string expect_head;         // and that line's hash (8-64 hex digits)
};

// `flightwall status` (status_command.cpp). Exit 0 running and enforcing,
// 1 running but degraded, 2 usage or error, 3 not running (Nagios style).
constexpr int kExitDegraded = 1;
constexpr int kExitNotRunning = 3;
struct StatusOptions {
  std::string socket;  // the control socket; else the config's control.socket
  std::string config;  // the daemon config naming it (default config when it exists)
  bool json = false;
};

int RunCli(int argc, char** argv);
int RunAudit(const AuditOptions& options);
int RunCheck(const CheckOptions& options);
int RunRun(const RunOptions& options);
int RunRules(const RulesOptions& options);
int RunVerifyLog(const VerifyLogOptions& options);
int RunStatus(const StatusOptions& options);

}  // namespace flightwall
