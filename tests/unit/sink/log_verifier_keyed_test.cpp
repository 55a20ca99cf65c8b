// The keyed event chain ("chain":"hmac-sha256") through the verifier: it
// verifies only with its key, says so when the key is missing, and a chain
// recomputed by someone without the key (edited, downgraded to sha256, or
// rewritten from scratch) does not pass.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "sink/event_log.h"
#include "sink/log_verifier.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::ChainLog;
using testing::CleanLog;
using testing::JoinLines;
using testing::SplitLines;
using ChainState = LogVerifyResult::ChainState;

const std::vector<std::uint8_t> kKey(32, 0x5a);
const std::vector<std::uint8_t> kOtherKey(32, 0xa5);

LogVerifyOptions WithKey(const std::vector<std::uint8_t>& key) {
  LogVerifyOptions o;
  o.key = key;
  return o;
}

// What someone without the key can do: recompute a line's hash with SHA-256.
std::string RehashUnkeyed(nlohmann::ordered_json j, const std::string& prev) {
  j.erase("hash");
  j["prev"] = prev;
  j["hash"] = EventChainHash(prev, j.dump());
  return j.dump();
}

TEST(LogVerifierKeyedTest, EveryLineRecordsItsChainMode) {
  for (const auto& line : SplitLines(ChainLog(3, kKey))) {
    EXPECT_EQ(nlohmann::json::parse(line)["chain"], "hmac-sha256") << line;
  }
  for (const auto& line : SplitLines(CleanLog(3))) {
    EXPECT_EQ(nlohmann::json::parse(line)["chain"], "sha256") << line;
  }
  EXPECT_EQ(
      SplitLines(ChainLog(1, kKey))[0].rfind(R"({"seq":1,"prev":"","chain":"hmac-sha256",)", 0),
      0u);
}

TEST(LogVerifierKeyedTest, KeyedLinesCarryTheHmacOfPrevAndBody) {
  const auto lines = SplitLines(ChainLog(2, kKey));
  ChainLine first;
  ChainLine second;
  ASSERT_EQ(ParseChainLine(lines[0], &first), "");
  ASSERT_EQ(ParseChainLine(lines[1], &second), "");
  EXPECT_EQ(first.mode, ChainMode::kHmacSha256);
  HmacSha256Hasher h(kKey);
  h.Update(first.hash + "\n" + second.body);
  EXPECT_EQ(second.hash, h.FinalHex());
  EXPECT_NE(second.hash, EventChainHash(first.hash, second.body));
}

TEST(LogVerifierKeyedTest, VerifiesWithItsKeyAndSaysWhatThatProves) {
  const LogVerifyResult r = VerifyLogBytes(ChainLog(5, kKey), "events.jsonl", WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.keyed_lines, 5u);
  EXPECT_EQ(r.first_keyed_seq, 1u);
  const std::string text = FormatLogVerifyResult(r);
  EXPECT_EQ(text.rfind("OK: 5 lines, chain intact (seq 1-5)\n", 0), 0u) << text;
  EXPECT_NE(text.find("mode: hmac-sha256, verified with the key"), std::string::npos) << text;
  EXPECT_NE(text.find("cut off the end would not show (give --expect-seq)"), std::string::npos)
      << text;
}

TEST(LogVerifierKeyedTest, WithoutTheKeyItCannotVerifyAndNeverSaysOk) {
  const LogVerifyResult r = VerifyLogBytes(ChainLog(5, kKey), "events.jsonl");
  EXPECT_EQ(r.chain, ChainState::kUnverifiable);
  EXPECT_EQ(r.line, 1u);
  EXPECT_EQ(r.lines, 0u);
  const std::string text = FormatLogVerifyResult(r);
  EXPECT_EQ(text.rfind("CANNOT VERIFY: events.jsonl line 1: this line is HMAC-keyed", 0), 0u)
      << text;
  EXPECT_NE(text.find("--key-file"), std::string::npos) << text;
  EXPECT_EQ(text.find("OK"), std::string::npos) << text;
}

TEST(LogVerifierKeyedTest, AnotherKeyBreaksAtTheFirstKeyedLine) {
  const LogVerifyResult r = VerifyLogBytes(ChainLog(5, kKey), "e", WithKey(kOtherKey));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 1u);
  EXPECT_NE(r.problem.find("another key"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("events.hmac_key_file"), std::string::npos) << r.problem;
}

TEST(LogVerifierKeyedTest, AnEditRehashedWithoutTheKeyIsCaught) {
  auto lines = SplitLines(ChainLog(5, kKey));
  auto j = nlohmann::ordered_json::parse(lines[2]);
  j["verdict"] = "allow";
  const std::string prev = j["prev"];
  lines[2] = RehashUnkeyed(j, prev);  // still says hmac-sha256, hash is SHA-256
  const LogVerifyResult r = VerifyLogBytes(JoinLines(lines), "e", WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.problem.rfind("edited", 0), 0u) << r.problem;
}

TEST(LogVerifierKeyedTest, ADowngradeToSha256AfterKeyedLinesIsCaught) {
  // Lines 3-5 re-chained as unkeyed by someone without the key.
  auto lines = SplitLines(ChainLog(5, kKey));
  std::string prev = nlohmann::json::parse(lines[1])["hash"];
  for (std::size_t i = 2; i < lines.size(); ++i) {
    auto j = nlohmann::ordered_json::parse(lines[i]);
    j["chain"] = "sha256";
    lines[i] = RehashUnkeyed(j, prev);
    prev = nlohmann::json::parse(lines[i])["hash"];
  }
  const LogVerifyResult r = VerifyLogBytes(JoinLines(lines), "e", WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.problem.rfind("not keyed", 0), 0u) << r.problem;
  // Without the key the verifier stops at line 1: it cannot vouch for any of it.
  EXPECT_EQ(VerifyLogBytes(JoinLines(lines)).chain, ChainState::kUnverifiable);
}

TEST(LogVerifierKeyedTest, AWholeRewriteWithAFreshUnkeyedChainFailsWithTheKey) {
  const std::string forged = CleanLog(5);
  EXPECT_EQ(VerifyLogBytes(forged).chain, ChainState::kIntact);  // consistent on its own
  const LogVerifyResult r = VerifyLogBytes(forged, "events.jsonl", WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 0u);
  EXPECT_EQ(r.problem.rfind("not keyed: no line carries an HMAC", 0), 0u) << r.problem;
  EXPECT_EQ(FormatLogVerifyResult(r).rfind("BROKEN: events.jsonl: not keyed", 0), 0u);
}

TEST(LogVerifierKeyedTest, AnUnkeyedHistoryBeforeTheKeyWasSetIsBoundByTheKeyedLines) {
  const std::string unkeyed = ChainLog(2, {});
  const auto last = nlohmann::json::parse(SplitLines(unkeyed)[1]);
  const std::string log =
      unkeyed + ChainLog(3, kKey, ChainPosition{2, last["hash"].get<std::string>(), 0},
                         2);  // a restart with the key
  LogVerifyResult r = VerifyLogBytes(log, "e", WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.keyed_lines, 3u);
  EXPECT_EQ(r.first_keyed_seq, 3u);
  EXPECT_NE(FormatLogVerifyResult(r).find("from seq 3 (seq 1-2 were written unkeyed"),
            std::string::npos)
      << FormatLogVerifyResult(r);
  // Without the key: the unkeyed part verifies, the rest cannot be.
  r = VerifyLogBytes(log, "e");
  EXPECT_EQ(r.chain, ChainState::kUnverifiable);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.lines, 2u);
  // Editing the unkeyed history breaks the keyed line that links to it.
  auto lines = SplitLines(log);
  auto j = nlohmann::ordered_json::parse(lines[1]);
  j["hostname"] = "harmless.example";
  lines[1] = RehashUnkeyed(j, j["prev"]);
  r = VerifyLogBytes(JoinLines(lines), "e", WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kBroken);
  EXPECT_EQ(r.line, 3u);
}

TEST(LogVerifierKeyedTest, RotatedKeyedFilesVerifyAsOneChain) {
  testing::TempDir dir;
  const auto lines = SplitLines(ChainLog(5, kKey));
  testing::WriteWholeFile(dir.Path("old"), JoinLines({lines[0], lines[1], lines[2]}));
  testing::WriteWholeFile(dir.Path("new"), JoinLines({lines[3], lines[4]}));
  LogVerifyResult r = VerifyLogFiles({dir.Path("old"), dir.Path("new")}, WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.keyed_lines, 5u);
  r = VerifyLogFiles({dir.Path("new")}, WithKey(kKey));
  EXPECT_EQ(r.chain, ChainState::kIntact);
  EXPECT_TRUE(r.continues_earlier);
}

TEST(LogVerifierKeyedTest, AnUnknownChainModeIsNotAnEventLine) {
  auto lines = SplitLines(CleanLog(2));
  auto j = nlohmann::ordered_json::parse(lines[1]);
  j["chain"] = "md5";
  lines[1] = RehashUnkeyed(j, j["prev"]);
  ChainLine c;
  EXPECT_NE(ParseChainLine(lines[1], &c).find("\"chain\" is neither"), std::string::npos);
  EXPECT_EQ(VerifyLogBytes(JoinLines(lines)).chain, ChainState::kBroken);
}

TEST(LogVerifierKeyedTest, LinesWithoutAChainMemberAreUnkeyed) {
  // Logs written before the member existed.
  auto lines = SplitLines(CleanLog(3));
  std::string prev;
  for (auto& line : lines) {
    auto j = nlohmann::ordered_json::parse(line);
    j.erase("chain");
    line = RehashUnkeyed(j, prev);
    prev = nlohmann::json::parse(line)["hash"];
  }
  const LogVerifyResult r = VerifyLogBytes(JoinLines(lines));
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_NE(FormatLogVerifyResult(r).find("mode: sha256 (unkeyed)"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
