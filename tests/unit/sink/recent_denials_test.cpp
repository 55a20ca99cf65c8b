#include "sink/recent_denials.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "sink/event_log.h"
#include "sink/event_writer.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

Denial Numbered(int i) {
  Denial d;
  d.time = i;
  // An append, not "h" + std::string&&: GCC 12's -Wrestrict misjudges that at -O3.
  std::string name = "h";
  name += std::to_string(i);
  d.hostname = name;
  return d;
}

TEST(RecentDenialsTest, KeepsTheLastTenOldestFirst) {
  RecentDenials r;
  EXPECT_TRUE(r.Snapshot().empty());
  for (int i = 0; i < 3; ++i) r.Add(Numbered(i));
  auto s = r.Snapshot();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.front().hostname, "h0");
  EXPECT_EQ(s.back().hostname, "h2");
  for (int i = 3; i < 25; ++i) r.Add(Numbered(i));
  s = r.Snapshot();
  ASSERT_EQ(s.size(), RecentDenials::kCapacity);
  EXPECT_EQ(s.front().hostname, "h15");
  EXPECT_EQ(s.back().hostname, "h24");
  EXPECT_EQ(r.Total(), 25u);
}

// The event writer fills it with what it formats: denied flows and DNS
// questions, not allowed ones, named by the policy they were decided under.
TEST(RecentDenialsTest, TheEventWriterAddsDenialsOnly) {
  const auto policy = std::make_shared<const Policy>(testing::SinkTestPolicy());
  std::ostringstream out;
  OstreamLineWriter lines(out);
  EventChain chain(lines);
  RecentDenials denials;
  EventWriter writer(&chain, nullptr, 16);
  writer.SetRecentDenials(&denials);
  EventProducer* p = writer.AddProducer(policy);
  p->Decision(testing::AllowedFlow("tiles.example"), 0);
  p->Decision(testing::DeniedFlow("upload.example", 7), 0);
  p->DnsQuestion(testing::DnsQuestion("tracker.example", Verdict::kDeny), 0);
  p->DnsQuestion(testing::DnsQuestion("tiles.example", Verdict::kAllow), 0);
  writer.WriteQueued();
  const auto s = denials.Snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].event, "flow");
  EXPECT_EQ(s[0].hostname, "upload.example");
  EXPECT_EQ(s[0].app, policy->flight_apps[0].name);
  EXPECT_EQ(s[0].protocol, "tcp");
  EXPECT_EQ(s[0].dst, "203.0.113.8");
  EXPECT_EQ(s[0].dport, 443);
  EXPECT_EQ(s[0].reason, std::string(ReasonName(Reason::kNameNotAllowed)));
  EXPECT_EQ(s[0].action, "dropped");
  EXPECT_EQ(s[1].event, "dns");
  EXPECT_EQ(s[1].hostname, "tracker.example");
}

}  // namespace
}  // namespace flightwall
