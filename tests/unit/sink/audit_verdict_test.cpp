// The audit verdict: a leak wins, incomplete evidence is "inconclusive", and
// "clean" needs complete evidence; and how the reports say so.
#include <gtest/gtest.h>

#include <sstream>

#include "sink/audit_report.h"
#include "sink/report_writers.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::AllowedFlow;
using testing::DeniedFlow;
using testing::SinkTestPolicy;

class AuditVerdictTest : public ::testing::Test {
 protected:
  Policy policy_ = SinkTestPolicy();
  AuditReport report_{policy_};
};

TEST_F(AuditVerdictTest, CleanNeedsFlightAppTrafficAndNoProblem) {
  report_.OnFlow(AllowedFlow("a.tiles.example"), -1);
  report_.CheckTrafficSeen();
  EXPECT_FALSE(report_.Inconclusive());
  EXPECT_EQ(report_.Verdict(), "clean");
}

TEST_F(AuditVerdictTest, NoFlightAppTrafficIsInconclusive) {
  report_.CheckTrafficSeen();
  EXPECT_EQ(report_.Verdict(), "inconclusive");
  ASSERT_EQ(report_.EvidenceProblems().size(), 1u);
  EXPECT_EQ(report_.EvidenceProblems()[0].kind, kEvidenceNoAppTraffic);
}

TEST_F(AuditVerdictTest, TcpGapInAFlightAppFlowIsInconclusive) {
  Flow f = AllowedFlow("a.tiles.example");
  f.saw_gap = true;
  f.first_packet = 42;
  report_.OnFlow(f, -1);
  report_.CheckTrafficSeen();
  EXPECT_EQ(report_.Verdict(), "inconclusive");
  ASSERT_EQ(report_.EvidenceProblems().size(), 1u);
  EXPECT_EQ(report_.EvidenceProblems()[0].kind, kEvidenceTcpGap);
  EXPECT_NE(report_.EvidenceProblems()[0].where.find("packet 42: tcp 192.0.2.10:40000 -> "),
            std::string::npos)
      << report_.EvidenceProblems()[0].where;
}

TEST_F(AuditVerdictTest, StreamStartNeverSeenIsAGapToo) {
  Flow f = DeniedFlow("x.example");
  f.inspection = Inspection::kGap;
  f.reason = Reason::kGap;
  report_.OnFlow(f, -1);
  EXPECT_EQ(report_.Verdict(), "inconclusive") << "an attempt whose name is unknown is not enough";
}

TEST_F(AuditVerdictTest, GapsOfOtherTrafficDoNotMatter) {
  Flow other = AllowedFlow("a.tiles.example");
  other.app = -1;
  other.verdict = Verdict::kNotGoverned;
  other.saw_gap = true;
  report_.OnFlow(other, -1);
  report_.OnFlow(AllowedFlow("a.tiles.example"), -1);
  report_.CheckTrafficSeen();
  EXPECT_EQ(report_.Verdict(), "clean");
}

TEST_F(AuditVerdictTest, LeakWinsOverMissingEvidence) {
  Flow leak = DeniedFlow("flightlog.example");
  leak.delivered_packet = 9;
  leak.saw_gap = true;
  report_.OnFlow(leak, 0);
  report_.SetCaptureStats({"eth0", "", 100, 3, 0, {}});
  EXPECT_TRUE(report_.Inconclusive());
  EXPECT_EQ(report_.Verdict(), "leak");
}

TEST_F(AuditVerdictTest, MissingEvidenceWinsOverAttempts) {
  report_.OnFlow(DeniedFlow("x.example"), 0);
  EXPECT_EQ(report_.Verdict(), "attempts");
  report_.AddEvidenceProblem({kEvidenceTruncatedFile, "cut.pcap: after packet 3", "lost"});
  EXPECT_EQ(report_.Verdict(), "inconclusive");
}

TEST_F(AuditVerdictTest, CaptureDropsMakeItInconclusiveAndNoDropsDoNot) {
  report_.OnFlow(AllowedFlow("a.tiles.example"), -1);
  report_.SetCaptureStats({"veth0", "port 53", 10, 0, 0, {}});
  EXPECT_EQ(report_.Verdict(), "clean");
  report_.SetCaptureStats({"veth0", "port 53", 10, 0, 2, {}});
  EXPECT_EQ(report_.Verdict(), "inconclusive");
  EXPECT_EQ(report_.EvidenceProblemCounts().at(kEvidenceCaptureDrops), 1u);
}

TEST_F(AuditVerdictTest, ManyProblemsAreCountedButListedOnlyUpToALimit) {
  for (int i = 0; i < 50; ++i) {
    report_.AddEvidenceProblem({kEvidenceSnaplen, "packet " + std::to_string(i), "cut"});
  }
  EXPECT_EQ(report_.EvidenceProblems().size(), AuditReport::kListedProblemsPerKind);
  EXPECT_EQ(report_.EvidenceProblemCounts().at(kEvidenceSnaplen), 50u);
}

TEST_F(AuditVerdictTest, ReportsSayWhyTheVerdictIsInconclusive) {
  report_.OnFlow(AllowedFlow("a.tiles.example"), -1);
  report_.AddEvidenceProblem({kEvidenceTruncatedFile, "cut.pcap: after packet 3, byte 100 of 90",
                              "the rest of the file could not be read"});
  std::ostringstream json;
  WriteReportJson(report_, json);
  EXPECT_NE(json.str().find("\"verdict\": \"inconclusive\""), std::string::npos);
  EXPECT_NE(json.str().find("\"kind\": \"truncated-file\""), std::string::npos);
  EXPECT_NE(json.str().find("\"where\": \"cut.pcap: after packet 3"), std::string::npos);
  std::ostringstream html;
  WriteReportHtml(report_, html);
  EXPECT_NE(html.str().find("INCONCLUSIVE"), std::string::npos);
  EXPECT_NE(html.str().find("cut.pcap: after packet 3"), std::string::npos);
  std::ostringstream junit;
  WriteReportJunit(report_, junit);
  EXPECT_NE(junit.str().find("errors=\"1\""), std::string::npos) << junit.str();
  EXPECT_NE(junit.str().find("<testcase classname=\"flightwall.evidence\" name=\"truncated-file\""),
            std::string::npos)
      << junit.str();
  std::ostringstream summary;
  WriteReportSummary(report_, summary);
  EXPECT_NE(summary.str().find("flightwall audit: inconclusive"), std::string::npos);
  EXPECT_NE(summary.str().find("evidence problem: truncated-file: cut.pcap"), std::string::npos);
}

TEST_F(AuditVerdictTest, CompleteEvidenceHasAnEmptyProblemList) {
  report_.OnFlow(AllowedFlow("a.tiles.example"), -1);
  report_.CheckTrafficSeen();
  std::ostringstream json;
  WriteReportJson(report_, json);
  EXPECT_NE(json.str().find("\"verdict\": \"clean\""), std::string::npos);
  EXPECT_NE(json.str().find("\"evidence_problems\": []"), std::string::npos);
  EXPECT_EQ(json.str().find("\"capture\""), std::string::npos) << "only live audits have one";
}

}  // namespace
}  // namespace flightwall
