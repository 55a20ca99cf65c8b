// EventLogFile after a failed write: the descriptor is let go, lines are
// lost (counted, recorded in the chain) while the retry backoff runs, and
// writing resumes by itself once the disk takes lines again.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "sink/event_log_file.h"
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

// Descriptors of this process open on `path`.
int OpenDescriptorsOn(const std::string& path) {
  const auto target = std::filesystem::canonical(path);
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto link = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && link == target) ++n;
  }
  return n;
}

// While alive, writes past `bytes` fail with EFBIG (like a full disk).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(std::uintmax_t bytes) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &ignore, &old_action_);
    getrlimit(RLIMIT_FSIZE, &old_limit_);
    rlimit small = old_limit_;
    small.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &small) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_limit_);
    sigaction(SIGXFSZ, &old_action_, nullptr);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool Ok() const { return ok_; }

 private:
  struct sigaction old_action_ {};
  rlimit old_limit_{};
  bool ok_ = false;
};

TEST(EventLogFileRecoveryTest, FailingFileLetsGoRetriesWithBackoffAndRecovers) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  auto opened = EventLogFile::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto file = std::move(opened).value();
  file->SetRetryBackoff(std::chrono::milliseconds(50), std::chrono::milliseconds(100));
  const Policy policy = SinkTestPolicy();
  EventLog log(policy, *file, EventLog::Timing::kAtDecision);
  log.OnDecision(DeniedFlow("a.example", 1), 0);
  EXPECT_EQ(OpenDescriptorsOn(path), 1);
  {
    FileSizeLimit full(std::filesystem::file_size(path));
    ASSERT_TRUE(full.Ok());
    for (int i = 0; i < 5; ++i) log.OnDecision(DeniedFlow("b.example", 10 + i), 0);
  }
  EXPECT_TRUE(file->Failing());
  EXPECT_EQ(file->Failures(), 1u);  // one transition, however many lines
  EXPECT_EQ(file->Recoveries(), 0u);
  EXPECT_EQ(file->Lost(), 5u);
  EXPECT_EQ(file->LastErrno(), EFBIG);
  // Nothing holds the file while it fails (a full disk's space can be
  // freed, a file system remounted read-only).
  EXPECT_EQ(OpenDescriptorsOn(path), 0);
  // Within the backoff a line is lost without trying the disk, even though
  // the disk would take it now.
  log.OnDecision(DeniedFlow("c.example", 20), 0);
  EXPECT_EQ(file->Lost(), 6u);
  EXPECT_TRUE(file->Failing());
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  log.OnDecision(DeniedFlow("d.example", 30), 0);
  EXPECT_FALSE(file->Failing());
  EXPECT_EQ(file->Recoveries(), 1u);
  EXPECT_EQ(file->Lost(), 6u);
  EXPECT_EQ(file->Written(), 2u);
  EXPECT_EQ(OpenDescriptorsOn(path), 1);
  const auto lines = SplitLines(ReadWholeFile(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["lost_before"], 6);
  const LogVerifyResult r = VerifyLogFiles({path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lost_events, 6u);
}

TEST(EventLogFileRecoveryTest, ReopenedPathAfterFailureIsUsedAtOnce) {
  TempDir dir;
  const std::string path = dir.Path("events.jsonl");
  auto opened = EventLogFile::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto file = std::move(opened).value();
  file->SetRetryBackoff(std::chrono::seconds(60), std::chrono::seconds(60));
  const Policy policy = SinkTestPolicy();
  EventLog log(policy, *file, EventLog::Timing::kAtDecision);
  log.OnDecision(DeniedFlow("a.example", 1), 0);
  {
    FileSizeLimit full(std::filesystem::file_size(path));
    ASSERT_TRUE(full.Ok());
    log.OnDecision(DeniedFlow("b.example", 2), 0);
    log.OnDecision(DeniedFlow("b.example", 3), 0);  // retried at once, fails: 60 s backoff
  }
  EXPECT_TRUE(file->Failing());
  // The operator rotates the log (SIGUSR1): the new descriptor is tried
  // without waiting for the backoff.
  ASSERT_EQ(std::rename(path.c_str(), dir.Path("events.jsonl.1").c_str()), 0);
  const auto reopened = file->Reopen();
  ASSERT_TRUE(reopened.ok()) << reopened.ToString();
  log.OnDecision(DeniedFlow("c.example", 4), 0);
  EXPECT_FALSE(file->Failing());
  EXPECT_EQ(file->Lost(), 2u);
  const LogVerifyResult r = VerifyLogFiles({dir.Path("events.jsonl.1"), path});
  EXPECT_EQ(r.chain, ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lost_events, 2u);
}

}  // namespace
}  // namespace flightwall
