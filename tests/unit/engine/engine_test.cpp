// The engine on hand-built traffic: name attribution from DNS (CNAME chains
// back to the question), leak evidence (acknowledged or answered data), the
// flow table bound, HTTP pipelining and ICMP errors.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <vector>

#include "policy/policy_loader.h"
#include "unit/decode/frame_builder.h"
#include "unit/engine/packet_feeder.h"

namespace flightwall {
namespace {

using testing::Bytes;
using testing::Put16;
using testing::Put32;

const char* kPolicy = R"(
version: 1
name: engine-test
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com, "*.tiles.mapbox.com"]
    ports: [443, 80]
  - name: ntp
    cidrs: [198.51.100.123/32]
    ports: [123]
    transports: [udp]
)";

constexpr const char* kTablet = "192.0.2.10";
constexpr const char* kResolver = "203.0.113.53";

void PutName(Bytes* b, std::string_view name) {
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    b->push_back(static_cast<std::uint8_t>(dot - start));
    b->insert(b->end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  b->push_back(0);
}

Bytes DnsQuery(std::uint16_t id, std::string_view name) {
  Bytes b;
  Put16(&b, id);
  Put16(&b, 0x0100);
  Put16(&b, 1);
  Put16(&b, 0);
  Put16(&b, 0);
  Put16(&b, 0);
  PutName(&b, name);
  Put16(&b, 1);
  Put16(&b, 1);
  return b;
}

// Response: question `name`, optional CNAME name -> target, then A target -> addr.
Bytes DnsAnswer(std::uint16_t id, std::string_view name, std::string_view cname,
                std::array<std::uint8_t, 4> addr, std::uint32_t ttl = 300) {
  Bytes b;
  Put16(&b, id);
  Put16(&b, 0x8180);
  Put16(&b, 1);
  Put16(&b, cname.empty() ? 1 : 2);
  Put16(&b, 0);
  Put16(&b, 0);
  PutName(&b, name);
  Put16(&b, 1);
  Put16(&b, 1);
  std::string_view owner = name;
  if (!cname.empty()) {
    PutName(&b, name);
    Put16(&b, 5);
    Put16(&b, 1);
    Put32(&b, ttl);
    Bytes target;
    PutName(&target, cname);
    Put16(&b, static_cast<std::uint16_t>(target.size()));
    testing::Append(&b, target);
    owner = cname;
  }
  PutName(&b, owner);
  Put16(&b, 1);
  Put16(&b, 1);
  Put32(&b, ttl);
  Put16(&b, 4);
  b.insert(b.end(), addr.begin(), addr.end());
  return b;
}

class Recorder : public EventSink {
 public:
  void OnFlow(const Flow& f, int) override { flows.push_back(f); }
  void OnDns(const DnsRecord& r, int) override { dns.push_back(r); }
  std::vector<Flow> flows;
  std::vector<DnsRecord> dns;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LoadPolicyFromString(kPolicy, "engine-test.yaml", ".");
    ASSERT_TRUE(r.policy);
    policy_ = *r.policy;
  }
  void Make(const EngineLimits& limits = {}) {
    engine_ = std::make_unique<Engine>(policy_, Vantage::kNetwork, limits);
    engine_->AddSink(&rec_);
  }
  PacketOutcome Send(const Bytes& ip_packet) { return feeder_.Send(*engine_, ip_packet); }
  void Resolve(std::string_view name, std::array<std::uint8_t, 4> addr,
               std::string_view cname = "") {
    Send(testing::Ipv4(kTablet, kResolver, 17, testing::Udp(40000, 53, DnsQuery(7, name))));
    Send(testing::Ipv4(kResolver, kTablet, 17,
                       testing::Udp(53, 40000, DnsAnswer(7, name, cname, addr))));
  }
  const Flow* FlowTo(const char* dst, std::uint16_t port) {
    for (const Flow& f : rec_.flows) {
      if (f.server.ToString() == dst && f.server_port == port) return &f;
    }
    return nullptr;
  }

  Policy policy_;
  std::unique_ptr<Engine> engine_;
  Recorder rec_;
  testing::PacketFeeder feeder_;
};

TEST_F(EngineTest, DnsAnswerThroughCnameAttestsTheQuestion) {
  Make();
  Resolve("d.tiles.mapbox.com", {198, 51, 100, 40}, "edge.cdn-lab.example");
  const auto out = Send(testing::Ipv4(kTablet, "198.51.100.40", 6,
                                      testing::Tcp(50000, 443, tcp_flags::kSyn, {}, 100)));
  ASSERT_NE(out.flow, nullptr);
  EXPECT_EQ(out.verdict, Verdict::kAllow);
  EXPECT_EQ(out.flow->hostname.View(), "d.tiles.mapbox.com");
  EXPECT_EQ(out.flow->name_source, NameSource::kDns);
  engine_->Finish();
  ASSERT_EQ(rec_.dns.size(), 1u);
  EXPECT_TRUE(rec_.dns[0].answered);
  EXPECT_EQ(rec_.dns[0].verdict, Verdict::kAllow);
}

TEST_F(EngineTest, HardCodedIpDataAcknowledgedIsALeak) {
  Make();
  Send(testing::Ipv4(kTablet, "203.0.113.77", 6,
                     testing::Tcp(50001, 443, tcp_flags::kSyn, {}, 100)));
  Send(testing::Ipv4("203.0.113.77", kTablet, 6,
                     testing::Tcp(443, 50001, tcp_flags::kSyn | tcp_flags::kAck, {}, 900, 101)));
  const Bytes data(500, 'x');
  Send(testing::Ipv4(kTablet, "203.0.113.77", 6,
                     testing::Tcp(50001, 443, tcp_flags::kAck | tcp_flags::kPsh, data, 101, 901)));
  EXPECT_EQ(engine_->Stats().flows_created, 1u);
  // Not yet acknowledged: an attempt, not a leak.
  Send(testing::Ipv4("203.0.113.77", kTablet, 6,
                     testing::Tcp(443, 50001, tcp_flags::kAck, {}, 901, 101)));
  Send(testing::Ipv4("203.0.113.77", kTablet, 6,
                     testing::Tcp(443, 50001, tcp_flags::kAck, {}, 901, 601)));
  engine_->Finish();
  const Flow* f = FlowTo("203.0.113.77", 443);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->verdict, Verdict::kDeny);
  EXPECT_EQ(f->reason, Reason::kNoDnsAttestation);
  EXPECT_EQ(f->to_server.payload_bytes, 500u);
  EXPECT_EQ(f->first_payload_packet, 3u);
  EXPECT_EQ(f->delivered_packet, 5u);  // the ACK covering byte 101, not the bare one before
}

TEST_F(EngineTest, UnacknowledgedDataIsOnlyAnAttempt) {
  Make();
  Send(testing::Ipv4(kTablet, "203.0.113.77", 6,
                     testing::Tcp(50002, 443, tcp_flags::kSyn, {}, 100)));
  Send(testing::Ipv4(kTablet, "203.0.113.77", 6,
                     testing::Tcp(50002, 443, tcp_flags::kAck, Bytes(10, 'y'), 101)));
  engine_->Finish();
  ASSERT_EQ(rec_.flows.size(), 1u);
  EXPECT_EQ(rec_.flows[0].verdict, Verdict::kDeny);
  EXPECT_EQ(rec_.flows[0].delivered_packet, 0u);
}

TEST_F(EngineTest, SniOfADeniedNameOnAnAllowedAddressIsDenied) {
  Make();
  Resolve("api.mapbox.com", {198, 51, 100, 10});
  auto out = Send(testing::Ipv4(kTablet, "198.51.100.10", 6,
                                testing::Tcp(50003, 80, tcp_flags::kSyn, {}, 100)));
  EXPECT_EQ(out.verdict, Verdict::kAllow);
  // Pipelined HTTP: the second request names another host.
  const Bytes reqs = testing::Text(
      "GET /a HTTP/1.1\r\nHost: api.mapbox.com\r\n\r\n"
      "POST /log HTTP/1.1\r\nHost: flightlog.dji.com\r\nContent-Length: 3\r\n\r\nabc");
  out = Send(testing::Ipv4(kTablet, "198.51.100.10", 6,
                           testing::Tcp(50003, 80, tcp_flags::kAck, reqs, 101)));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kNameNotAllowed);
  EXPECT_EQ(out.flow->hostname.View(), "flightlog.dji.com");
  EXPECT_EQ(out.flow->name_source, NameSource::kHttpHost);
}

TEST_F(EngineTest, DeniedDnsQuestionAnsweredIsALeakAndOtherResolversAreDenied) {
  Make();
  Resolve("flightlog.dji.com", {198, 51, 100, 20});
  Send(testing::Ipv4(kTablet, "203.0.113.99", 17,
                     testing::Udp(40001, 53, DnsQuery(9, "api.mapbox.com"))));
  engine_->Finish();
  ASSERT_EQ(rec_.dns.size(), 2u);
  EXPECT_EQ(rec_.dns[0].reason, Reason::kDnsNameNotAllowed);
  EXPECT_TRUE(rec_.dns[0].answered);
  EXPECT_EQ(rec_.dns[1].reason, Reason::kDnsResolverNotAllowed);
  EXPECT_FALSE(rec_.dns[1].answered);
}

TEST_F(EngineTest, DnsOverTcpSplitAcrossSegments) {
  Make();
  Bytes msg;
  const Bytes query = DnsQuery(11, "flightlog.dji.com");
  Put16(&msg, static_cast<std::uint16_t>(query.size()));
  testing::Append(&msg, query);
  const Bytes first(msg.begin(), msg.begin() + 5);
  const Bytes rest(msg.begin() + 5, msg.end());
  Send(testing::Ipv4(kTablet, kResolver, 6, testing::Tcp(40100, 53, tcp_flags::kSyn, {}, 10)));
  Send(testing::Ipv4(kTablet, kResolver, 6, testing::Tcp(40100, 53, tcp_flags::kAck, first, 11)));
  Send(
      testing::Ipv4(kTablet, kResolver, 6, testing::Tcp(40100, 53, tcp_flags::kAck, rest, 11 + 5)));
  engine_->Finish();
  ASSERT_EQ(rec_.dns.size(), 1u);
  EXPECT_TRUE(rec_.dns[0].over_tcp);
  EXPECT_EQ(rec_.dns[0].qname.View(), "flightlog.dji.com");
  EXPECT_EQ(rec_.dns[0].reason, Reason::kDnsNameNotAllowed);
}

TEST_F(EngineTest, FlowTableIsBoundedAndEvictionsAreCounted) {
  EngineLimits limits;
  limits.max_flows = 4;
  Make(limits);
  for (std::uint16_t p = 0; p < 10; ++p) {
    Send(testing::Ipv4(kTablet, "203.0.113.88", 17,
                       testing::Udp(static_cast<std::uint16_t>(41000 + p), 9999, Bytes(4, 'u'))));
    EXPECT_LE(engine_->ActiveFlows(), 4u);
  }
  EXPECT_EQ(engine_->Stats().flows_evicted, 6u);
  engine_->Finish();
  EXPECT_EQ(rec_.flows.size(), 10u);  // every flow is reported exactly once
  EXPECT_EQ(engine_->ActiveFlows(), 0u);
}

TEST_F(EngineTest, IdleFlowsExpire) {
  Make();
  Send(testing::Ipv4(kTablet, "203.0.113.88", 17, testing::Udp(41000, 9999, Bytes(4, 'u'))));
  feeder_.time += 600 * kMicrosPerSecond;
  Send(testing::Ipv4(kTablet, "203.0.113.89", 17, testing::Udp(41001, 9999, Bytes(4, 'u'))));
  EXPECT_EQ(engine_->Stats().flows_expired, 1u);
  EXPECT_EQ(rec_.flows.size(), 1u);
}

TEST_F(EngineTest, IcmpErrorAboutAnAllowedFlowPasses) {
  Make();
  const Bytes udp = testing::Udp(42000, 123, Bytes(8, 'q'));
  EXPECT_EQ(Send(testing::Ipv4(kTablet, "198.51.100.123", 17, udp)).verdict, Verdict::kAllow);
  // The tablet reports port unreachable about the server's reply flow.
  const Bytes quoted = testing::Ipv4("198.51.100.123", kTablet, 17, testing::Udp(123, 42000, {}));
  const auto out =
      Send(testing::Ipv4(kTablet, "198.51.100.123", 1, testing::Icmp(3, 3, 0, 0, quoted)));
  EXPECT_EQ(out.verdict, Verdict::kAllow);
  EXPECT_EQ(out.reason, Reason::kIcmpErrorOfAllowedFlow);
  // A quote that does not fit the flow (the tablet "complains" about its own
  // packet to the server) is forged.
  const Bytes own = testing::Ipv4(kTablet, "198.51.100.123", 17, testing::Udp(42000, 123, {}));
  EXPECT_EQ(
      Send(testing::Ipv4(kTablet, "198.51.100.123", 1, testing::Icmp(3, 3, 0, 0, own))).verdict,
      Verdict::kDeny);
  const auto echo =
      Send(testing::Ipv4(kTablet, "198.51.100.10", 1, testing::Icmp(8, 0, 7, 1, Bytes(32, 'p'))));
  EXPECT_EQ(echo.verdict, Verdict::kDeny);
  EXPECT_EQ(echo.reason, Reason::kIcmpEchoDenied);
}

// The tablet's ICMP error about a DNS answer (maybe the daemon's own local
// REFUSED, which names the denied host) would carry the question to the
// resolver: denied.
TEST_F(EngineTest, IcmpErrorQuotingDnsIsDenied) {
  Make();
  Resolve("api.mapbox.com", {198, 51, 100, 10});
  const Bytes answer =
      testing::Ipv4(kResolver, kTablet, 17, testing::Udp(53, 40000, Bytes(40, 'a')));
  const auto out = Send(testing::Ipv4(kTablet, kResolver, 1, testing::Icmp(3, 3, 0, 0, answer)));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kIcmpErrorOfDns);
}

TEST_F(EngineTest, NewConnectionOnAReusedFiveTupleIsJudgedAfresh) {
  // The first connection is allowed and then bypasses user space (its FIN is
  // never seen); a later SYN from the same port must not inherit "allow".
  Make();
  Resolve("a.tiles.mapbox.com", {198, 51, 100, 10});
  Send(testing::Ipv4(kTablet, "198.51.100.10", 6,
                     testing::Tcp(50010, 443, tcp_flags::kSyn, {}, 100)));
  Send(testing::Ipv4(
      kTablet, "198.51.100.10", 6,
      testing::Tcp(50010, 443, tcp_flags::kAck,
                   testing::Text("GET / HTTP/1.1\r\nHost: a.tiles.mapbox.com\r\n\r\n"), 101)));
  auto out = Send(testing::Ipv4(kTablet, "198.51.100.10", 6,
                                testing::Tcp(50010, 443, tcp_flags::kSyn, {}, 5000)));
  EXPECT_EQ(engine_->Stats().flows_reused, 1u);
  out = Send(testing::Ipv4(
      kTablet, "198.51.100.10", 6,
      testing::Tcp(50010, 443, tcp_flags::kAck,
                   testing::Text("GET / HTTP/1.1\r\nHost: flightlog.dji.com\r\n\r\n"), 5001)));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.flow->hostname.View(), "flightlog.dji.com");
  engine_->Finish();
  EXPECT_EQ(rec_.flows.size(), 3u);  // the DNS flow and both connections
}

TEST_F(EngineTest, TrafficOfOtherHostsIsNotGoverned) {
  Make();
  const auto out = Send(
      testing::Ipv4("198.51.100.7", "203.0.113.77", 6, testing::Tcp(50000, 443, tcp_flags::kSyn)));
  EXPECT_EQ(out.verdict, Verdict::kNotGoverned);
}

}  // namespace
}  // namespace flightwall
