// --baseline: an earlier audit's JSON report, read as untrusted input, and
// what changed since it (new destinations, gone, more bytes), in every
// report format.
#include "sink/baseline.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "sink/audit_report.h"
#include "sink/report_writers.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::AllowedFlow;
using testing::DeniedFlow;
using testing::SinkTestPolicy;

std::string ReportJson(const AuditReport& r) {
  std::ostringstream out;
  WriteReportJson(r, out);
  return out.str();
}

TEST(BaselineTest, RefusesWhatIsNotAnAuditReportAndSaysWhatToGive) {
  Baseline b;
  std::string why;
  for (const char* text :
       {"", "{", "[]", "42", "{\"tool\": \"flightwall\"}",
        "{\"tool\": {\"name\": \"other\"}, \"destinations\": []}",
        "{\"tool\": {\"name\": \"flightwall\"}}",
        "{\"tool\": {\"name\": \"flightwall\"}, \"destinations\": {}}",
        "{\"tool\": {\"name\": \"flightwall\"}, \"destinations\": [1]}",
        "{\"tool\": {\"name\": \"flightwall\"}, \"destinations\": [{\"host\": 3}]}"}) {
    const Result<Baseline> parsed = ParseBaseline(text, "old.json");
    EXPECT_FALSE(parsed.ok()) << text;
    why = parsed.status().ToString();
    EXPECT_EQ(why.rfind("--baseline old.json: ", 0), 0u) << why;
  }
  // Wrong types in optional fields read as absent, never as garbage.
  Result<Baseline> parsed = ParseBaseline(
      R"({"tool": {"name": "flightwall"}, "verdict": 7,
          "destinations": [{"host": "a.example", "bytes_out": -5, "attempts": "x"}]})",
      "old.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  b = *parsed;
  ASSERT_EQ(b.destinations.size(), 1u);
  EXPECT_EQ(b.destinations[0].bytes_out, 0u);
  EXPECT_EQ(b.destinations[0].attempts, 0u);
  EXPECT_EQ(b.verdict, "");
  EXPECT_EQ(b.sha256.size(), 64u);
}

TEST(BaselineTest, ReadsBackTheReportItWroteAndFindsWhatChanged) {
  const Policy policy = SinkTestPolicy();
  AuditReport before(policy);
  before.OnFlow(AllowedFlow("tiles.example"), -1);
  before.OnFlow(DeniedFlow("old-sdk.example"), -1);
  Result<Baseline> parsed = ParseBaseline(ReportJson(before), "v1.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Baseline b = *parsed;
  ASSERT_EQ(b.destinations.size(), 2u);

  AuditReport after(policy);
  Flow tiles = AllowedFlow("tiles.example");
  tiles.to_server.payload_bytes += 5000;
  after.OnFlow(tiles, -1);
  Flow fresh = DeniedFlow("new-sdk.example");
  fresh.delivered_packet = 4;  // it got through
  after.OnFlow(fresh, 1);
  after.SetBaseline(CompareWithBaseline(b, after));

  const BaselineDiff* d = after.BaselineChanges();
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->added.size(), 1u);
  EXPECT_EQ(d->added[0].host, "new-sdk.example");
  EXPECT_EQ(d->added[0].leaks_after, 1u);
  ASSERT_EQ(d->removed.size(), 1u);
  EXPECT_EQ(d->removed[0].host, "old-sdk.example");
  ASSERT_EQ(d->more_bytes.size(), 1u);
  EXPECT_EQ(d->more_bytes[0].host, "tiles.example");
  EXPECT_LT(d->more_bytes[0].bytes_before, d->more_bytes[0].bytes_after);

  const std::string json = ReportJson(after);
  EXPECT_NE(json.find("\"baseline\": {\n    \"file\": \"v1.json\""), std::string::npos) << json;
  std::ostringstream junit;
  WriteReportJunit(after, junit);
  EXPECT_NE(
      junit.str().find("<testsuite name=\"changes since v1.json\" tests=\"3\" failures=\"1\""),
      std::string::npos)
      << junit.str();
  EXPECT_NE(junit.str().find("type=\"new-destination\""), std::string::npos);
  std::ostringstream summary;
  WriteBaselineSummary(*d, summary);
  EXPECT_NE(summary.str().find("NEW     new-sdk.example"), std::string::npos) << summary.str();
  EXPECT_NE(summary.str().find("GONE    old-sdk.example"), std::string::npos);

  // The same captures as the baseline: nothing changed.
  AuditReport same(policy);
  same.OnFlow(AllowedFlow("tiles.example"), -1);
  same.OnFlow(DeniedFlow("old-sdk.example"), -1);
  const BaselineDiff none = CompareWithBaseline(b, same);
  EXPECT_TRUE(none.added.empty() && none.removed.empty() && none.more_bytes.empty());
}

TEST(BaselineTest, ACampaignsReportIsComparedScenarioByScenario) {
  Result<Baseline> parsed = ParseBaseline(R"({"tool": {"name": "flightwall"}, "verdict": "clean",
      "scenarios": [
        {"name": "idle", "report": {"destinations": [{"host": "tiles.example"}]}},
        {"name": "flying", "report": {"destinations": [{"host": "tiles.example"},
                                                       {"host": "logs.vendor.example"}]}}]})",
                                          "v1.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Baseline b = *parsed;
  ASSERT_NE(b.For("idle"), nullptr);
  EXPECT_EQ(b.For("idle")->size(), 1u);
  EXPECT_EQ(b.For("flying")->size(), 2u);
  EXPECT_EQ(b.For("mapping"), nullptr) << "no such scenario then: not compared";
  parsed =
      ParseBaseline(R"({"tool": {"name": "flightwall"}, "scenarios": [{"name": "x"}]})", "v1.json");
  EXPECT_FALSE(parsed.ok());
  const std::string why = parsed.status().ToString();
  EXPECT_NE(why.find("no \"name\" or no \"report\""), std::string::npos) << why;
  // A single audit's report is every scenario's baseline.
  parsed = ParseBaseline(R"({"tool": {"name": "flightwall"}, "destinations": []})", "v1.json");
  ASSERT_TRUE(parsed.ok());
  b = *parsed;
  EXPECT_EQ(b.For("anything"), &b.destinations);
}

}  // namespace
}  // namespace flightwall
