#include "service/status_report.h"

#include <gtest/gtest.h>

namespace flightwall {
namespace {

StatusSnapshot Healthy() {
  StatusSnapshot s;
  s.pid = 42;
  s.version = "1.2.3";
  s.config_path = "/etc/flightwall/flightwall.yaml";
  s.policy_name = "field-ops";
  s.policy_sha256 = std::string(64, 'a');
  s.policy_mode = "enforce";
  s.intercept_mode = "forward";
  s.backend = "iptables";
  s.started_at = 1'000'000'000'000'000;
  s.now = s.started_at + 3'725'000'000;  // 1 h 2 min 5 s later
  s.queues = {QueueStatus{.queue = 0, .received = 10, .verdicts = 10}};
  s.workers = 1;
  s.event_log_enabled = true;
  s.event_log_path = "/var/log/flightwall/events.jsonl";
  s.event_lines_written = 7;
  s.chain_seq = 7;
  s.chain_head = std::string(64, 'b');
  s.malformed_dropped = 3;  // dropped, fail closed: counted, not a degradation
  s.segments_refused = 2;
  return s;
}

TEST(StatusReportTest, HealthyDaemonIsOk) {
  const StatusSnapshot s = Healthy();
  EXPECT_TRUE(Assess(s).empty());
  const auto j = StatusJson(s);
  EXPECT_EQ(j["running"], true);
  EXPECT_EQ(j["state"], "ok");
  EXPECT_TRUE(j["degraded"].empty());
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["policy"]["name"], "field-ops");
  EXPECT_EQ(j["policy"]["sha256"], std::string(64, 'a'));
  EXPECT_EQ(j["policy"]["mode"], "enforce");
  EXPECT_EQ(j["intercept"]["on_failure"], "closed");
  EXPECT_EQ(j["uptime_seconds"], 3725);
  ASSERT_EQ(j["queues"].size(), 1u);
  EXPECT_EQ(j["queues"][0]["queue"], 0);
  EXPECT_EQ(j["queues"][0]["drops"], 0);
  EXPECT_EQ(j["event_log"]["lines_written"], 7);
  EXPECT_EQ(j["event_log"]["chain_seq"], 7);
  EXPECT_EQ(j["reload"]["last"], "none");
  EXPECT_EQ(j["reload"]["last_at"], "");
  EXPECT_EQ(j["packets"]["malformed_dropped"], 3);
  EXPECT_EQ(j["packets"]["segments_refused"], 2);
  EXPECT_TRUE(j["last_denials"].empty());
}

TEST(StatusReportTest, EachDegradationIsNamed) {
  struct Case {
    const char* what;
    void (*spoil)(StatusSnapshot*);
    const char* mentions;
  };
  const Case cases[] = {
      {"stalled worker", [](StatusSnapshot* s) { s->stalled_workers = 1; }, "not turned"},
      {"events lost", [](StatusSnapshot* s) { s->events_lost = 3; }, "3 event(s) not logged"},
      {"kernel queue full", [](StatusSnapshot* s) { s->queues[0].kernel_dropped = 2; },
       "queue 0 dropped 2"},
      {"socket full", [](StatusSnapshot* s) { s->queues[0].user_dropped = 1; },
       "queue 0 dropped 1"},
      {"overrun", [](StatusSnapshot* s) { s->queues[0].enobufs = 5; }, "queue 0 dropped 5"},
      {"failed reload", [](StatusSnapshot* s) { s->last_reload = "failed"; }, "reload failed"},
      {"audit mode", [](StatusSnapshot* s) { s->policy_mode = "audit"; }, "audit"},
  };
  for (const Case& c : cases) {
    StatusSnapshot s = Healthy();
    c.spoil(&s);
    const auto why = Assess(s);
    ASSERT_EQ(why.size(), 1u) << c.what;
    EXPECT_NE(why[0].find(c.mentions), std::string::npos) << c.what << ": " << why[0];
    const auto j = StatusJson(s);
    EXPECT_EQ(j["state"], "degraded") << c.what;
    EXPECT_EQ(j["degraded"][0], why[0]) << c.what;
  }
}

TEST(StatusReportTest, ASuccessfulReloadAndLockdownAreNotDegraded) {
  StatusSnapshot s = Healthy();
  s.last_reload = "ok";
  s.last_reload_at = s.now;
  s.reloads_failed = 2;  // earlier failures, since fixed
  s.policy_mode = "lockdown";
  EXPECT_TRUE(Assess(s).empty());
  const auto j = StatusJson(s);
  EXPECT_EQ(j["reload"]["last"], "ok");
  EXPECT_EQ(j["reload"]["failed"], 2);
  EXPECT_NE(j["reload"]["last_at"], "");
}

TEST(StatusReportTest, DenialsAreNewestFirst) {
  StatusSnapshot s = Healthy();
  for (int i = 0; i < 3; ++i) {
    Denial d;
    d.time = s.started_at + i;
    d.event = "flow";
    d.app = "tablet";
    d.protocol = "tcp";
    d.dst = "198.51.100.20";
    d.dport = 443;
    d.hostname = "host" + std::to_string(i) + ".example";
    d.reason = "not-allowed";
    d.action = "dropped";
    s.last_denials.push_back(d);
  }
  s.denials_total = 12;
  const auto j = StatusJson(s);
  ASSERT_EQ(j["last_denials"].size(), 3u);
  EXPECT_EQ(j["last_denials"][0]["hostname"], "host2.example");
  EXPECT_EQ(j["last_denials"][2]["hostname"], "host0.example");
  EXPECT_EQ(j["last_denials"][0]["dst"], "198.51.100.20");
  EXPECT_EQ(j["last_denials"][0]["dport"], 443);
  EXPECT_EQ(j["denials_total"], 12);
}

TEST(StatusReportTest, BoardAnswersStatusOnlyAndSurvivesBadUtf8) {
  StatusBoard board;
  StatusSnapshot s = Healthy();
  Denial d;
  d.hostname = std::string("bad\xff\xfename", 9);
  s.last_denials.push_back(d);
  board.Publish(s);
  const auto reply = nlohmann::json::parse(board.Answer("status"));
  EXPECT_EQ(reply["state"], "ok");
  EXPECT_EQ(reply["policy"]["name"], "field-ops");
  const auto error = nlohmann::json::parse(board.Answer("shutdown"));
  EXPECT_NE(error["error"].get<std::string>().find("send status"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
