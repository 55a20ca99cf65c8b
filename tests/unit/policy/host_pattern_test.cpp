#include "policy/host_pattern.h"

#include <gtest/gtest.h>

#include <string>

#include "unit/status_matchers.h"

namespace flightwall {
namespace {

std::string WhyRejected(std::string_view text) {
  const Result<HostPattern> parsed = HostPattern::Parse(text);
  EXPECT_FALSE(parsed.ok()) << text;
  return parsed.status().message();
}

TEST(HostPatternTest, ExactNameMatchesOnlyItselfIgnoringCaseAndTrailingDot) {
  auto p = HostPattern::Parse("API.Mapbox.com.");
  ASSERT_TRUE(IsOk(p));
  EXPECT_FALSE(p->IsWildcard());
  EXPECT_EQ(p->Text(), "api.mapbox.com");
  EXPECT_TRUE(p->Matches("api.mapbox.com"));
  EXPECT_TRUE(p->Matches("API.MAPBOX.COM."));
  EXPECT_FALSE(p->Matches("x.api.mapbox.com"));
  EXPECT_FALSE(p->Matches("api.mapbox.co"));
  EXPECT_FALSE(p->Matches("api.mapbox.com.."));
  EXPECT_FALSE(p->Matches(""));
}

TEST(HostPatternTest, WildcardMatchesSubdomainsOnly) {
  auto p = HostPattern::Parse("*.Tiles.mapbox.com");
  ASSERT_TRUE(IsOk(p));
  EXPECT_TRUE(p->IsWildcard());
  EXPECT_EQ(p->Text(), "*.tiles.mapbox.com");
  EXPECT_TRUE(p->Matches("a.tiles.mapbox.com"));
  EXPECT_TRUE(p->Matches("x.y.TILES.mapbox.com."));
  EXPECT_FALSE(p->Matches("tiles.mapbox.com"));
  EXPECT_FALSE(p->Matches(".tiles.mapbox.com"));
  EXPECT_FALSE(p->Matches("eviltiles.mapbox.com"));
  EXPECT_FALSE(p->Matches("a.tiles.mapbox.com.evil.example"));
}

TEST(HostPatternTest, AcceptsDigitsHyphensAndUnderscores) {
  EXPECT_TRUE(IsOk(HostPattern::Parse("webrd01.is.autonavi.com")));
  EXPECT_TRUE(IsOk(HostPattern::Parse("_dmarc.example-1.com")));
  EXPECT_TRUE(IsOk(HostPattern::Parse("localhost")));
}

TEST(HostPatternTest, RejectsMalformedPatternsWithReasons) {
  EXPECT_NE(WhyRejected("").find("empty"), std::string::npos);
  EXPECT_NE(WhyRejected(".").find("empty"), std::string::npos);
  EXPECT_NE(WhyRejected("*").find("every host"), std::string::npos);
  EXPECT_NE(WhyRejected("*.").find("every host"), std::string::npos);
  EXPECT_NE(WhyRejected("*..").find("nothing follows"), std::string::npos);
  EXPECT_NE(WhyRejected("a.*.b").find("first label"), std::string::npos);
  EXPECT_NE(WhyRejected("*a.example.com").find("first label"), std::string::npos);
  EXPECT_NE(WhyRejected("*.*.example.com").find("first label"), std::string::npos);
  EXPECT_NE(WhyRejected("a..b").find("empty label"), std::string::npos);
  EXPECT_NE(WhyRejected(".a.b").find("empty label"), std::string::npos);
  EXPECT_NE(WhyRejected("a.b..").find("empty label"), std::string::npos);
  EXPECT_NE(WhyRejected("exa mple.com").find("letters, digits"), std::string::npos);
  EXPECT_NE(WhyRejected("example.com/path").find("letters, digits"), std::string::npos);
  EXPECT_NE(WhyRejected("https://example.com").find("letters, digits"), std::string::npos);
  EXPECT_NE(WhyRejected(std::string("a\0b", 3)).find("letters, digits"), std::string::npos);
  EXPECT_NE(WhyRejected("*.com").find("top-level"), std::string::npos);
}

TEST(HostPatternTest, EnforcesLabelAndNameLengthLimits) {
  const std::string label63(63, 'a');
  EXPECT_TRUE(IsOk(HostPattern::Parse(label63 + ".com")));
  EXPECT_NE(WhyRejected(std::string(64, 'a') + ".com").find("63"), std::string::npos);
  std::string name;
  while (name.size() < 250) name += "abcdefgh.";
  name += "com";  // 255 bytes
  EXPECT_NE(WhyRejected(name).find("253"), std::string::npos);
  std::string fits = name.substr(name.size() - 253);
  fits[0] = 'x';
  EXPECT_TRUE(IsOk(HostPattern::Parse(fits))) << fits;
}

TEST(HostPatternTest, AWildcardInsideIsRejected) { EXPECT_FALSE(HostPattern::Parse("a.*.b").ok()); }

}  // namespace
}  // namespace flightwall
