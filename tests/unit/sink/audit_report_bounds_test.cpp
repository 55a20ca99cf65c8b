// The audit report's memory is bounded whatever the captures' size: attempts
// and leaks are all counted, listed up to a quota; destinations beyond the
// limit fold into one row; the time series keeps a bounded number of buckets.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "sink/audit_report.h"
#include "sink/report_writers.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using testing::DeniedFlow;
using testing::SinkTestPolicy;

std::string Host(std::size_t i) {
  std::string name = "h";
  name += std::to_string(i);
  name += ".example";
  return name;
}

TEST(AuditReportBoundsTest, CountsEveryAttemptButListsAQuota) {
  const Policy policy = SinkTestPolicy();
  AuditReport report(policy);
  const std::size_t n = AuditReport::kListedAttempts + 700;
  for (std::size_t i = 0; i < n; ++i) report.OnFlow(DeniedFlow("x.example"), -1);
  EXPECT_EQ(report.AttemptCount(), n);
  EXPECT_EQ(report.Attempts().size(), AuditReport::kListedAttempts);
  EXPECT_EQ(report.UnlistedAttempts(), 700u);
  EXPECT_EQ(report.Verdict(), "attempts");
  ASSERT_EQ(report.Destinations().size(), 1u);
  EXPECT_EQ(report.Destinations()[0]->attempts, n) << "totals include the unlisted ones";
}

TEST(AuditReportBoundsTest, LeaksHaveTheirOwnQuotaAndAreAllCounted) {
  const Policy policy = SinkTestPolicy();
  AuditReport report(policy);
  for (std::size_t i = 0; i < AuditReport::kListedAttempts + 10; ++i) {
    report.OnFlow(DeniedFlow("x.example"), -1);
  }
  Flow leak = DeniedFlow("y.example");
  leak.delivered_packet = 9;
  for (int i = 0; i < 3; ++i) report.OnFlow(leak, -1);
  EXPECT_EQ(report.LeakCount(), 3u);
  EXPECT_EQ(report.Verdict(), "leak");
  std::size_t listed_leaks = 0;
  for (const Finding& f : report.Attempts()) listed_leaks += f.leaked ? 1 : 0;
  EXPECT_EQ(listed_leaks, 3u) << "leaks after the attempt quota is full are still listed";
  std::ostringstream json;
  WriteReportJson(report, json);
  EXPECT_NE(json.str().find("\"attempts_unlisted\": 10"), std::string::npos) << json.str().size();
}

TEST(AuditReportBoundsTest, DestinationsBeyondTheLimitFoldIntoOneRow) {
  const Policy policy = SinkTestPolicy();
  AuditReport report(policy);
  const std::size_t n = AuditReport::kMaxDestinations + 50;
  for (std::size_t i = 0; i < n; ++i) report.OnFlow(DeniedFlow(Host(i)), -1);
  const auto dests = report.Destinations();
  ASSERT_EQ(dests.size(), AuditReport::kMaxDestinations + 1);
  std::uint64_t folded = 0;
  for (const Destination* d : dests) {
    if (d->host == AuditReport::kOtherDestinations) folded = d->flows;
  }
  EXPECT_EQ(folded, 50u);
  EXPECT_EQ(report.AttemptCount(), n);
}

TEST(AuditReportBoundsTest, SeriesStaysWithinItsBucketsAndKeepsEveryByte) {
  const Policy policy = SinkTestPolicy();
  AuditReport report(policy);
  const std::size_t n = AuditReport::kSeriesBuckets * 4;
  for (std::size_t i = 0; i < n; ++i) {
    Flow f = DeniedFlow("x.example");
    f.first_time += static_cast<Timestamp>(i) * kMicrosPerSecond;  // one per second
    report.OnFlow(f, -1);
  }
  const auto series = report.Series();
  EXPECT_LE(series.size(), AuditReport::kSeriesBuckets);
  std::uint64_t bytes = 0;
  for (const SeriesPoint& p : series) bytes += p.bytes;
  EXPECT_EQ(bytes, n * 517u);
  for (std::size_t i = 1; i < series.size(); ++i) EXPECT_LT(series[i - 1].time, series[i].time);
}

}  // namespace
}  // namespace flightwall
