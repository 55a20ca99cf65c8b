#include "sink/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <random>
#include <sstream>

#include "sink_test_helpers.h"

// GCC 12 at -O3 reports a false -Wrestrict on `"text" + std::to_string(n)`
// (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace flightwall {
namespace {

using testing::AllowedFlow;
using testing::DeniedFlow;
using testing::DnsQuestion;
using testing::SinkTestPolicy;

// A plain HTTP/1.0 GET on loopback, as Prometheus would scrape; "" on failure.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        response.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(fd);
  return response;
}

// The samples of an exposition: `name{k="v",...}` (labels sorted) -> value.
std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string series = line.substr(0, space);
    const std::size_t brace = series.find('{');
    if (brace != std::string::npos) {
      std::map<std::string, std::string> labels;
      std::string body = series.substr(brace + 1, series.size() - brace - 2);
      std::size_t pos = 0;
      while (pos < body.size()) {
        const std::size_t eq = body.find('=', pos);
        const std::size_t close = body.find('"', eq + 2);
        labels[body.substr(pos, eq - pos)] = body.substr(eq + 2, close - eq - 2);
        pos = close + 2;
      }
      series = series.substr(0, brace) + "{";
      for (const auto& [k, v] : labels) series.append(k).append("=\"").append(v).append("\",");
      if (series.back() == ',') series.pop_back();
      series += "}";
    }
    samples[series] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double Sample(const std::map<std::string, double>& samples, const std::string& series) {
  const auto it = samples.find(series);
  return it == samples.end() ? -1 : it->second;
}

// Listens on an ephemeral port (port 0), or on random high ports if the
// server does not support that.
int ListenSomewhere(Metrics& metrics) {
  Status listening = metrics.Listen("127.0.0.1:0");
  if (listening.ok() && !metrics.ListeningPorts().empty() && metrics.ListeningPorts()[0] > 0) {
    return metrics.ListeningPorts()[0];
  }
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int port = 20000 + static_cast<int>(rng() % 40000);
    listening = metrics.Listen("127.0.0.1:" + std::to_string(port));
    if (listening.ok()) return port;
  }
  ADD_FAILURE() << "could not listen anywhere: " << listening.ToString();
  return 0;
}

TEST(MetricsTest, ScrapeOverHttpShowsEveryFamily) {
  const Policy policy = SinkTestPolicy();
  Metrics metrics(policy);
  const int port = ListenSomewhere(metrics);
  ASSERT_GT(port, 0);
  metrics.CountDecision(DeniedFlow("logs.vendor.example"), policy, 0);
  metrics.CountDecision(AllowedFlow("tiles.example"), policy, -1);
  metrics.CountDnsQuestion(DnsQuestion("telemetry.vendor.example", Verdict::kDeny), policy, 1);
  metrics.CountDnsQuestion(DnsQuestion("tiles.example", Verdict::kAllow), policy, -1);
  VerdictTally tally;
  VerdictTallyFolded folded;
  tally.Observe(Verdict::kDeny, 60, 20'000);
  tally.Observe(Verdict::kAllow, 1500, 200'000'000);
  metrics.FoldVerdicts(tally, &folded);
  metrics.PolicyReload(true);
  metrics.PolicyReload(false);
  metrics.PolicyReload(false);
  metrics.SetActiveFlows(12);
  metrics.SetCachedNames(34);
  metrics.SetEventLogLost(5);

  const std::string response = HttpGet(port, "/metrics");
  ASSERT_EQ(response.rfind("HTTP/1.", 0), 0u) << response;
  EXPECT_NE(response.find(" 200 "), std::string::npos);
  const auto s = ParseExposition(response.substr(response.find("\r\n\r\n") + 4));
  EXPECT_EQ(Sample(s, "flightwall_build_info{version=\"" FLIGHTWALL_VERSION "\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_flows_total{reason=\"name-not-allowed\",verdict=\"deny\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_flows_total{reason=\"allowed-host\",verdict=\"allow\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_attempts_total{app=\"pilot\",category=\"flight-logs\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_attempts_total{app=\"survey\",category=\"analytics\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_attempts_total{app=\"pilot\",category=\"uncategorized\"}"), 0);
  EXPECT_EQ(Sample(s, "flightwall_dns_questions_total{verdict=\"deny\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_dns_questions_total{verdict=\"allow\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_packets_total{verdict=\"deny\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_bytes_total{verdict=\"allow\"}"), 1500);
  EXPECT_EQ(Sample(s, "flightwall_verdict_latency_seconds_count"), 2);
  EXPECT_EQ(Sample(s, "flightwall_verdict_latency_seconds_bucket{le=\"2.5e-05\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_verdict_latency_seconds_bucket{le=\"0.1\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_verdict_latency_seconds_bucket{le=\"+Inf\"}"), 2);
  EXPECT_EQ(Sample(s, "flightwall_policy_reloads_total{result=\"ok\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_policy_reloads_total{result=\"failed\"}"), 2);
  EXPECT_EQ(Sample(s, "flightwall_flows_active"), 12);
  EXPECT_EQ(Sample(s, "flightwall_names_cached"), 34);
  EXPECT_EQ(Sample(s, "flightwall_events_lost_total"), 5);
  EXPECT_EQ(HttpGet(port, "/metrics").find("logs.vendor.example"), std::string::npos);
}

TEST(MetricsTest, QueueCountersOnlyGrow) {
  Metrics metrics(SinkTestPolicy());
  KernelQueueStats kernel;
  kernel.found = true;
  kernel.queue_dropped = 10;
  kernel.user_dropped = 3;
  NfqueueStats socket;
  socket.enobufs = 2;
  metrics.SetQueueStats(1, kernel, socket);
  kernel.queue_dropped = 15;
  metrics.SetQueueStats(1, kernel, socket);
  kernel.queue_dropped = 4;  // the queue was bound afresh: its counters restarted
  metrics.SetQueueStats(1, kernel, socket);
  kernel.found = false;  // not readable this time: nothing changes
  kernel.queue_dropped = 0;
  metrics.SetQueueStats(1, kernel, socket);
  metrics.SetEventLogLost(7);
  metrics.SetEventLogLost(7);
  const auto s = ParseExposition(metrics.Exposition());
  EXPECT_EQ(Sample(s, "flightwall_queue_dropped_total{queue=\"1\"}"), 19);
  EXPECT_EQ(Sample(s, "flightwall_queue_user_dropped_total{queue=\"1\"}"), 3);
  EXPECT_EQ(Sample(s, "flightwall_queue_enobufs_total{queue=\"1\"}"), 2);
  EXPECT_EQ(Sample(s, "flightwall_events_lost_total"), 7);
}

TEST(MetricsTest, LabelCardinalityStaysBoundedWhateverTheTraffic) {
  const Policy policy = SinkTestPolicy();
  Metrics metrics(policy);
  metrics.CountDecision(DeniedFlow("warmup.example"), policy, 0);
  const std::size_t before = ParseExposition(metrics.Exposition()).size();
  for (int i = 0; i < 10000; ++i) {
    const std::string host = "h" + std::to_string(i) + ".tracker.example";
    Flow f = DeniedFlow(host, i);
    f.server_port = static_cast<std::uint16_t>(1024 + i);
    metrics.CountDecision(f, policy, i % 3 - 1);  // known and unknown catalog entries
    metrics.CountDnsQuestion(DnsQuestion(host, i % 2 ? Verdict::kDeny : Verdict::kAllow), policy,
                             i % 7 - 3);
  }
  metrics.CountDecision(DeniedFlow("x.example"), policy, 12345);  // an index out of range
  const std::string text = metrics.Exposition();
  const auto s = ParseExposition(text);
  EXPECT_EQ(s.size(), before);
  EXPECT_LT(s.size(), 200u);
  EXPECT_EQ(text.find("tracker.example"), std::string::npos);
  EXPECT_EQ(text.find("203.0.113."), std::string::npos);
  double attempts = 0;
  for (const auto& [series, value] : s) {
    if (series.rfind("flightwall_attempts_total", 0) == 0) attempts += value;
  }
  EXPECT_EQ(attempts, 1 + 10000 + 5000 + 1);
}

TEST(MetricsTest, ReloadedPolicyAddsItsCategories) {
  Policy policy = SinkTestPolicy();
  Metrics metrics(policy);
  policy.catalog[1].category = "crash-reporting";
  metrics.SetPolicy(policy);
  metrics.CountDecision(DeniedFlow("crash.example"), policy, 1);
  const auto s = ParseExposition(metrics.Exposition());
  EXPECT_EQ(Sample(s, "flightwall_attempts_total{app=\"pilot\",category=\"crash-reporting\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_attempts_total{app=\"pilot\",category=\"analytics\"}"), 0);
}

TEST(MetricsTest, NameConfirmationsAndInspectionPoolsOnlyGrow) {
  Metrics metrics(SinkTestPolicy());
  DnsConfirmerStats c;
  c.queries = 4;
  c.confirmed = 3;
  c.refuted = 1;
  metrics.SetNameConfirmations(c);
  c.queries = 6;
  c.timed_out = 2;
  metrics.SetNameConfirmations(c);
  PoolUsage pools{};
  pools[static_cast<std::size_t>(InspectionPool::kStream)] = {
      .in_use = 7, .capacity = 256, .exhausted = 2};
  metrics.SetPools(pools);
  pools[static_cast<std::size_t>(InspectionPool::kStream)].in_use = 1;
  pools[static_cast<std::size_t>(InspectionPool::kStream)].exhausted = 5;
  metrics.SetPools(pools);
  const auto s = ParseExposition(metrics.Exposition());
  EXPECT_EQ(Sample(s, "flightwall_name_confirmations_total{result=\"queries\"}"), 6);
  EXPECT_EQ(Sample(s, "flightwall_name_confirmations_total{result=\"confirmed\"}"), 3);
  EXPECT_EQ(Sample(s, "flightwall_name_confirmations_total{result=\"refuted\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_name_confirmations_total{result=\"timed_out\"}"), 2);
  EXPECT_EQ(Sample(s, "flightwall_name_confirmations_total{result=\"error\"}"), 0);
  EXPECT_EQ(Sample(s, "flightwall_inspection_slots_in_use{pool=\"stream\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_inspection_slots{pool=\"stream\"}"), 256);
  EXPECT_EQ(Sample(s, "flightwall_inspection_pool_exhausted_total{pool=\"stream\"}"), 5);
  EXPECT_EQ(Sample(s, "flightwall_inspection_pool_exhausted_total{pool=\"quic\"}"), 0);
}

TEST(MetricsTest, PacketsRefusedWithoutAVerdictAreCountedByReason) {
  Metrics metrics(SinkTestPolicy());
  auto s = ParseExposition(metrics.Exposition());
  // Every reason is exported from the start, at 0, so an alert sees a rise.
  for (const char* reason : {"undecodable", "segment_gap", "hold_expired", "hold_evicted"}) {
    EXPECT_EQ(Sample(s, "flightwall_packets_refused_total{reason=\"" + std::string(reason) + "\"}"),
              0)
        << reason;
  }
  metrics.SetPacketRefusals({.undecodable = 3, .segment_gap = 1});
  metrics.SetPacketRefusals({.undecodable = 5, .segment_gap = 1, .hold_expired = 2});
  metrics.SetPacketRefusals(
      {.undecodable = 5, .segment_gap = 1, .hold_expired = 2, .hold_evicted = 9});
  s = ParseExposition(metrics.Exposition());
  EXPECT_EQ(Sample(s, "flightwall_packets_refused_total{reason=\"undecodable\"}"), 5);
  EXPECT_EQ(Sample(s, "flightwall_packets_refused_total{reason=\"segment_gap\"}"), 1);
  EXPECT_EQ(Sample(s, "flightwall_packets_refused_total{reason=\"hold_expired\"}"), 2);
  EXPECT_EQ(Sample(s, "flightwall_packets_refused_total{reason=\"hold_evicted\"}"), 9);
}

TEST(MetricsTest, ExportsTheEventChainHeadAsOneSeries) {
  Metrics metrics(SinkTestPolicy());
  auto s = ParseExposition(metrics.Exposition());
  EXPECT_EQ(Sample(s, "flightwall_event_chain_seq"), 0);
  metrics.SetEventChainHead(0, "");  // no line yet: no head series
  EXPECT_EQ(metrics.Exposition().find("flightwall_event_chain_head_info{"), std::string::npos);
  metrics.SetEventChainHead(7, "0123456789abcdef" + std::string(48, '0'));
  metrics.SetEventChainHead(7, "0123456789abcdef" + std::string(48, '0'));
  s = ParseExposition(metrics.Exposition());
  EXPECT_EQ(Sample(s, "flightwall_event_chain_seq"), 7);
  EXPECT_EQ(Sample(s, "flightwall_event_chain_head_info{head=\"01234567\"}"), 1);
  metrics.SetEventChainHead(8, "fedcba98" + std::string(56, '1'));
  const std::string text = metrics.Exposition();
  s = ParseExposition(text);
  EXPECT_EQ(Sample(s, "flightwall_event_chain_seq"), 8);
  EXPECT_EQ(Sample(s, "flightwall_event_chain_head_info{head=\"fedcba98\"}"), 1);
  EXPECT_EQ(text.find("01234567"), std::string::npos) << text;  // replaced, not added
}

TEST(MetricsTest, RejectsAddressesThatAreNotAddressAndPort) {
  Metrics metrics(SinkTestPolicy());
  for (const std::string bad : {"localhost:9714", "127.0.0.1", "127.0.0.1:99999", "9714",
                                "127.0.0.1:9714,8080", "::1:9714", "[::1]:80s", ""}) {
    const Status listening = metrics.Listen(bad);
    EXPECT_FALSE(listening.ok()) << bad;
    const std::string error = listening.ToString();
    EXPECT_NE(error.find("'" + bad + "'"), std::string::npos) << error;
    EXPECT_NE(error.find("127.0.0.1:9714"), std::string::npos) << error;
  }
}

TEST(MetricsTest, SaysWhichAddressIsBusy) {
  Metrics first(SinkTestPolicy());
  const int port = ListenSomewhere(first);
  ASSERT_GT(port, 0);
  Metrics second(SinkTestPolicy());
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const Status listening = second.Listen(address);
  EXPECT_FALSE(listening.ok());
  const std::string error = listening.ToString();
  EXPECT_NE(error.find(address), std::string::npos) << error;
  EXPECT_NE(error.find("metrics.listen"), std::string::npos) << error;
  EXPECT_NE(HttpGet(port, "/metrics").find("flightwall_build_info"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
