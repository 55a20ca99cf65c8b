#include "sink/event_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "sink/log_verifier.h"
#include "sink_test_helpers.h"

// GCC 12 at -O3 reports a false -Wrestrict on `"text" + std::to_string(n)`
// (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace flightwall {
namespace {

using testing::DeniedFlow;
using testing::DnsQuestion;
using testing::SinkTestPolicy;
using testing::SplitLines;

// Fails the lines whose numbers (1-based calls) are in `fail`, writes the rest.
class FlakyWriter : public LineWriter {
 public:
  explicit FlakyWriter(std::vector<int> fail) : fail_(std::move(fail)) {}
  bool WriteLine(std::string_view line) override {
    ++calls_;
    for (int f : fail_) {
      if (f == calls_) return false;
    }
    text_.append(line);
    text_.push_back('\n');
    return true;
  }
  const std::string& Text() const { return text_; }

 private:
  std::vector<int> fail_;
  int calls_ = 0;
  std::string text_;
};

TEST(EventLogTest, FlowEndTimingLogsOnFlowOnly) {
  const Policy policy = SinkTestPolicy();
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventLog log(policy, writer);
  log.OnDecision(DeniedFlow("a.example"), 0);
  EXPECT_EQ(out.str(), "");
  log.OnFlow(DeniedFlow("a.example"), 0);
  const auto lines = SplitLines(out.str());
  ASSERT_EQ(lines.size(), 1u);
  const auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["seq"], 1);
  EXPECT_EQ(j["prev"], "");
  EXPECT_EQ(j["event"], "flow");
  EXPECT_EQ(j["app"], "pilot");
  EXPECT_EQ(j["category"], "flight-logs");
  EXPECT_EQ(j["hostname"], "a.example");
  EXPECT_EQ(j["verdict"], "deny");
  EXPECT_FALSE(j.contains("lost_before"));
}

TEST(EventLogTest, DecisionTimingLogsOnDecisionOnly) {
  const Policy policy = SinkTestPolicy();
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventLog log(policy, writer, EventLog::Timing::kAtDecision);
  log.OnFlow(DeniedFlow("a.example"), 0);
  EXPECT_EQ(out.str(), "");
  log.OnDecision(DeniedFlow("a.example"), 1);
  log.OnDns(DnsQuestion("b.example", Verdict::kDeny), -1);
  const auto lines = SplitLines(out.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["category"], "analytics");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["event"], "dns");
  EXPECT_EQ(log.Lines(), 2u);
}

TEST(EventLogTest, DaemonLinesSayWhatWasDoneAndAuditModeOnlyWouldDrop) {
  Policy policy = SinkTestPolicy();
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventLog enforce(policy, writer, EventLog::Timing::kAtDecision);
  enforce.OnDecision(DeniedFlow("a.example"), 1);
  EXPECT_EQ(nlohmann::json::parse(out.str())["action"], "dropped");
  policy.mode = PolicyMode::kAudit;
  std::ostringstream audit_out;
  OstreamLineWriter audit_writer(audit_out);
  EventLog audit(policy, audit_writer, EventLog::Timing::kAtDecision);
  audit.OnDecision(DeniedFlow("a.example"), 1);
  const auto j = nlohmann::json::parse(audit_out.str());
  EXPECT_EQ(j["verdict"], "deny");
  EXPECT_EQ(j["action"], "would-drop");
}

TEST(EventLogTest, KeyOrderAndHashMatchTheDocumentedDefinition) {
  const Policy policy = SinkTestPolicy();
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventLog log(policy, writer);
  log.OnFlow(DeniedFlow("a.example"), 0);
  log.OnFlow(DeniedFlow("b.example"), -1);
  const auto lines = SplitLines(out.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("{\"seq\":1,\"prev\":\"\",\"chain\":\"sha256\",\"time\":", 0), 0u)
      << lines[0];
  // Recompute as an outsider: remove "hash", re-serialize, hash prev + "\n" + body.
  std::string prev;
  for (const std::string& line : lines) {
    auto j = nlohmann::ordered_json::parse(line);
    const std::string hash = j["hash"];
    j.erase("hash");
    EXPECT_EQ(j["prev"], prev);
    EXPECT_EQ(EventChainHash(prev, j.dump()), hash);
    prev = hash;
  }
}

TEST(EventLogTest, LostLinesAreRecordedInTheNextWrittenLine) {
  const Policy policy = SinkTestPolicy();
  FlakyWriter writer({2, 3, 5});
  EventLog log(policy, writer);
  for (int i = 0; i < 6; ++i) log.OnFlow(DeniedFlow("h" + std::to_string(i) + ".example"), 0);
  EXPECT_EQ(log.Lost(), 3u);
  EXPECT_EQ(log.Lines(), 6u);
  const auto lines = SplitLines(writer.Text());
  ASSERT_EQ(lines.size(), 3u);
  const auto l1 = nlohmann::json::parse(lines[0]);
  const auto l2 = nlohmann::json::parse(lines[1]);
  const auto l3 = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(l2["seq"], 4);
  EXPECT_EQ(l2["lost_before"], 2);
  EXPECT_EQ(l2["prev"], l1["hash"]);  // the chain skips what is not on disk
  EXPECT_EQ(l3["seq"], 6);
  EXPECT_EQ(l3["lost_before"], 1);
  EXPECT_EQ(l3["prev"], l2["hash"]);
  // lost_before comes right after prev, before the event's own fields.
  const auto ordered = nlohmann::ordered_json::parse(lines[1]);
  auto key = ordered.begin();
  std::advance(key, 2);
  EXPECT_EQ(key.key(), "lost_before");
  const LogVerifyResult r = VerifyLogBytes(writer.Text());
  EXPECT_EQ(r.chain, LogVerifyResult::ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lost_events, 3u);
  ASSERT_EQ(r.gaps.size(), 2u);
  EXPECT_EQ(r.gaps[0].first_seq, 2u);
  EXPECT_EQ(r.gaps[0].count, 2u);
  EXPECT_EQ(r.gaps[1].line, 3u);
}

TEST(EventLogTest, ContinuesFromAStartPosition) {
  const Policy policy = SinkTestPolicy();
  std::ostringstream first_out;
  OstreamLineWriter first_writer(first_out);
  EventLog first(policy, first_writer);
  first.OnFlow(DeniedFlow("a.example"), 0);
  std::ostringstream second_out;
  OstreamLineWriter second_writer(second_out);
  EventLog second(policy, second_writer, EventLog::Timing::kAtFlowEnd, true,
                  first.Chain().Position());
  second.OnFlow(DeniedFlow("b.example"), 0);
  const auto j = nlohmann::json::parse(second_out.str());
  EXPECT_EQ(j["seq"], 2);
  EXPECT_EQ(j["prev"], nlohmann::json::parse(first_out.str())["hash"]);
  EXPECT_EQ(VerifyLogBytes(first_out.str() + second_out.str()).chain,
            LogVerifyResult::ChainState::kIntact);
}

TEST(EventLogTest, OverLongFieldsAreShortenedSoTheLineStillVerifies) {
  // Found by the fuzz replay: a 94 KB field made a line the verifier refuses.
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventChain chain(writer);
  nlohmann::ordered_json fields;
  fields["event"] = "flow";
  fields["hostname"] = std::string(100 * 1024, 'x');
  ASSERT_TRUE(chain.Append(fields));
  const std::string text = out.str();
  EXPECT_LE(text.size(), kMaxEventLineBytes + 1);
  EXPECT_TRUE(nlohmann::json::parse(text)["truncated"].get<bool>());
  EXPECT_EQ(VerifyLogBytes(text).chain, LogVerifyResult::ChainState::kIntact);
}

TEST(EventLogTest, SharedChainStaysIntactUnderConcurrentWriters) {
  const Policy policy = SinkTestPolicy();
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventChain chain(writer);
  EventLog a(policy, chain, EventLog::Timing::kAtDecision);
  EventLog b(policy, chain, EventLog::Timing::kAtDecision);
  std::thread ta([&] {
    for (int i = 0; i < 200; ++i) a.OnDecision(DeniedFlow("a.example", i), 0);
  });
  std::thread tb([&] {
    for (int i = 0; i < 200; ++i) b.OnDns(DnsQuestion("b.example", Verdict::kAllow), -1);
  });
  ta.join();
  tb.join();
  const LogVerifyResult r = VerifyLogBytes(out.str());
  EXPECT_EQ(r.chain, LogVerifyResult::ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 400u);
}

TEST(EventLogTest, NotGovernedTrafficIsSkippedUnlessAsked) {
  const Policy policy = SinkTestPolicy();
  Flow f = DeniedFlow("a.example");
  f.app = -1;
  f.verdict = Verdict::kNotGoverned;
  std::ostringstream out;
  OstreamLineWriter writer(out);
  EventLog governed(policy, writer);
  governed.OnFlow(f, -1);
  EXPECT_EQ(out.str(), "");
  EventLog everything(policy, writer, EventLog::Timing::kAtFlowEnd, false);
  everything.OnFlow(f, -1);
  EXPECT_EQ(nlohmann::json::parse(out.str())["app"], "");
}

}  // namespace
}  // namespace flightwall
