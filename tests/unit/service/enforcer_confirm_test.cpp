// The Enforcer with dns.confirm_revealed_names and a fake confirmer: the
// ClientHello to an unattested address is held (an ACK of the client's does
// not release it) until a tick finds the answer; confirmed releases it,
// anything else drops it.
#include <gtest/gtest.h>

#include <map>

#include "policy/policy_loader.h"
#include "service/enforcer.h"
#include "unit/decode/frame_builder.h"
#include "unit/proto/proto_test_builders.h"

namespace flightwall {
namespace {

using testing::Bytes;

const char* const kConfirmPolicy = R"(
version: 1
name: enforcer-confirm
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [203.0.113.53]
  confirm_revealed_names: true
allow:
  - name: tiles
    hosts: ["*.tiles.mapbox.com"]
    ports: [443]
)";

class Verdicts : public VerdictSink {
 public:
  void Verdict(std::uint32_t id, NfqueueVerdict v, std::uint32_t /*mark*/) override { got[id] = v; }
  std::map<std::uint32_t, NfqueueVerdict> got;
};

class StubConfirmer : public NameConfirmer {
 public:
  ConfirmResult Confirm(std::string_view, const IpAddress&, const IpAddress&) override {
    return answer;
  }
  ConfirmResult answer{ConfirmState::kPending, 0};
};

class EnforcerConfirmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LoadPolicyFromString(kConfirmPolicy, "enforcer-confirm.yaml", ".");
    ASSERT_TRUE(r.policy);
    enforcer_ = std::make_unique<Enforcer>(config_, std::make_shared<const Policy>(*r.policy));
    enforcer_->SetNameConfirmer(&confirmer_);
    worker_ = enforcer_->AddWorker(&verdicts_);
  }
  std::uint32_t Send(const Bytes& ip) {
    frames_.push_back(ip);
    RawPacket raw;
    raw.number = ++id_;
    raw.time = time_ += 1000;
    raw.monotonic = time_;
    raw.link = LinkType::kRaw;
    raw.data = frames_.back();
    enforcer_->Handle(worker_, raw, static_cast<std::uint32_t>(id_));
    return static_cast<std::uint32_t>(id_);
  }
  void Tick() {
    time_ += 1000;
    enforcer_->Tick(worker_, time_, time_);
  }
  // Handshake, then the ClientHello; returns the hello's packet id.
  std::uint32_t Hello(std::uint16_t port) {
    Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                       testing::Tcp(port, 443, tcp_flags::kSyn, {}, 999)));
    Send(testing::Ipv4("198.51.100.10", "192.0.2.10", 6,
                       testing::Tcp(443, port, tcp_flags::kSyn | tcp_flags::kAck, {}, 5000, 1000)));
    testing::ClientHelloSpec spec;
    spec.sni = "a.tiles.mapbox.com";
    const Bytes hs = testing::BuildClientHello(spec);
    return Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                              testing::Tcp(port, 443, tcp_flags::kAck | tcp_flags::kPsh,
                                           testing::WrapInRecords(hs, {hs.size()}), 1000, 5001)));
  }
  std::uint32_t ClientAck(std::uint16_t port) {
    return Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                              testing::Tcp(port, 443, tcp_flags::kAck, {}, 1000, 5001)));
  }

  StubConfirmer confirmer_;
  Verdicts verdicts_;
  DaemonConfig config_;
  std::unique_ptr<Enforcer> enforcer_;
  std::uint16_t worker_ = 0;
  std::vector<Bytes> frames_;
  std::uint64_t id_ = 0;
  Timestamp time_ = 1'700'000'000LL * kMicrosPerSecond;
};

TEST_F(EnforcerConfirmTest, ConfirmedReleasesTheHeldHelloAtATick) {
  const std::uint32_t hello = Hello(40000);
  EXPECT_EQ(verdicts_.got.at(1), NfqueueVerdict::kAccept);  // SYN: the documented cost
  EXPECT_EQ(verdicts_.got.count(hello), 0u);                // held
  EXPECT_EQ(verdicts_.got.at(ClientAck(40000)), NfqueueVerdict::kAccept);
  EXPECT_EQ(verdicts_.got.count(hello), 0u);  // an ACK does not release it
  Tick();
  EXPECT_EQ(verdicts_.got.count(hello), 0u);  // still pending
  confirmer_.answer = {ConfirmState::kConfirmed, 300};
  Tick();
  ASSERT_EQ(verdicts_.got.count(hello), 1u);
  EXPECT_EQ(verdicts_.got.at(hello), NfqueueVerdict::kAccept);
}

TEST_F(EnforcerConfirmTest, RefutedDropsTheHeldHello) {
  const std::uint32_t hello = Hello(40001);
  confirmer_.answer = {ConfirmState::kRefuted, 0};
  Tick();
  ASSERT_EQ(verdicts_.got.count(hello), 1u);
  EXPECT_EQ(verdicts_.got.at(hello), NfqueueVerdict::kDrop);
  EXPECT_EQ(verdicts_.got.at(ClientAck(40001)), NfqueueVerdict::kDrop);
}

}  // namespace
}  // namespace flightwall
