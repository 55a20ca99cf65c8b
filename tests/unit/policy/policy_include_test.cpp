// `- include:` resolution: relative paths, nesting, cycles, depth and
// count bounds, and errors located in the file that has them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "policy/policy_loader.h"
#include "policy_test_helpers.h"

// GCC 12 at -O3 reports a false -Wrestrict on `"text" + std::to_string(n)`
// (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace flightwall {
namespace {

namespace fs = std::filesystem;

const std::string kTiles = "  - name: tiles\n    hosts: [api.mapbox.com]\n";

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() /
            ("flightwall-policy-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(PolicyIncludeTest, ResolvesNestedIncludesRelativeToEachFile) {
  const PolicyLoadResult r = LoadText(PolicyText("  - include: tiles.yaml\n" + kTiles));
  ASSERT_TRUE(r.policy) << AllErrors(r);
  const Policy& p = *r.policy;
  ASSERT_EQ(p.allow.size(), 3u);
  EXPECT_EQ(p.allow[0].name, "fixture-tiles");
  EXPECT_EQ(p.allow[0].origin, kPolicyDataDir + "/tiles.yaml:4");
  EXPECT_EQ(p.allow[1].name, "fixture-more");
  EXPECT_EQ(p.allow[1].origin, kPolicyDataDir + "/nested/more.yaml:3");
  EXPECT_TRUE(p.allow[1].AllowsPort(8050));
  EXPECT_EQ(p.allow[2].name, "tiles");  // order is the order written
  EXPECT_EQ(p.included_files, (std::vector<std::string>{"test.yaml", kPolicyDataDir + "/tiles.yaml",
                                                        kPolicyDataDir + "/nested/more.yaml"}));
}

TEST(PolicyIncludeTest, CatalogIncludesKeepOrder) {
  const PolicyLoadResult r =
      LoadText(PolicyText(kTiles,
                          "catalog:\n  - name: first\n    category: x\n    hosts: [a.example]\n"
                          "  - include: labels.yaml\n"));
  ASSERT_TRUE(r.policy) << AllErrors(r);
  ASSERT_EQ(r.policy->catalog.size(), 3u);
  EXPECT_EQ(r.policy->catalog[0].name, "first");
  EXPECT_EQ(r.policy->catalog[1].name, "fixture-specific");
  EXPECT_EQ(r.policy->catalog[2].name, "fixture-catch-all");
}

TEST(PolicyIncludeTest, MissingIncludeSaysWhereItLooked) {
  const PolicyLoadResult r = LoadText(PolicyText("  - include: nope.yaml\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 9, 14,
                       {"include 'nope.yaml' not found (looked for " + kPolicyDataDir +
                        "/nope.yaml): check the path, relative to this file"}));
}

TEST(PolicyIncludeTest, CycleIsReportedWithTheChain) {
  const PolicyLoadResult r = LoadText(PolicyText("  - include: cycle_a.yaml\n"));
  const std::string a = kPolicyDataDir + "/cycle_a.yaml";
  const std::string b = kPolicyDataDir + "/cycle_b.yaml";
  EXPECT_TRUE(HasError(r, b, 4, 14, {"include cycle: " + a + " -> " + b + " -> " + a}));
  EXPECT_EQ(r.errors.size(), 1u) << AllErrors(r);
}

TEST(PolicyIncludeTest, TopLevelFileIncludingItselfIsACycle) {
  const std::string self = kPolicyDataDir + "/self_include.yaml";
  const PolicyLoadResult r = LoadPolicy(self);
  EXPECT_TRUE(HasError(r, self, 9, 14, {"include cycle: " + self + " -> " + self}));
}

TEST(PolicyIncludeTest, IncludeEntryTakesNoOtherKeys) {
  const PolicyLoadResult r = LoadText(PolicyText("  - include: tiles.yaml\n    name: x\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 10, 5, {"unknown key 'name' in an include entry"}));
}

TEST(PolicyIncludeTest, CatalogFileUnderAllowGetsAHint) {
  const PolicyLoadResult r = LoadText(PolicyText("  - include: labels.yaml\n"));
  EXPECT_TRUE(HasError(r, kPolicyDataDir + "/labels.yaml", 2, 1,
                       {"no 'allow:' list", "include it under 'catalog:'"}));
  EXPECT_TRUE(HasError(r, "test.yaml", 9, 14, {"included from here"}));
}

TEST(PolicyIncludeTest, ErrorsInsideIncludedFilesNameThatFile) {
  const PolicyLoadResult r =
      LoadText(PolicyText("  - include: bad_rule.yaml\n  - include: broken_syntax.yaml\n"));
  EXPECT_TRUE(HasError(r, kPolicyDataDir + "/bad_rule.yaml", 4, 5,
                       {"unknown key 'port'", "(did you mean 'ports'?)"}));
  EXPECT_TRUE(HasError(r, kPolicyDataDir + "/broken_syntax.yaml", 4, 1, {"YAML syntax error"}));
}

TEST(PolicyIncludeTest, DuplicateNamesAcrossFiles) {
  const PolicyLoadResult r = LoadText(
      PolicyText("  - name: fixture-tiles\n    hosts: [x.com]\n  - include: tiles.yaml\n"));
  EXPECT_TRUE(
      HasError(r, kPolicyDataDir + "/tiles.yaml", 4, 11,
               {"duplicate allow rule name 'fixture-tiles'", "first defined at test.yaml:9"}));
}

TEST(PolicyIncludeTest, DirectoryIsNotIncluded) {
  const PolicyLoadResult r = LoadText(PolicyText("  - include: nested\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 9, 14, {"include 'nested'", "is not a regular file"}));
}

TEST(PolicyIncludeTest, DeviceFilesAreRefusedNotRead) {
  const PolicyLoadResult r = LoadText(PolicyText("  - include: /dev/zero\n"));
  EXPECT_TRUE(HasError(r, "test.yaml", 9, 14, {"is not a regular file"}));
}

TEST(PolicyIncludeTest, DepthIsBounded) {
  ScratchDir dir;
  for (int i = 0; i < 20; ++i) {
    dir.Write("f" + std::to_string(i) + ".yaml",
              "allow:\n  - include: f" + std::to_string(i + 1) + ".yaml\n");
  }
  dir.Write("f20.yaml", "allow: []\n");
  const std::string top = dir.Write("top.yaml", PolicyText("  - include: f0.yaml\n"));
  const PolicyLoadResult r = LoadPolicy(top);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].file, dir.path() + "/f14.yaml");
  EXPECT_NE(r.errors[0].message.find("more than 16 files deep"), std::string::npos);
}

TEST(PolicyIncludeTest, TotalFilesReadIsBounded) {
  // Each file includes the next twice: 2^10 reads without a bound.
  ScratchDir dir;
  for (int i = 0; i < 10; ++i) {
    const std::string next = "g" + std::to_string(i + 1) + ".yaml";
    dir.Write("g" + std::to_string(i) + ".yaml",
              "allow:\n  - include: " + next + "\n  - include: " + next + "\n");
  }
  dir.Write("g10.yaml", "allow: []\n");
  const std::string top = dir.Write("top.yaml", PolicyText("  - include: g0.yaml\n"));
  const PolicyLoadResult r = LoadPolicy(top);
  ASSERT_FALSE(r.errors.empty());
  bool bounded = false;
  for (const PolicyError& e : r.errors) {
    bounded = bounded || e.message.find("more than 256 files") != std::string::npos;
  }
  EXPECT_TRUE(bounded) << AllErrors(r);
}

TEST(PolicyIncludeTest, OversizedIncludeIsRefused) {
  ScratchDir dir;
  dir.Write("big.yaml", "allow: []\n" + std::string(1 << 20, '#'));
  const std::string top = dir.Write("top.yaml", PolicyText("  - include: big.yaml\n"));
  EXPECT_TRUE(HasError(LoadPolicy(top), top, 9, 14, {"larger than 1 MiB"}));
}

TEST(PolicyIncludeTest, LoadPolicyResolvesAgainstTheFilesDirectory) {
  ScratchDir dir;
  fs::create_directories(dir.path() + "/sub");
  dir.Write("sub/extra.yaml", "allow:\n  - name: extra\n    hosts: [extra.example.com]\n");
  const std::string top = dir.Write("top.yaml", PolicyText("  - include: sub/extra.yaml\n"));
  const PolicyLoadResult r = LoadPolicy(top);
  ASSERT_TRUE(r.policy) << AllErrors(r);
  EXPECT_EQ(r.policy->path, top);
  EXPECT_EQ(r.policy->allow[0].origin, dir.path() + "/sub/extra.yaml:2");
  EXPECT_EQ(r.policy->sha256.size(), 64u);
}

}  // namespace
}  // namespace flightwall
