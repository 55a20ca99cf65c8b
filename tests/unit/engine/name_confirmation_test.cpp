// Active attestation (dns.confirm_revealed_names) in the engine, with a fake
// NameConfirmer: the handshake to an unattested address passes, the first
// payload is held until the resolver confirms the name it reveals, and
// everything short of a confirmation denies (refuted, timed out, no name,
// a name not allowed, fronting), for good.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "policy/policy_loader.h"
#include "unit/decode/frame_builder.h"
#include "unit/engine/packet_feeder.h"
#include "unit/proto/proto_test_builders.h"

namespace flightwall {
namespace {

using testing::Bytes;

const char* kPolicy = R"(
version: 1
name: confirm
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [203.0.113.53]
  confirm_revealed_names: true
allow:
  - name: tiles
    hosts: [api.mapbox.com]
    ports: [443, 80]
)";

constexpr const char* kTablet = "192.0.2.10";
constexpr const char* kResolver = "203.0.113.53";
constexpr const char* kServer = "198.51.100.10";
constexpr std::uint32_t kIsn = 1000;

class FakeConfirmer : public NameConfirmer {
 public:
  ConfirmResult Confirm(std::string_view name, const IpAddress& address,
                        const IpAddress& resolver) override {
    asked.push_back(std::string(name) + "@" + address.ToString() + "?" + resolver.ToString());
    return answer;
  }
  ConfirmResult answer{ConfirmState::kPending, 0};
  std::vector<std::string> asked;
};

Bytes Hello(const std::string& sni, bool with_sni = true) {
  testing::ClientHelloSpec spec;
  spec.sni = sni;
  spec.include_sni = with_sni;
  const Bytes handshake = testing::BuildClientHello(spec);
  return testing::WrapInRecords(handshake, {handshake.size()});
}

Bytes DnsQuestionA(std::uint16_t id, std::string_view name) {
  Bytes b = {static_cast<std::uint8_t>(id >> 8),
             static_cast<std::uint8_t>(id),
             1,
             0,
             0,
             1,
             0,
             0,
             0,
             0,
             0,
             0};
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    b.push_back(static_cast<std::uint8_t>(dot - start));
    b.insert(b.end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  b.insert(b.end(), {0, 0, 1, 0, 1});
  return b;
}

Bytes DnsAnswerA(std::uint16_t id, std::string_view name, std::array<std::uint8_t, 4> addr) {
  Bytes b = {static_cast<std::uint8_t>(id >> 8),
             static_cast<std::uint8_t>(id),
             0x81,
             0x80,
             0,
             1,
             0,
             1,
             0,
             0,
             0,
             0};
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    b.push_back(static_cast<std::uint8_t>(dot - start));
    b.insert(b.end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  b.insert(b.end(), {0, 0, 1, 0, 1});
  b.insert(b.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4});
  b.insert(b.end(), addr.begin(), addr.end());
  return b;
}

class NameConfirmationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LoadPolicyFromString(kPolicy, "confirm.yaml", ".");
    ASSERT_TRUE(r.policy) << (r.errors.empty() ? "" : r.errors[0].ToString());
    policy_ = *r.policy;
  }
  void Make(bool with_confirmer = true) {
    engine_ = std::make_unique<Engine>(policy_, Vantage::kNetwork);
    if (with_confirmer) engine_->SetNameConfirmer(&confirmer_);
  }
  PacketOutcome Send(const Bytes& ip_packet) { return feeder_.Send(*engine_, ip_packet); }
  PacketOutcome Syn(std::uint16_t port, const char* dst = kServer) {
    return Send(
        testing::Ipv4(kTablet, dst, 6, testing::Tcp(port, 443, tcp_flags::kSyn, {}, kIsn - 1)));
  }
  PacketOutcome SynAck(std::uint16_t port, const char* src = kServer) {
    return Send(
        testing::Ipv4(src, kTablet, 6,
                      testing::Tcp(443, port, tcp_flags::kSyn | tcp_flags::kAck, {}, 5000, kIsn)));
  }
  PacketOutcome Data(std::uint16_t port, const Bytes& bytes, const char* dst = kServer,
                     std::size_t at = 0) {
    return Send(testing::Ipv4(kTablet, dst, 6,
                              testing::Tcp(port, 443, tcp_flags::kAck | tcp_flags::kPsh, bytes,
                                           kIsn + static_cast<std::uint32_t>(at), 5001)));
  }
  PacketOutcome ClientAck(std::uint16_t port, const char* dst = kServer) {
    return Send(
        testing::Ipv4(kTablet, dst, 6, testing::Tcp(port, 443, tcp_flags::kAck, {}, kIsn, 5001)));
  }
  PacketOutcome ServerAck(std::uint16_t port, std::size_t acked) {
    return Send(testing::Ipv4(kServer, kTablet, 6,
                              testing::Tcp(443, port, tcp_flags::kAck, {}, 5001,
                                           kIsn + static_cast<std::uint32_t>(acked))));
  }
  std::vector<Engine::ConfirmationEnded> Poll() {
    std::vector<Engine::ConfirmationEnded> ended;
    engine_->PollConfirmations(feeder_.time + 1000, &ended);
    return ended;
  }

  Policy policy_;
  std::unique_ptr<Engine> engine_;
  testing::PacketFeeder feeder_;
  FakeConfirmer confirmer_;
};

TEST_F(NameConfirmationTest, HandshakePassesPayloadHeldUntilConfirmed) {
  Make();
  const auto syn = Syn(50000);
  EXPECT_EQ(syn.verdict, Verdict::kAllow);
  EXPECT_EQ(syn.reason, Reason::kAwaitingConfirmation);
  EXPECT_FALSE(syn.final);
  EXPECT_EQ(SynAck(50000).verdict, Verdict::kAllow);
  EXPECT_TRUE(ClientAck(50000).unjudged);  // held payload may not be released by an ACK
  const Bytes ch = Hello("api.mapbox.com");
  const auto held = Data(50000, ch);
  EXPECT_EQ(held.verdict, Verdict::kAllow);
  EXPECT_EQ(held.reason, Reason::kAwaitingConfirmation);
  EXPECT_TRUE(held.awaiting_name);
  EXPECT_TRUE(held.unjudged);
  EXPECT_FALSE(held.final);
  ASSERT_EQ(confirmer_.asked.size(), 1u);
  EXPECT_EQ(confirmer_.asked[0], "api.mapbox.com@198.51.100.10?203.0.113.53");
  // A forged acknowledgement of the held bytes does not settle the flow.
  const auto forged = ServerAck(50000, ch.size());
  EXPECT_FALSE(forged.final);
  EXPECT_TRUE(forged.unjudged);
  // Still pending at the tick: nothing ends.
  EXPECT_TRUE(Poll().empty());
  // The retransmitted hello is held too.
  EXPECT_TRUE(Data(50000, ch).awaiting_name);
  confirmer_.answer = {ConfirmState::kConfirmed, 300};
  const auto ended = Poll();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(ended[0].release);
  EXPECT_FALSE(ended[0].denied);
  const auto after = Data(50000, ch);
  EXPECT_EQ(after.verdict, Verdict::kAllow);
  EXPECT_EQ(after.reason, Reason::kAllowedHost);
  EXPECT_FALSE(after.awaiting_name);
  EXPECT_FALSE(after.unjudged);
  EXPECT_TRUE(after.flow->name_confirmed);
  EXPECT_EQ(engine_->Stats().names_confirmed, 1u);
  // The confirmed binding attests the address for the next connection.
  EXPECT_EQ(Syn(50001).reason, Reason::kAllowedHost);
}

TEST_F(NameConfirmationTest, RefutedDeniesForGood) {
  Make();
  Syn(50010);
  const Bytes ch = Hello("api.mapbox.com");
  EXPECT_TRUE(Data(50010, ch).awaiting_name);
  confirmer_.answer = {ConfirmState::kRefuted, 0};
  const auto ended = Poll();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(ended[0].denied);
  EXPECT_FALSE(ended[0].release);
  const auto later = Data(50010, ch);
  EXPECT_EQ(later.verdict, Verdict::kDeny);
  EXPECT_EQ(later.reason, Reason::kUnconfirmed);
  EXPECT_TRUE(later.final);
  // Even if the resolver now said yes, the flow stays denied.
  confirmer_.answer = {ConfirmState::kConfirmed, 300};
  EXPECT_EQ(Data(50010, ch).verdict, Verdict::kDeny);
  EXPECT_EQ(engine_->Stats().names_unconfirmed, 1u);
}

TEST_F(NameConfirmationTest, AnAnswerAlreadyKnownDecidesAtOnce) {
  Make();
  confirmer_.answer = {ConfirmState::kRateLimited, 0};
  Syn(50020);
  const auto out = Data(50020, Hello("api.mapbox.com"));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kUnconfirmed);
  confirmer_.answer = {ConfirmState::kConfirmed, 60};
  Syn(50021, "198.51.100.11");
  const auto ok = Data(50021, Hello("api.mapbox.com"), "198.51.100.11");
  EXPECT_EQ(ok.verdict, Verdict::kAllow);
  EXPECT_EQ(ok.reason, Reason::kAllowedHost);
  EXPECT_FALSE(ok.awaiting_name);
}

TEST_F(NameConfirmationTest, HoldTimeoutDeniesAsUnconfirmed) {
  Make();
  Syn(50030);
  EXPECT_TRUE(Data(50030, Hello("api.mapbox.com")).awaiting_name);
  const Flow f = *Data(50030, Hello("api.mapbox.com")).flow;
  EXPECT_TRUE(engine_->EndStalledInspection(KeyOf(f), feeder_.time + 2'000'000));
  const auto later = Data(50030, Hello("api.mapbox.com"));
  EXPECT_EQ(later.verdict, Verdict::kDeny);
  EXPECT_EQ(later.reason, Reason::kUnconfirmed);
  // The flow is gone from the list: a later answer changes nothing.
  confirmer_.answer = {ConfirmState::kConfirmed, 300};
  EXPECT_TRUE(Poll().empty());
}

TEST_F(NameConfirmationTest, NameNotAllowedIsDeniedWithoutAsking) {
  Make();
  Syn(50040);
  const auto out = Data(50040, Hello("sdk.analytics.example"));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kNameNotAllowed);
  EXPECT_TRUE(confirmer_.asked.empty());
}

TEST_F(NameConfirmationTest, HardCodedIpWithoutNameIsDenied) {
  Make();
  EXPECT_EQ(Syn(50050).verdict, Verdict::kAllow);  // the documented cost
  const auto out = Data(50050, Hello("", false));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kNoDnsAttestation);
  EXPECT_TRUE(confirmer_.asked.empty());
  // Plain bytes in no protocol flightwall reads: denied too.
  Syn(50051);
  const auto raw = Data(50051, Bytes{'h', 'i', '\n'});
  EXPECT_EQ(raw.verdict, Verdict::kDeny);
  EXPECT_TRUE(confirmer_.asked.empty());
}

TEST_F(NameConfirmationTest, PortNoRuleCoversIsDeniedAtTheSyn) {
  Make();
  const auto out = Send(
      testing::Ipv4(kTablet, kServer, 6, testing::Tcp(50060, 8443, tcp_flags::kSyn, {}, kIsn - 1)));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kNoDnsAttestation);
}

TEST_F(NameConfirmationTest, FrontingToAnAddressDnsNamedOtherwiseIsNotConfirmed) {
  Make();
  // DNS named the address for a host no rule allows; the app sends an
  // allowed SNI to it: fronting, denied at once, the resolver not asked.
  Send(testing::Ipv4(kTablet, kResolver, 17,
                     testing::Udp(40000, 53, DnsQuestionA(9, "cdn.analytics.example"))));
  Send(testing::Ipv4(
      kResolver, kTablet, 17,
      testing::Udp(53, 40000, DnsAnswerA(9, "cdn.analytics.example", {198, 51, 100, 10}))));
  const auto syn = Syn(50070);
  EXPECT_EQ(syn.verdict, Verdict::kDeny);
  const auto out = Data(50070, Hello("api.mapbox.com"));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_TRUE(confirmer_.asked.empty());
}

TEST_F(NameConfirmationTest, HttpHostSwitchWhileAskingIsDenied) {
  Make();
  Send(testing::Ipv4(kTablet, kServer, 6, testing::Tcp(50080, 80, tcp_flags::kSyn, {}, kIsn - 1)));
  const std::string two =
      "GET / HTTP/1.1\r\nHost: api.mapbox.com\r\n\r\nGET / HTTP/1.1\r\nHost: evil.example\r\n\r\n";
  const auto out = Send(testing::Ipv4(kTablet, kServer, 6,
                                      testing::Tcp(50080, 80, tcp_flags::kAck | tcp_flags::kPsh,
                                                   Bytes(two.begin(), two.end()), kIsn, 5001)));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
}

class FlowRecorder : public EventSink {
 public:
  void OnFlow(const Flow& f, int) override { flows.push_back(f); }
  void OnDns(const DnsRecord&, int) override {}
  std::vector<Flow> flows;
};

TEST_F(NameConfirmationTest, AFlowEndingWhileAskingIsReportedUnconfirmed) {
  Make();
  FlowRecorder rec;
  engine_->AddSink(&rec);
  Syn(50100);
  EXPECT_TRUE(Data(50100, Hello("api.mapbox.com")).awaiting_name);
  engine_->Finish();
  ASSERT_EQ(rec.flows.size(), 1u);
  EXPECT_EQ(rec.flows[0].verdict, Verdict::kDeny);
  EXPECT_EQ(rec.flows[0].reason, Reason::kUnconfirmed);
}

TEST_F(NameConfirmationTest, WithoutAConfirmerTheOptInHasNoEffect) {
  Make(false);  // `audit`
  const auto syn = Syn(50090);
  EXPECT_EQ(syn.verdict, Verdict::kDeny);
  EXPECT_EQ(syn.reason, Reason::kNoDnsAttestation);
  policy_.dns.confirm_revealed_names = false;
  Make(true);
  EXPECT_EQ(Syn(50091).reason, Reason::kNoDnsAttestation);
  EXPECT_TRUE(confirmer_.asked.empty());
}

}  // namespace
}  // namespace flightwall
