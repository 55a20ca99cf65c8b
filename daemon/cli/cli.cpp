#include <CLI/CLI.hpp>

#include "cli/commands.h"

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
      "Verify captures against a policy; exit 1 on leaks (or attempts with --fail-on attempts)");
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
  audit_cmd->add_option("--events", audit.events, "Write JSON-lines events here");
  audit_cmd->add_flag("--quiet,-q", audit.quiet, "Do not print the summary");
  audit_cmd->add_option("captures", audit.captures, "pcap/pcapng files; '-' reads standard input")
      ->required();

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
  return kExitUsage;
}

}  // namespace flightwall
