// Campaigns: scenarios audited on their own, one verdict over all of them,
// and the destinations x scenarios matrix in every format.
#include "sink/campaign_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::AllowedFlow;
using testing::DeniedFlow;
using testing::SinkTestPolicy;

std::vector<Scenario> TwoScenarios(const Policy& policy) {
  std::vector<Scenario> s;
  s.push_back({"idle", {"idle.pcapng"}, std::make_unique<AuditReport>(policy), "app open"});
  s.push_back({"flying", {"f1.pcapng", "f2.pcapng"}, std::make_unique<AuditReport>(policy), ""});
  s[0].report->OnFlow(AllowedFlow("tiles.example"), -1);
  s[1].report->OnFlow(AllowedFlow("tiles.example"), -1);
  Flow upload = DeniedFlow("logs.vendor.example");
  upload.delivered_packet = 12;
  s[1].report->OnFlow(upload, 0);
  return s;
}

TEST(CampaignReportTest, TheWorstScenarioDecidesAndTheMatrixShowsWhereEachHostWasSeen) {
  const Policy policy = SinkTestPolicy();
  std::vector<Scenario> s = TwoScenarios(policy);
  EXPECT_EQ(s[0].report->Verdict(), "clean");
  EXPECT_EQ(CampaignVerdict(s), "leak");

  std::ostringstream json;
  const CampaignInfo info{"c.yaml", "ab", "DJI Pilot 2", "9.1.0", "DJI RC Plus", "network"};
  WriteCampaignJson(info, s, json);
  const auto j = nlohmann::json::parse(json.str());
  EXPECT_EQ(j["verdict"], "leak");
  EXPECT_EQ(j["campaign"]["app"], "DJI Pilot 2");
  EXPECT_EQ(j["campaign"]["version"], "9.1.0");
  ASSERT_EQ(j["scenarios"].size(), 2u);
  EXPECT_EQ(j["scenarios"][1]["name"], "flying");
  EXPECT_EQ(j["scenarios"][1]["captures"].size(), 2u);
  EXPECT_EQ(j["scenarios"][1]["report"]["verdict"], "leak");  // its whole report
  ASSERT_EQ(j["matrix"].size(), 2u);
  const auto& logs = j["matrix"][1];
  EXPECT_EQ(logs["host"], "logs.vendor.example");
  EXPECT_TRUE(logs["scenarios"]["idle"].is_null()) << "not contacted when idle";
  EXPECT_EQ(logs["scenarios"]["flying"]["leaks"], 1);
  EXPECT_TRUE(j["matrix"][0]["scenarios"]["idle"].is_object());

  std::ostringstream junit;
  WriteCampaignJunit(s, junit);
  EXPECT_NE(junit.str().find("<testsuite name=\"idle\" tests=\"1\" failures=\"0\""),
            std::string::npos)
      << junit.str();
  EXPECT_NE(junit.str().find("<testsuite name=\"flying\" tests=\"2\" failures=\"1\""),
            std::string::npos);
  EXPECT_NE(junit.str().find("<testsuites name=\"flightwall audit campaign\" tests=\"3\" "
                             "failures=\"1\""),
            std::string::npos);

  std::ostringstream html;
  WriteCampaignHtml(info, s, {"r-idle.html", "r-flying.html"}, html);
  EXPECT_NE(html.str().find("<a href=\"r-flying.html\">full report</a>"), std::string::npos);
  EXPECT_NE(html.str().find("<th>idle</th><th>flying</th>"), std::string::npos);
  EXPECT_EQ(html.str().find("<script"), std::string::npos);
  EXPECT_NE(html.str().find("DJI Pilot 2 9.1.0 on DJI RC Plus"), std::string::npos);
  EXPECT_NE(html.str().find("app open"), std::string::npos);

  std::ostringstream summary;
  WriteCampaignSummary(info, s, summary);
  EXPECT_NE(summary.str().find("logs.vendor.example [flight-logs]: idle=- flying="),
            std::string::npos)
      << summary.str();
}

TEST(CampaignReportTest, CleanOnlyWhenEveryScenarioIsClean) {
  const Policy policy = SinkTestPolicy();
  std::vector<Scenario> s;
  s.push_back({"a", {}, std::make_unique<AuditReport>(policy), ""});
  s.push_back({"b", {}, std::make_unique<AuditReport>(policy), ""});
  s[0].report->OnFlow(AllowedFlow("tiles.example"), -1);
  s[1].report->OnFlow(AllowedFlow("tiles.example"), -1);
  EXPECT_EQ(CampaignVerdict(s), "clean");
  s[1].report->AddEvidenceProblem({kEvidenceTcpGap, "packet 3", "a hole"});
  EXPECT_EQ(CampaignVerdict(s), "inconclusive");
  s[0].report->OnFlow(DeniedFlow("x.example"), -1);
  EXPECT_EQ(CampaignVerdict(s), "inconclusive") << "inconclusive outranks attempts";
}

}  // namespace
}  // namespace flightwall
