#include "firewall/command_runner.h"

#include <gtest/gtest.h>

#include <chrono>

namespace flightwall {
namespace {

TEST(CommandRunnerTest, FeedsStdinAndCapturesStdout) {
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"cat"}, "hello\nworld\n");
  EXPECT_TRUE(r.Ok()) << r.Describe("cat");
  EXPECT_EQ(r.out, "hello\nworld\n");
  EXPECT_EQ(r.err, "");
}

TEST(CommandRunnerTest, LargeInputAndOutputDoNotDeadlock) {
  // Bigger than a pipe buffer in both directions at once.
  std::string big(600 * 1024, 'x');
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"cat"}, big);
  ASSERT_TRUE(r.Ok()) << r.Describe("cat");
  EXPECT_EQ(r.out.size(), big.size());
}

TEST(CommandRunnerTest, ReportsExitCodeAndStderr) {
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"sh", "-c", "echo oops >&2; exit 3"}, "");
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.Ok());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.Describe("sh"), "sh: exit 3: oops");
}

TEST(CommandRunnerTest, DescribeIsOneLineWithoutNftMarkers) {
  CommandResult r;
  r.started = true;
  r.exit_code = 1;
  r.err = "/dev/stdin:3:3-12: Error: Could not process rule\n\t\tqueue to 0\n\t\t^^^^^^^^^^\n";
  EXPECT_EQ(r.Describe("nft -f -"),
            "nft -f -: exit 1: /dev/stdin:3:3-12: Error: Could not "
            "process rule queue to 0");
  r.err.clear();
  r.out = "only stdout\n";
  EXPECT_EQ(r.Describe("x"), "x: exit 1: only stdout");
}

TEST(CommandRunnerTest, UsesNoShellForArguments) {
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"echo", "$HOME;", "`id`", "a b"}, "");
  ASSERT_TRUE(r.Ok());
  EXPECT_EQ(r.out, "$HOME; `id` a b\n");
}

TEST(CommandRunnerTest, RunsChildrenInTheCLocale) {
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"sh", "-c", "echo $LC_ALL"}, "");
  EXPECT_EQ(r.out, "C\n");
}

TEST(CommandRunnerTest, MissingProgramIsNotStarted) {
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"flightwall-no-such-program"}, "input");
  EXPECT_FALSE(r.started);
  EXPECT_FALSE(r.Ok());
  EXPECT_NE(r.failure.find("No such file or directory"), std::string::npos) << r.failure;
  EXPECT_NE(r.Describe("x").find("cannot run flightwall-no-such-program"), std::string::npos);
  EXPECT_FALSE(runner->Run({}, "").started);
}

TEST(CommandRunnerTest, ChildIgnoringStdinDoesNotRaiseSigpipe) {
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"true"}, std::string(1 << 20, 'y'));
  EXPECT_TRUE(r.Ok()) << r.Describe("true");
}

TEST(CommandRunnerTest, KillsAChildThatOutlivesTheTimeout) {
  auto runner = MakeSystemCommandRunner(std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = runner->Run({"sleep", "10"}, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(r.Ok());
  EXPECT_NE(r.failure.find("timed out"), std::string::npos) << r.failure;
}

TEST(CommandRunnerTest, ChildSeesNoInheritedDescriptors) {
  auto runner = MakeSystemCommandRunner();
  CommandResult r = runner->Run({"sh", "-c", "ls /proc/self/fd | wc -l"}, "");
  ASSERT_TRUE(r.Ok());
  // 0, 1, 2 and the one ls opens to list the directory.
  EXPECT_EQ(r.out, "4\n");
}

}  // namespace
}  // namespace flightwall
