#include "sink/event_log_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "sink/log_verifier.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::DeniedFlow;
using testing::ReadWholeFile;
using testing::SinkTestPolicy;
using testing::SplitLines;
using testing::TempDir;
using ChainState = LogVerifyResult::ChainState;

std::unique_ptr<EventLogFile> MustOpen(const std::string& path) {
  auto opened = EventLogFile::Open(path);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

// Writes `n` flows through an EventLog continuing the file's chain.
void WriteEvents(EventLogFile& file, int n, int first = 0) {
  const Policy policy = SinkTestPolicy();
  EventLog log(policy, file, EventLog::Timing::kAtDecision, true, file.ResumePosition());
  for (int i = first; i < first + n; ++i) log.OnDecision(DeniedFlow("h.example", i), 0);
}

TEST(EventLogFileTest, CreatesTheFileWithRestrictedMode) {
  TempDir dir;
  const mode_t old_umask = umask(022);
  auto file = MustOpen(dir.Path("events.jsonl"));
  umask(old_umask);
  struct stat st {};
  ASSERT_EQ(stat(dir.Path("events.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(file->ResumePosition().seq, 0u);
  EXPECT_TRUE(file->ResumeNote().empty());
}

TEST(EventLogFileTest, ExplainsWhyItCannotOpen) {
  TempDir dir;
  const auto opened = EventLogFile::Open(dir.Path("no/such/dir/events.jsonl"));
  EXPECT_FALSE(opened.ok());
  const std::string error = opened.status().ToString();
  EXPECT_NE(error.find("no/such/dir/events.jsonl"), std::string::npos) << error;
  EXPECT_NE(error.find("create its directory"), std::string::npos) << error;
}

TEST(EventLogFileTest, ChainContinuesAcrossRestart) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  {
    auto file = MustOpen(path);
    WriteEvents(*file, 3);
    EXPECT_EQ(file->Written(), 3u);
  }
  auto file = MustOpen(path);
  EXPECT_EQ(file->ResumePosition().seq, 3u);
  EXPECT_EQ(file->ResumePosition().hash,
            nlohmann::json::parse(SplitLines(ReadWholeFile(path))[2])["hash"]);
  WriteEvents(*file, 2);
  const LogVerifyResult r = VerifyLogFiles({path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.last_seq, 5u);
}

TEST(EventLogFileTest, ChainContinuesAcrossRotationAndReopen) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  auto file = MustOpen(path);
  const Policy policy = SinkTestPolicy();
  EventLog log(policy, *file, EventLog::Timing::kAtDecision);
  log.OnDecision(DeniedFlow("a.example"), 0);
  log.OnDecision(DeniedFlow("b.example"), 0);
  ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
  log.OnDecision(DeniedFlow("c.example"), 0);  // still the rotated file until Reopen
  const auto reopened = file->Reopen();
  ASSERT_TRUE(reopened.ok()) << reopened.ToString();
  log.OnDecision(DeniedFlow("d.example"), 0);
  EXPECT_EQ(SplitLines(ReadWholeFile(path + ".1")).size(), 3u);
  EXPECT_EQ(SplitLines(ReadWholeFile(path)).size(), 1u);
  LogVerifyResult r = VerifyLogFiles({path + ".1", path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 4u);
  r = VerifyLogFiles({path});
  EXPECT_EQ(r.chain, ChainState::kIntact);
  EXPECT_TRUE(r.continues_earlier);
}

TEST(EventLogFileTest, HeadIsTheLastLineOnDiskAcrossRestartAndRotation) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  {
    auto file = MustOpen(path);
    EXPECT_EQ(file->Head().seq, 0u);
    EXPECT_EQ(file->Head().hash, "");
    WriteEvents(*file, 3);
    const auto last = nlohmann::json::parse(SplitLines(ReadWholeFile(path))[2]);
    EXPECT_EQ(file->Head().seq, 3u);
    EXPECT_EQ(file->Head().hash, last["hash"]);
  }
  auto file = MustOpen(path);  // a restart: the head is read from the tail
  EXPECT_EQ(file->Head().seq, 3u);
  EXPECT_EQ(file->Head().hash, file->ResumePosition().hash);
  ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
  const auto reopened = file->Reopen();
  ASSERT_TRUE(reopened.ok()) << reopened.ToString();
  EXPECT_EQ(file->Head().seq, 3u);  // what the rotated file ends with
  WriteEvents(*file, 1);
  EXPECT_EQ(file->Head().seq, 4u);
  EXPECT_EQ(file->Head().hash, nlohmann::json::parse(ReadWholeFile(path))["hash"]);
  // The head verifies the rotated and the new file against what was published.
  LogVerifyOptions expect;
  expect.expect_seq = 4;
  expect.expect_head = file->Head().hash;
  const LogVerifyResult r = VerifyLogFiles({path + ".1", path}, expect);
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
}

TEST(EventLogFileTest, HeadSkipsALineLostAtTheEnd) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  {
    auto file = MustOpen(path);
    WriteEvents(*file, 2);
  }
  {
    std::FILE* f = std::fopen(path.c_str(), "a");
    std::fputs("{\"seq\":3,\"prev\":\"0123", f);  // a crash mid-write
    std::fclose(f);
  }
  auto file = MustOpen(path);
  EXPECT_EQ(file->Head().seq, 2u);
  EXPECT_EQ(file->Head().hash, nlohmann::json::parse(SplitLines(ReadWholeFile(path))[1])["hash"]);
  // A line that is not an event line (a foreign writer) leaves the head alone.
  EXPECT_TRUE(file->WriteLine("not an event"));
  EXPECT_EQ(file->Head().seq, 2u);
}

TEST(EventLogFileTest, FailedReopenKeepsWritingToTheOldFile) {
  TempDir dir;
  const std::string sub = dir.Path("sub");
  std::filesystem::create_directory(sub);
  const std::string path = sub + "/events.jsonl";
  auto file = MustOpen(path);
  ASSERT_EQ(std::rename(sub.c_str(), dir.Path("moved").c_str()), 0);
  const auto reopened = file->Reopen();
  EXPECT_FALSE(reopened.ok());
  const std::string error = reopened.ToString();
  EXPECT_NE(error.find(path), std::string::npos) << error;
  WriteEvents(*file, 2);
  EXPECT_EQ(file->Lost(), 0u);
  EXPECT_EQ(SplitLines(ReadWholeFile(dir.Path("moved/events.jsonl"))).size(), 2u);
}

TEST(EventLogFileTest, FullDiskCountsLostLinesAndNeverThrows) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full is not writable here";
  auto file = MustOpen("/dev/full");
  const Policy policy = SinkTestPolicy();
  EventLog log(policy, *file, EventLog::Timing::kAtDecision, true, file->ResumePosition());
  for (int i = 0; i < 3; ++i) EXPECT_NO_THROW(log.OnDecision(DeniedFlow("a.example", i), 0));
  EXPECT_EQ(file->Lost(), 3u);
  EXPECT_EQ(file->Written(), 0u);
  EXPECT_EQ(file->LastErrno(), ENOSPC);
  EXPECT_EQ(log.Lost(), 3u);
  EXPECT_EQ(log.Chain().Position().unrecorded_lost, 3u);
  EXPECT_EQ(log.Chain().Position().seq, 3u);
}

TEST(EventLogFileTest, PartialWriteIsCutBackAndTheLossRecorded) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  auto file = MustOpen(path);
  const Policy policy = SinkTestPolicy();
  EventLog log(policy, *file, EventLog::Timing::kAtDecision);
  log.OnDecision(DeniedFlow("a.example"), 0);
  const auto size_before = std::filesystem::file_size(path);
  // A file size limit makes the next write stop part-way, like a disk
  // filling up mid-line (EFBIG instead of ENOSPC).
  struct sigaction ignore {};
  struct sigaction old_action {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &old_action);
  rlimit old_limit{};
  getrlimit(RLIMIT_FSIZE, &old_limit);
  rlimit small = old_limit;
  small.rlim_cur = size_before + 40;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  log.OnDecision(DeniedFlow("b.example"), 0);
  setrlimit(RLIMIT_FSIZE, &old_limit);
  sigaction(SIGXFSZ, &old_action, nullptr);
  EXPECT_EQ(file->Lost(), 1u);
  EXPECT_EQ(file->LastErrno(), EFBIG);
  EXPECT_EQ(std::filesystem::file_size(path), size_before);  // no fragment left
  log.OnDecision(DeniedFlow("c.example"), 0);
  const auto lines = SplitLines(ReadWholeFile(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["lost_before"], 1);
  const LogVerifyResult r = VerifyLogFiles({path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lost_events, 1u);
  ASSERT_EQ(r.gaps.size(), 1u);
  EXPECT_EQ(r.gaps[0].first_seq, 2u);
}

TEST(EventLogFileTest, RestartAfterACutLastLineRecordsItAsLost) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  {
    auto file = MustOpen(path);
    WriteEvents(*file, 3);
  }
  {
    std::FILE* f = std::fopen(path.c_str(), "a");
    std::fputs("{\"seq\":4,\"prev\":\"0123", f);  // a crash mid-write
    std::fclose(f);
  }
  EXPECT_EQ(VerifyLogFiles({path}).chain, ChainState::kBroken);  // truncated until restart
  auto file = MustOpen(path);
  EXPECT_EQ(file->ResumePosition().seq, 4u);  // used by the cut line
  EXPECT_EQ(file->ResumePosition().unrecorded_lost, 1u);
  WriteEvents(*file, 2);
  const auto lines = SplitLines(ReadWholeFile(path));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[3], "{\"seq\":4,\"prev\":\"0123");
  const LogVerifyResult r = VerifyLogFiles({path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.lost_events, 1u);
  EXPECT_EQ(r.last_seq, 6u);
}

TEST(EventLogFileTest, RestartAfterACutFirstLine) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  testing::WriteWholeFile(path, "{\"seq\":1,\"pr");
  auto file = MustOpen(path);
  EXPECT_EQ(file->ResumePosition().seq, 1u);
  EXPECT_EQ(file->ResumePosition().unrecorded_lost, 1u);
  WriteEvents(*file, 1);
  const LogVerifyResult r = VerifyLogFiles({path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 1u);
  EXPECT_EQ(r.lost_events, 1u);
}

TEST(EventLogFileTest, RestartAfterACompleteLineWithoutNewline) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  {
    auto file = MustOpen(path);
    WriteEvents(*file, 2);
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
  auto file = MustOpen(path);
  EXPECT_EQ(file->ResumePosition().seq, 2u);
  EXPECT_EQ(file->ResumePosition().unrecorded_lost, 0u);
  WriteEvents(*file, 1);
  const LogVerifyResult r = VerifyLogFiles({path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 3u);
}

TEST(EventLogFileTest, RestartAfterAForeignLastLineSaysTheChainRestarts) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  testing::WriteWholeFile(path, "hello\n");
  auto file = MustOpen(path);
  EXPECT_EQ(file->ResumePosition().seq, 0u);
  EXPECT_NE(file->ResumeNote().find("not an event line"), std::string::npos) << file->ResumeNote();
}

TEST(EventLogFileTest, ConcurrentWritersAndReopensKeepEveryFileWhole) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  auto file = MustOpen(path);
  const Policy policy = SinkTestPolicy();
  EventChain chain(*file);
  EventLog a(policy, chain, EventLog::Timing::kAtDecision);
  EventLog b(policy, chain, EventLog::Timing::kAtDecision);
  constexpr int kPerThread = 300;
  std::thread ta([&] {
    for (int i = 0; i < kPerThread; ++i) a.OnDecision(DeniedFlow("a.example", i), 0);
  });
  std::thread tb([&] {
    for (int i = 0; i < kPerThread; ++i) b.OnDecision(DeniedFlow("b.example", i), 1);
  });
  std::vector<std::string> files;
  for (int r = 1; r <= 3; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::string rotated = path + "." + std::to_string(r);
    ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
    const auto reopened = file->Reopen();
    ASSERT_TRUE(reopened.ok()) << reopened.ToString();
    files.push_back(rotated);
  }
  ta.join();
  tb.join();
  files.push_back(path);
  const LogVerifyResult r = VerifyLogFiles(files);
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lines, 2u * kPerThread);
  EXPECT_EQ(file->Lost(), 0u);
}

}  // namespace
}  // namespace flightwall
