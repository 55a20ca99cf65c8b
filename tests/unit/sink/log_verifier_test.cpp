#include "sink/log_verifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sink/event_log.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::CleanLog;
using testing::SplitLines;
using ChainState = LogVerifyResult::ChainState;

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::string Rehash(const std::string& line) {
  auto j = nlohmann::ordered_json::parse(line);
  j.erase("hash");
  j["hash"] = EventChainHash(j["prev"].get<std::string>(), j.dump());
  return j.dump();
}

TEST(LogVerifierTest, AcceptsACleanLog) {
  const LogVerifyResult r = VerifyLogBytes(CleanLog(5));
  EXPECT_EQ(r.chain, ChainState::kIntact);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.first_seq, 1u);
  EXPECT_EQ(r.last_seq, 5u);
  EXPECT_FALSE(r.continues_earlier);
  const std::string text = FormatLogVerifyResult(r);
  EXPECT_EQ(text.rfind("OK: 5 lines, chain intact (seq 1-5)\nmode: sha256 (unkeyed): ", 0), 0u)
      << text;
  // What an unkeyed chain alone cannot show is said, with what would show it.
  EXPECT_NE(text.find("lines cut off the end, or the whole log rewritten"), std::string::npos);
  EXPECT_NE(text.find("--expect-seq, --expect-head"), std::string::npos);
}

TEST(LogVerifierTest, NeverCallsAnEmptyLogIntact) {
  // A log cut to nothing looks like one nothing was written to: neither is
  // evidence of anything, so neither verifies OK.
  const LogVerifyResult r = VerifyLogBytes("", "events.jsonl");
  EXPECT_EQ(r.chain, ChainState::kUnverifiable);
  EXPECT_EQ(r.lines, 0u);
  EXPECT_NE(r.problem.find("--expect-seq"), std::string::npos) << r.problem;
  const std::string text = FormatLogVerifyResult(r);
  EXPECT_EQ(text.rfind("CANNOT VERIFY: events.jsonl", 0), 0u) << text;
}

TEST(LogVerifierTest, DetectsAnEditedLine) {
  auto lines = SplitLines(CleanLog(5));
  const auto at = lines[2].find("host2.example");
  ASSERT_NE(at, std::string::npos);
  lines[2].replace(at, 5, "HOST2");
  const LogVerifyResult r = VerifyLogBytes(Join(lines), "events.jsonl");
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.problem.rfind("edited", 0), 0u) << r.problem;
  EXPECT_EQ(r.lines, 2u);
  EXPECT_NE(FormatLogVerifyResult(r).find("BROKEN: events.jsonl line 3: edited"),
            std::string::npos);
}

TEST(LogVerifierTest, DetectsAnEditedLineWhoseOwnHashWasRecomputed) {
  auto lines = SplitLines(CleanLog(5));
  auto j = nlohmann::ordered_json::parse(lines[2]);
  j["verdict"] = "allow";
  lines[2] = Rehash(j.dump());
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 4u);  // the next line no longer follows it
  EXPECT_NE(r.problem.find("prev"), std::string::npos) << r.problem;
}

TEST(LogVerifierTest, DetectsADeletedLine) {
  auto lines = SplitLines(CleanLog(5));
  lines.erase(lines.begin() + 2);
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.problem.rfind("deleted: seq 3 missing", 0), 0u) << r.problem;
}

TEST(LogVerifierTest, DetectsSeveralDeletedLinesAndNamesTheRange) {
  auto lines = SplitLines(CleanLog(6));
  lines.erase(lines.begin() + 1, lines.begin() + 4);
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 2u);
  EXPECT_EQ(r.problem.rfind("deleted: seq 2-4 missing", 0), 0u) << r.problem;
}

TEST(LogVerifierTest, ReportsADeletedFirstLineAsContinuingAnEarlierLog) {
  // A single file cannot tell a deleted head from a rotated log; the result
  // says the chain does not start here.
  auto lines = SplitLines(CleanLog(3));
  lines.erase(lines.begin());
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kIntact);
  EXPECT_TRUE(r.continues_earlier);
  EXPECT_NE(FormatLogVerifyResult(r).find("continues an earlier log"), std::string::npos);
}

TEST(LogVerifierTest, AFragmentBeforeAContinuingFirstLineIsNotExcused) {
  // Line 2 records one lost line, but line 1 is not lost: it was garbled.
  // With no link to check at the head of a file, that must not pass.
  std::string text;
  {
    struct FailFirst : LineWriter {
      int calls = 0;
      std::string out;
      bool WriteLine(std::string_view line) override {
        if (++calls == 1) return false;
        out.append(line).push_back('\n');
        return true;
      }
    } writer;
    EventChain chain(writer);
    for (int i = 0; i < 2; ++i) chain.Append({{"event", "flow"}});
    writer.calls = 0;
    for (int i = 0; i < 2; ++i) chain.Append({{"event", "flow"}});
    text = writer.out;
  }
  auto lines = SplitLines(text);
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_NE(lines[1].find("\"lost_before\":1"), std::string::npos);
  ASSERT_EQ(VerifyLogBytes(Join(lines)).chain, ChainState::kIntact);
  lines[0][16] = 'c';  // {"seq":2,"prev":c...
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 1u);
}

TEST(LogVerifierTest, AFragmentExplainedByLostBeforeIsAccepted) {
  std::string text;
  {
    struct FailSecond : LineWriter {
      int calls = 0;
      std::string out;
      bool WriteLine(std::string_view line) override {
        if (++calls == 2) {
          out.append(line.substr(0, 20)).push_back('\n');  // a cut line, then terminated
          return false;
        }
        out.append(line).push_back('\n');
        return true;
      }
    } writer;
    EventChain chain(writer);
    for (int i = 0; i < 3; ++i) chain.Append({{"event", "flow"}});
    text = writer.out;
  }
  LogVerifyResult r = VerifyLogBytes(text);
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 2u);
  EXPECT_EQ(r.lost_events, 1u);
  // Two fragments for one recorded loss: one is unexplained.
  auto parts = SplitLines(text);
  parts.insert(parts.begin() + 1, "garbage");
  r = VerifyLogBytes(Join(parts));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 2u);
}

TEST(LogVerifierTest, DetectsAReorderedPair) {
  auto lines = SplitLines(CleanLog(5));
  std::swap(lines[1], lines[2]);
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 2u);
  EXPECT_EQ(r.problem.rfind("reordered", 0), 0u) << r.problem;
}

TEST(LogVerifierTest, DetectsADuplicatedLine) {
  auto lines = SplitLines(CleanLog(4));
  lines.insert(lines.begin() + 2, lines[1]);
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 3u);
  EXPECT_NE(r.problem.find("duplicated"), std::string::npos) << r.problem;
}

TEST(LogVerifierTest, DetectsATruncatedLastLine) {
  std::string log = CleanLog(4);
  log.resize(log.size() - 30);  // an interrupted write: no closing brace, no newline
  const LogVerifyResult r = VerifyLogBytes(log);
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 4u);
  EXPECT_EQ(r.problem.rfind("truncated", 0), 0u) << r.problem;
  EXPECT_EQ(r.lines, 3u);
}

TEST(LogVerifierTest, AcceptsACompleteLastLineWithoutNewline) {
  std::string log = CleanLog(3);
  log.pop_back();
  const LogVerifyResult r = VerifyLogBytes(log);
  EXPECT_EQ(r.chain, ChainState::kIntact);
  EXPECT_EQ(r.lines, 3u);
  EXPECT_EQ(r.notes.size(), 1u);
}

TEST(LogVerifierTest, DetectsNonEventLines) {
  for (const std::string bad :
       {"", "not json", "{\"seq\":2}", "[1,2]", "{\"seq\":-1,\"prev\":\"\",\"hash\":\"00\"}"}) {
    auto lines = SplitLines(CleanLog(3));
    lines.insert(lines.begin() + 1, bad);
    const LogVerifyResult r = VerifyLogBytes(Join(lines));
    EXPECT_EQ(r.chain, ChainState::kBroken) << bad;
    EXPECT_EQ(r.line, 2u) << bad;
    EXPECT_EQ(r.problem.rfind("not an event line", 0), 0u) << r.problem;
  }
}

TEST(LogVerifierTest, DetectsAHashThatIsNotTheLastMember) {
  auto lines = SplitLines(CleanLog(2));
  auto j = nlohmann::ordered_json::parse(lines[1]);
  const std::string hash = j["hash"];
  j.erase("hash");
  nlohmann::ordered_json moved;
  moved["hash"] = hash;
  for (auto& [k, v] : j.items()) moved[k] = v;
  lines[1] = moved.dump();
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_NE(r.problem.find("last member"), std::string::npos) << r.problem;
}

TEST(LogVerifierTest, DetectsARestartedChain) {
  const auto a = SplitLines(CleanLog(3));
  const auto b = SplitLines(CleanLog(2));
  const LogVerifyResult r = VerifyLogBytes(Join({a[0], a[1], a[2], b[0], b[1]}));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 4u);
  EXPECT_NE(r.problem.find("new chain"), std::string::npos) << r.problem;
}

TEST(LogVerifierTest, ForgedLostBeforeThatDoesNotMatchTheSeqStepIsAnEdit) {
  auto lines = SplitLines(CleanLog(3));
  auto j = nlohmann::ordered_json::parse(lines[1]);
  nlohmann::ordered_json forged;
  forged["seq"] = j["seq"];
  forged["prev"] = j["prev"];
  forged["lost_before"] = 4;
  for (auto& [k, v] : j.items()) {
    if (k != "seq" && k != "prev") forged[k] = v;
  }
  lines[1] = Rehash(forged.dump());
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 2u);
  EXPECT_NE(r.problem.find("lost_before 4"), std::string::npos) << r.problem;
}

TEST(LogVerifierTest, RejectsOverlongLines) {
  auto lines = SplitLines(CleanLog(2));
  lines.insert(lines.begin() + 1, std::string(kMaxEventLineBytes + 10, 'x'));
  const LogVerifyResult r = VerifyLogBytes(Join(lines));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_NE(r.problem.find("64 KiB"), std::string::npos);
}

TEST(LogVerifierTest, VerifiesRotatedFilesAsOneChain) {
  testing::TempDir dir;
  const auto lines = SplitLines(CleanLog(5));
  testing::WriteWholeFile(dir.Path("old"), Join({lines[0], lines[1], lines[2]}));
  testing::WriteWholeFile(dir.Path("new"), Join({lines[3], lines[4]}));
  LogVerifyResult r = VerifyLogFiles({dir.Path("old"), dir.Path("new")});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_FALSE(r.continues_earlier);
  r = VerifyLogFiles({dir.Path("new")});
  EXPECT_EQ(r.chain, ChainState::kIntact);
  EXPECT_TRUE(r.continues_earlier);
  r = VerifyLogFiles({dir.Path("new"), dir.Path("old")});
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.file, dir.Path("old"));
  EXPECT_EQ(r.line, 1u);
}

TEST(LogVerifierTest, ReportsUnreadableInput) {
  testing::TempDir dir;
  LogVerifyResult r = VerifyLogFiles({dir.Path("missing")});
  EXPECT_EQ(r.chain, ChainState::kUnreadable);
  EXPECT_NE(FormatLogVerifyResult(r).find("No such file"), std::string::npos);
  r = VerifyLogFiles({dir.Path("")});  // the directory itself
  EXPECT_EQ(r.chain, ChainState::kUnreadable);
}

TEST(LogVerifierTest, FileAndBytesVerificationAgree) {
  testing::TempDir dir;
  std::string log = CleanLog(4);
  log.resize(log.size() - 10);
  testing::WriteWholeFile(dir.Path("e"), log);
  const LogVerifyResult a = VerifyLogFiles({dir.Path("e")});
  const LogVerifyResult b = VerifyLogBytes(log, dir.Path("e"));
  EXPECT_EQ(a.chain, ChainState::kBroken);
  EXPECT_EQ(FormatLogVerifyResult(a), FormatLogVerifyResult(b));
}

}  // namespace
}  // namespace flightwall
