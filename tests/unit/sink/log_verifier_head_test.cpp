// The verifier against a head published outside the log (--expect-seq,
// --expect-head): what a chain cannot show by itself, lines cut off the end
// and a log rewritten with a fresh consistent chain, fails there.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sink/event_log.h"
#include "sink/log_verifier.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::ChainLog;
using testing::JoinLines;
using testing::SplitLines;
using ChainState = LogVerifyResult::ChainState;

const std::vector<std::uint8_t> kKey(32, 0x5a);

std::string HashOf(const std::string& line) { return nlohmann::json::parse(line)["hash"]; }

LogVerifyOptions Expect(std::uint64_t seq, std::string head = "") {
  LogVerifyOptions o;
  o.expect_seq = seq;
  o.expect_head = std::move(head);
  return o;
}

TEST(LogVerifierHeadTest, TruncationPassesAloneAndFailsAgainstThePublishedSeq) {
  auto lines = SplitLines(ChainLog(8, {}));
  lines.resize(5);
  const std::string cut = JoinLines(lines);
  EXPECT_EQ(VerifyLogBytes(cut).chain, ChainState::kIntact);  // why a head is needed
  const LogVerifyResult r = VerifyLogBytes(cut, "events.jsonl", Expect(8));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 0u);
  EXPECT_EQ(r.problem.rfind("truncated: the published head is seq 8 (--expect-seq), but the "
                            "chain ends at seq 5",
                            0),
            0u)
      << r.problem;
  EXPECT_EQ(FormatLogVerifyResult(r).rfind("BROKEN: events.jsonl: truncated", 0), 0u);
}

TEST(LogVerifierHeadTest, AnEmptiedLogIsTruncated) {
  const LogVerifyResult r = VerifyLogBytes("", "events.jsonl", Expect(3));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_NE(r.problem.find("the log is empty"), std::string::npos) << r.problem;
}

TEST(LogVerifierHeadTest, ReachingThePublishedSeqIsReported) {
  const std::string log = ChainLog(8, {});
  LogVerifyResult r = VerifyLogBytes(log, "e", Expect(8));
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.expect_seq, 8u);
  std::string text = FormatLogVerifyResult(r);
  EXPECT_NE(text.find("head: the chain reaches the published seq 8"), std::string::npos) << text;
  EXPECT_NE(text.find("add --expect-head"), std::string::npos) << text;
  r = VerifyLogBytes(log, "e", Expect(6));
  text = FormatLogVerifyResult(r);
  EXPECT_NE(text.find("seq 7-8 came after that head"), std::string::npos) << text;
}

TEST(LogVerifierHeadTest, AFullRewriteWithAFreshUnkeyedChainFailsAgainstThePublishedHead) {
  const auto original = SplitLines(ChainLog(5, {}));
  const std::string head = HashOf(original[4]);
  // The forger rewrites the log from scratch (other events, one more line):
  // a consistent chain that reaches seq 5 and beyond.
  const std::string forged = ChainLog(6, {}, {}, 100);
  EXPECT_EQ(VerifyLogBytes(forged, "e", Expect(5)).chain, ChainState::kIntact);
  const LogVerifyResult r = VerifyLogBytes(forged, "events.jsonl", Expect(5, head));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 5u);
  EXPECT_EQ(r.problem.rfind("rewritten: seq 5 has hash " + HashOf(SplitLines(forged)[4]), 0), 0u)
      << r.problem;
  EXPECT_NE(r.problem.find("published head (--expect-head) is " + head), std::string::npos)
      << r.problem;
  // The original passes, and says what that proves.
  const LogVerifyResult ok = VerifyLogBytes(JoinLines(original), "e", Expect(5, head));
  EXPECT_EQ(ok.chain, ChainState::kIntact) << FormatLogVerifyResult(ok);
  EXPECT_NE(FormatLogVerifyResult(ok).find("neither cut short before it nor rewritten up to it"),
            std::string::npos);
}

TEST(LogVerifierHeadTest, AMetricsLabelPrefixIsComparedAndCalledWeaker) {
  const auto lines = SplitLines(ChainLog(4, {}));
  const std::string prefix = HashOf(lines[3]).substr(0, 8);
  const LogVerifyResult r = VerifyLogBytes(JoinLines(lines), "e", Expect(4, prefix));
  EXPECT_EQ(r.chain, ChainState::kIntact);
  EXPECT_NE(FormatLogVerifyResult(r).find("only 8 hex digits compared"), std::string::npos);
  std::string wrong = prefix;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_EQ(VerifyLogBytes(JoinLines(lines), "e", Expect(4, wrong)).chain, ChainState::kBroken);
}

TEST(LogVerifierHeadTest, AHeadBeforeTheFirstFileGivenCannotBeChecked) {
  const auto lines = SplitLines(ChainLog(5, {}));
  const LogVerifyResult r =
      VerifyLogBytes(JoinLines({lines[3], lines[4]}), "events.jsonl", Expect(2, HashOf(lines[1])));
  EXPECT_EQ(r.chain, ChainState::kUnverifiable);
  EXPECT_NE(r.problem.find("give the older rotated files too"), std::string::npos) << r.problem;
  EXPECT_EQ(FormatLogVerifyResult(r).rfind("CANNOT VERIFY: events.jsonl: ", 0), 0u);
}

TEST(LogVerifierHeadTest, AHeadOnALostSeqMeansAnotherLog) {
  std::string text;
  {
    struct FailThird : LineWriter {
      int calls = 0;
      std::string out;
      bool WriteLine(std::string_view line) override {
        if (++calls == 3) return false;
        out.append(line).push_back('\n');
        return true;
      }
    } writer;
    EventChain chain(writer);
    for (int i = 0; i < 4; ++i) chain.Append({{"event", "flow"}});
    text = writer.out;
  }
  ASSERT_EQ(VerifyLogBytes(text, "e", Expect(3)).chain, ChainState::kIntact);  // seq reached
  const LogVerifyResult r = VerifyLogBytes(text, "e", Expect(3, std::string(64, 'a')));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_NE(r.problem.find("no line has that seq"), std::string::npos) << r.problem;
}

TEST(LogVerifierHeadTest, KeyAndHeadTogetherOverRotatedFiles) {
  testing::TempDir dir;
  const auto lines = SplitLines(ChainLog(6, kKey));
  testing::WriteWholeFile(dir.Path("events.jsonl.1"), JoinLines({lines[0], lines[1], lines[2]}));
  testing::WriteWholeFile(dir.Path("events.jsonl"), JoinLines({lines[3], lines[4], lines[5]}));
  LogVerifyOptions o = Expect(3, HashOf(lines[2]));  // published at the rotation
  o.key = kKey;
  const std::vector<std::string> files = {dir.Path("events.jsonl.1"), dir.Path("events.jsonl")};
  LogVerifyResult r = VerifyLogFiles(files, o);
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  // The rotated file cut short after the rotation head was published.
  testing::WriteWholeFile(dir.Path("events.jsonl.1"), JoinLines({lines[0], lines[1]}));
  r = VerifyLogFiles({dir.Path("events.jsonl.1")}, o);
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.problem.rfind("truncated", 0), 0u) << r.problem;
}

}  // namespace
}  // namespace flightwall
