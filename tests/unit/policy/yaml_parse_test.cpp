// The pre-scan that keeps deeply nested input away from yaml-cpp's
// recursive parser.
#include <gtest/gtest.h>

#include "policy/yaml_helpers.h"
#include "policy_test_helpers.h"

namespace flightwall {
namespace {

TEST(YamlNestingTest, OrdinaryPoliciesPass) {
  EXPECT_EQ(FindExcessiveNesting(PolicyText()), 0);
  EXPECT_EQ(FindExcessiveNesting(""), 0);
  EXPECT_EQ(FindExcessiveNesting("source: \"see [1] and [2\"\nnote: DJI's [page\n"), 0);
  EXPECT_EQ(
      FindExcessiveNesting("# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"),
      0);
}

TEST(YamlNestingTest, FlowNestingPastTheLimitIsFound) {
  // The top-level block counts as one level.
  EXPECT_EQ(FindExcessiveNesting(std::string(63, '[')), 0);
  EXPECT_EQ(FindExcessiveNesting(std::string(64, '[')), 1);
  EXPECT_EQ(FindExcessiveNesting("a: 1\nb: " + std::string(65, '{')), 2);
  std::string multi_line = "a:\n";
  for (int i = 0; i < 70; ++i) multi_line += "  [\n";
  EXPECT_EQ(FindExcessiveNesting(multi_line), 2 + 62);
}

TEST(YamlNestingTest, BlockNestingPastTheLimitIsFound) {
  std::string dashes;
  for (int i = 0; i < 70; ++i) dashes += "- ";
  EXPECT_EQ(FindExcessiveNesting(dashes + "x\n"), 1);
  std::string indented;
  for (int i = 0; i < 70; ++i) indented += std::string(i, ' ') + "k:\n";
  EXPECT_EQ(FindExcessiveNesting(indented), 65);
}

TEST(YamlNestingTest, LoaderRefusesDeepInputWithALocatedError) {
  const PolicyLoadResult r = LoadText("version: 1\nname: " + std::string(100000, '['));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("nested more than 64 levels"), std::string::npos);
}

TEST(YamlNestingTest, HostileBracketSoupFailsCleanly) {
  // Quotes, closers and openers mixed so the pre-scan's estimate and the
  // real nesting differ; whatever gets past the pre-scan, yaml-cpp's own
  // depth guard must end the parse with an error, never a crash.
  std::string text = "a: ";
  for (int i = 0; i < 3000; ++i) text += "[x\"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\", {a:\"]]]]\" ";
  const PolicyLoadResult r = LoadText(text);
  EXPECT_FALSE(r.policy);
  EXPECT_FALSE(r.errors.empty());
}

}  // namespace
}  // namespace flightwall
