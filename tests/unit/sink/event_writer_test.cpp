#include "sink/event_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "sink/event_log.h"
#include "sink/event_ring.h"
#include "sink/log_verifier.h"
#include "sink/metrics.h"
#include "sink_test_helpers.h"

// GCC 12 at -O3 reports a false -Wrestrict on `"text" + std::to_string(n)`
// (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace flightwall {
namespace {

using testing::DeniedFlow;
using testing::DnsQuestion;
using testing::SinkTestPolicy;
using testing::SplitLines;

// A LineWriter several threads may call (the writer thread writes, the test
// reads).
class LockedLines : public LineWriter {
 public:
  bool WriteLine(std::string_view line) override {
    std::lock_guard<std::mutex> lock(mutex_);
    text_.append(line);
    text_.push_back('\n');
    return true;
  }
  std::string Text() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
};

std::vector<nlohmann::json> Parse(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (const auto& l : SplitLines(text)) out.push_back(nlohmann::json::parse(l));
  return out;
}

TEST(EventRingTest, KeepsOrderAndCountsWhatDidNotFit) {
  EventRing ring(3);  // rounded up to 4
  EXPECT_EQ(ring.Capacity(), 4u);
  for (int i = 0; i < 6; ++i) {
    EventRecord r;
    r.catalog_index = i;
    EXPECT_EQ(ring.Push(r), i < 4) << i;
  }
  EXPECT_EQ(ring.Dropped(), 2u);
  std::vector<int> seen;
  EXPECT_EQ(ring.Drain([&](const EventRecord& r) { seen.push_back(r.catalog_index); }), 4u);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(ring.Empty());
  EventRecord r;
  r.catalog_index = 9;
  EXPECT_TRUE(ring.Push(r));  // room again
}

TEST(EventRingTest, RecordsCarryWholeFlows) {
  EventRecord r;
  r.Store(DeniedFlow("logs.vendor.example", 7));
  const Flow f = r.Load<Flow>();
  EXPECT_EQ(f.hostname.Str(), "logs.vendor.example");
  EXPECT_EQ(f.verdict, Verdict::kDeny);
}

TEST(EventWriterTest, WritesEachWorkersEventsInOrderOnOneChain) {
  const auto policy = std::make_shared<const Policy>(SinkTestPolicy());
  std::ostringstream out;
  OstreamLineWriter lines(out);
  EventChain chain(lines);
  EventWriter writer(&chain, nullptr, 16);
  EventProducer* a = writer.AddProducer(policy);
  EventProducer* b = writer.AddProducer(policy);
  a->Decision(DeniedFlow("a1.example", 1), 0);
  b->Decision(DeniedFlow("b1.example", 2), 0);
  a->DnsQuestion(DnsQuestion("a2.example", Verdict::kDeny), 1);
  writer.WriteQueued();
  const auto j = Parse(out.str());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["hostname"], "a1.example");
  EXPECT_EQ(j[1]["hostname"], "a2.example");
  EXPECT_EQ(j[1]["event"], "dns");
  EXPECT_EQ(j[2]["hostname"], "b1.example");
  for (std::size_t i = 0; i < j.size(); ++i) EXPECT_EQ(j[i]["seq"], i + 1);
  const LogVerifyResult r = VerifyLogBytes(out.str());
  EXPECT_EQ(r.chain, LogVerifyResult::ChainState::kIntact) << FormatLogVerifyResult(r);
}

TEST(EventWriterTest, FormatsEachRecordWithThePolicyItWasDecidedUnder) {
  Policy first = SinkTestPolicy();
  Policy second = SinkTestPolicy();
  second.flight_apps[0].name = "renamed-app";
  second.allow.clear();
  std::ostringstream out;
  OstreamLineWriter lines(out);
  EventChain chain(lines);
  EventWriter writer(&chain, nullptr, 16);
  EventProducer* p = writer.AddProducer(std::make_shared<const Policy>(first));
  p->Decision(DeniedFlow("before.example"), 0);
  p->Adopt(std::make_shared<const Policy>(second));
  p->Decision(DeniedFlow("after.example"), 0);
  writer.WriteQueued();
  const auto j = Parse(out.str());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["app"], first.flight_apps[0].name);
  EXPECT_EQ(j[1]["app"], "renamed-app");
}

TEST(EventWriterTest, AFullRingLosesLinesThatTheChainRecords) {
  const auto policy = std::make_shared<const Policy>(SinkTestPolicy());
  std::ostringstream out;
  OstreamLineWriter lines(out);
  EventChain chain(lines);
  EventWriter writer(&chain, nullptr, 4);
  EventProducer* p = writer.AddProducer(policy);
  for (int i = 0; i < 10; ++i) p->Decision(DeniedFlow("h" + std::to_string(i) + ".example", i), 0);
  EXPECT_EQ(p->Dropped(), 6u);
  writer.WriteQueued();
  p->Decision(DeniedFlow("later.example"), 0);
  writer.WriteQueued();
  const auto j = Parse(out.str());
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j[3]["hostname"], "h3.example");
  EXPECT_EQ(j[4]["hostname"], "later.example");
  EXPECT_EQ(j[4]["lost_before"], 6);
  EXPECT_EQ(j[4]["seq"], 11);
  EXPECT_EQ(chain.Lost(), 6u);
  EXPECT_EQ(writer.Dropped(), 6u);
  const LogVerifyResult r = VerifyLogBytes(out.str());
  EXPECT_EQ(r.chain, LogVerifyResult::ChainState::kIntact) << FormatLogVerifyResult(r);
  EXPECT_EQ(r.lost_events, 6u);
}

TEST(EventWriterTest, ItsThreadWritesWhatWorkersPushAndEverythingByStop) {
  const auto policy = std::make_shared<const Policy>(SinkTestPolicy());
  LockedLines lines;
  EventChain chain(lines);
  Metrics metrics(*policy);
  EventWriter writer(&chain, &metrics, 1024);
  constexpr int kWorkers = 3;
  constexpr int kEach = 300;
  std::vector<EventProducer*> producers;
  for (int w = 0; w < kWorkers; ++w) producers.push_back(writer.AddProducer(policy));
  writer.Start();
  // One line first: the writer wakes for it without a Stop.
  producers[0]->Decision(DeniedFlow("first.example"), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lines.Text().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_FALSE(lines.Text().empty()) << "the writer did not wake for a queued event";
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        producers[w]->Decision(DeniedFlow("w" + std::to_string(w) + ".example", i), 0);
        // Adopting mid-stream must not confuse the writer.
        if (i == kEach / 2) producers[w]->Adopt(policy);
      }
    });
  }
  for (auto& t : threads) t.join();
  writer.Stop();
  const auto j = Parse(lines.Text());
  EXPECT_EQ(j.size() + writer.Dropped(), 1u + kWorkers * kEach);
  const LogVerifyResult r = VerifyLogBytes(lines.Text());
  EXPECT_EQ(r.chain, LogVerifyResult::ChainState::kIntact) << FormatLogVerifyResult(r);
  // Metrics count what was written, with the decided policy's names.
  EXPECT_NE(metrics.Exposition().find("flightwall_flows_total"), std::string::npos);
}

TEST(MetricsFoldTest, WorkerTalliesReachTheMetricsOnce) {
  const Policy policy = SinkTestPolicy();
  Metrics metrics(policy);
  VerdictTally tally;
  VerdictTallyFolded folded;
  tally.Observe(Verdict::kDeny, 60, 20'000);        // 20 us
  tally.Observe(Verdict::kAllow, 1500, 3'000'000);  // 3 ms
  metrics.FoldVerdicts(tally, &folded);
  metrics.FoldVerdicts(tally, &folded);  // nothing new
  const std::string text = metrics.Exposition();
  EXPECT_NE(text.find("flightwall_packets_total{verdict=\"deny\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("flightwall_bytes_total{verdict=\"allow\"} 1500\n"), std::string::npos);
  EXPECT_NE(text.find("flightwall_verdict_latency_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("flightwall_verdict_latency_seconds_bucket{le=\"2.5e-05\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(MetricsFoldTest, AttemptsAreNamedByTheDecidingPolicy) {
  Policy old_policy = SinkTestPolicy();
  Policy new_policy = SinkTestPolicy();
  std::swap(new_policy.flight_apps[0], new_policy.flight_apps[1]);
  Metrics metrics(new_policy);
  // Decided under the old policy: app 0 is old_policy's first app.
  metrics.CountDecision(DeniedFlow("logs.vendor.example"), old_policy, 0);
  const std::string text = metrics.Exposition();
  const std::string series = "flightwall_attempts_total{app=\"" + old_policy.flight_apps[0].name +
                             "\",category=\"" + old_policy.catalog[0].category + "\"} 1\n";
  EXPECT_NE(text.find(series), std::string::npos) << text;
}

}  // namespace
}  // namespace flightwall
