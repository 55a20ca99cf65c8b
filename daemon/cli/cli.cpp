#include <CLI/CLI.hpp>
#include <string>

#include "cli/commands.h"
#include "common/duration.h"
#include "sink/campaign_file.h"

namespace flightwall {
namespace {

// CLI11 would wrap "-3" into a huge unsigned number; a seq is 1 or more.
std::string CheckPublishedSeq(const std::string& v) {
  const bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
  if (digits && v.find_first_not_of('0') != std::string::npos) return {};
  return "must be a whole number from 1: the seq of a published head";
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"flightwall: enforce and verify local data mode for drone flight apps"};
  app.require_subcommand(1);
  app.set_version_flag("--version", FLIGHTWALL_VERSION);

  CheckOptions check;
  auto* check_cmd =
      app.add_subcommand("check",
                         "Validate a policy (or a daemon config and its policy) and print a "
                         "normalized summary; with --config also the limits and their memory");
  auto* check_policy = check_cmd->add_option("--policy", check.policy, "Policy YAML file");
  auto* check_config =
      check_cmd->add_option("--config", check.config, "Daemon config (flightwall.yaml)");
  check_policy->excludes(check_config);
  check_cmd->callback([check_policy, check_config] {
    if (check_policy->count() == 0 && check_config->count() == 0) {
      throw CLI::RequiredError("--policy or --config");
    }
  });

  AuditOptions audit;
  auto* audit_cmd = app.add_subcommand(
      "audit",
      "Verify captures (files, or --live IFACE) against a policy. Exit 0 clean, 1 leaks (or "
      "attempts with --fail-on attempts), 2 usage or unreadable input, 3 inconclusive: the "
      "evidence is incomplete (truncated file, capture drops, TCP gaps, names cut by the snap "
      "length, no flight-app packet) and no leak was found");
  audit_cmd->add_option("--policy", audit.policy, "Policy YAML file")->required();
  audit_cmd
      ->add_option("--vantage", audit.vantage,
                   "network: capture from a gateway, flight_apps sources pick the app's "
                   "traffic; device: capture on the device, all of it is the app's")
      ->check(CLI::IsMember({"network", "device"}));
  audit_cmd
      ->add_option("--fail-on", audit.fail_on, "Exit 1 on 'leaks' (default) or on any 'attempts'")
      ->check(CLI::IsMember({"leaks", "attempts"}));
  audit_cmd->add_option("--report-json", audit.report_json,
                        "Write the JSON report here ('-' = stdout)");
  audit_cmd->add_option("--report-html", audit.report_html, "Write the HTML report here");
  audit_cmd->add_option("--junit", audit.junit, "Write JUnit XML here");
  audit_cmd->add_option("--baseline", audit.baseline,
                        "The --report-json of an earlier audit (the last app version): report "
                        "new destinations, destinations gone and more bytes sent");
  audit_cmd->add_option("--events", audit.events, "Write JSON-lines events here");
  audit_cmd->add_flag("--quiet,-q", audit.quiet, "Do not print the summary");
  auto* audit_captures = audit_cmd->add_option("captures", audit.captures,
                                               "pcap/pcapng files; '-' reads standard input");
  auto* audit_live =
      audit_cmd->add_option("--live", audit.live,
                            "Capture on this interface instead of reading files (needs "
                            "CAP_NET_RAW); stop with Ctrl-C, SIGTERM or --duration");
  audit_live->excludes(audit_captures);
  auto* audit_scenario =
      audit_cmd
          ->add_option("--scenario", audit.scenarios,
                       "NAME=CAPTURE: audit each scenario on its own (repeat; a name given "
                       "again adds a capture to it) and compare them: a verdict per scenario "
                       "and overall, a destinations x scenarios matrix")
          ->check(CLI::Validator(
              [](const std::string& v) {
                const auto eq = v.find('=');
                if (eq == 0 || eq == std::string::npos || eq + 1 == v.size()) {
                  return std::string("NAME=CAPTURE, e.g. idle=idle.pcapng");
                }
                if (!ValidScenarioName(v.substr(0, eq))) {
                  return std::string("a scenario NAME is 1-64 letters, digits, '-', '_', '.'");
                }
                return std::string();
              },
              "NAME=CAPTURE"));
  audit_scenario->excludes(audit_captures);
  audit_scenario->excludes(audit_live);
  auto* audit_campaign = audit_cmd->add_option(
      "--campaign", audit.campaign,
      "A campaign YAML: the app, its version, the device, the vantage and each scenario's "
      "captures (see the README); audited like --scenario");
  audit_campaign->excludes(audit_captures);
  audit_campaign->excludes(audit_live);
  audit_campaign->excludes(audit_scenario);
  audit_cmd->add_option("--duration", audit.duration, "Live: stop after this long: 30s, 5m, 1h")
      ->needs(audit_live)
      ->check(CLI::Validator(
          [](const std::string& v) {
            return ParseDurationSeconds(v) ? std::string()
                                           : "a whole number with s, m or h: 30s, 5m, 1h";
          },
          "DURATION"));
  auto* audit_write =
      audit_cmd
          ->add_option("--write", audit.write,
                       "Live: keep the captured packets in this pcap file (FILE, then FILE.1, "
                       "FILE.2, ... with --rotate-mb)")
          ->needs(audit_live);
  audit_cmd->add_option("--rotate-mb", audit.rotate_mb, "Live: start a new --write file past N MB")
      ->needs(audit_write)
      ->check(CLI::Range(1, 1 << 20));
  audit_cmd
      ->add_option("--buffer-kb", audit.buffer_kb,
                   "Live: kernel capture buffer in KiB (default: libpcap's); drops make the "
                   "audit inconclusive")
      ->needs(audit_live)
      ->check(CLI::Range(1, 1 << 22));
  audit_cmd->callback([audit_captures, audit_live, audit_scenario, audit_campaign] {
    if (audit_captures->count() == 0 && audit_live->count() == 0 && audit_scenario->count() == 0 &&
        audit_campaign->count() == 0) {
      throw CLI::RequiredError(
          "captures (files), --scenario NAME=CAPTURE, --campaign FILE or --live IFACE");
    }
  });

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Enforce the policy on NFQUEUE (the daemon)");
  run_cmd->add_option("--config", run.config, "Daemon config file")->capture_default_str();

  RulesOptions rules;
  auto* rules_cmd = app.add_subcommand(
      "rules", "Print, install or remove the interception rules the daemon would use");
  rules_cmd->add_option("--config", rules.config, "Daemon config file")->capture_default_str();
  auto* rules_mode = rules_cmd->add_option_group("action");
  rules_mode->add_flag_callback(
      "--print", [&] { rules.action = "print"; }, "Print them (default)");
  rules_mode->add_flag_callback(
      "--install", [&] { rules.action = "install"; }, "Install them in this network namespace");
  rules_mode->add_flag_callback(
      "--remove", [&] { rules.action = "remove"; }, "Remove them");
  rules_mode->require_option(0, 1);

  VerifyLogOptions verify_log;
  auto* verify_log_cmd = app.add_subcommand(
      "verify-log",
      "Check an event log's hash chain; exit 1 at the first edited, deleted or reordered line, "
      "or when it falls short of or differs from the expected head");
  verify_log_cmd
      ->add_option("files", verify_log.files,
                   "Event log files; rotated files oldest first are checked as one chain")
      ->required();
  verify_log_cmd->add_option("--key-file", verify_log.key_file,
                             "HMAC key of a keyed chain (the daemon's events.hmac_key_file)");
  auto* expect_seq = verify_log_cmd
                         ->add_option("--expect-seq", verify_log.expect_seq,
                                      "Published head (journal FLIGHTWALL_CHAIN_SEQ or metric "
                                      "flightwall_event_chain_seq): the chain must reach this seq")
                         ->check(CLI::Validator(CheckPublishedSeq, "SEQ"));
  verify_log_cmd
      ->add_option("--expect-head", verify_log.expect_head,
                   "Hash of the line with --expect-seq (journal FLIGHTWALL_CHAIN_HEAD, or the "
                   "8-digit head label of flightwall_event_chain_head_info)")
      ->needs(expect_seq);

  StatusOptions status;
  auto* status_cmd = app.add_subcommand(
      "status",
      "Ask the running daemon (its control socket) how it stands: policy, mode, uptime, queues, "
      "flows, event log, last denials. Exit 0 running and enforcing, 1 running but degraded "
      "(a stalled worker, events lost, queue drops, a failed reload, or mode audit), 2 usage or "
      "error, 3 not running (Nagios style)");
  auto* status_socket = status_cmd->add_option(
      "--socket", status.socket, "Control socket (default: the config's control.socket)");
  status_cmd
      ->add_option("--config", status.config,
                   "Daemon config naming control.socket (default /etc/flightwall/flightwall.yaml "
                   "when it exists, else /run/flightwall/control.sock)")
      ->excludes(status_socket);
  status_cmd->add_flag("--json", status.json, "Print the daemon's JSON (for scripts)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (check_cmd->parsed()) return RunCheck(check);
  if (audit_cmd->parsed()) return RunAudit(audit);
  if (run_cmd->parsed()) return RunRun(run);
  if (rules_cmd->parsed()) return RunRules(rules);
  if (verify_log_cmd->parsed()) return RunVerifyLog(verify_log);
  if (status_cmd->parsed()) return RunStatus(status);
  return kExitUsage;
}

}  // namespace flightwall
