// Which flight app a flow belongs to when the daemon feeds the engine
// (Vantage::kQueue, output mode): two apps on the same box, told apart by
// the app the kernel rules put in the packet mark (uid and cgroup selectors
// alike, replies included) or, without a mark, by the socket uid.
#include <gtest/gtest.h>

#include <vector>

#include "engine/engine.h"
#include "policy/policy_loader.h"
#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

constexpr const char* kTwoApps = R"(
version: 1
name: two-apps
flight_apps:
  - name: pilot
    users: [pilot]
    cgroups: [/pilot.slice]
  - name: fly
    users: ["2002"]
    cgroups: [/fly.slice]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com]
    ports: [443]
)";

constexpr const char* kBox = "203.0.113.241";  // output mode: the apps run here
constexpr const char* kServer = "198.51.100.20";

class Recorder : public EventSink {
 public:
  void OnFlow(const Flow& f, int) override { flows.push_back(f); }
  void OnDns(const DnsRecord&, int) override {}
  std::vector<Flow> flows;
};

class AppAttributionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LoadPolicyFromString(kTwoApps, "two-apps.yaml", ".");
    ASSERT_TRUE(r.policy) << (r.errors.empty() ? "" : r.errors[0].ToString());
    policy_ = *r.policy;
    // What the daemon's load does (ResolveFlightAppUids): "pilot" is 1001.
    policy_.flight_apps[0].uids = {1001};
    policy_.flight_apps[1].uids = {2002};
    engine_ = std::make_unique<Engine>(policy_, Vantage::kQueue);
    engine_->AddSink(&rec_);
  }
  // One packet as NFQUEUE hands it over: uid -1 when the queue reports none
  // (replies, forwarded packets), marked_app -1 when the rules set no app.
  const Flow* Send(const Bytes& ip, std::int64_t uid, int marked_app) {
    frames_.push_back(ip);
    RawPacket raw;
    raw.number = ++number_;
    raw.time = time_ += 1000;
    raw.link = LinkType::kRaw;
    raw.data = frames_.back();
    raw.wire_length = static_cast<std::uint32_t>(raw.data.size());
    raw.uid = uid;
    raw.marked_app = marked_app;
    return engine_->Process(raw).flow;
  }
  const Flow* Syn(std::uint16_t port, std::int64_t uid, int marked_app) {
    return Send(testing::Ipv4(kBox, kServer, 6, testing::Tcp(port, 443, tcp_flags::kSyn, {}, 100)),
                uid, marked_app);
  }
  const Flow* SynAck(std::uint16_t port, int marked_app) {
    return Send(
        testing::Ipv4(kServer, kBox, 6,
                      testing::Tcp(443, port, tcp_flags::kSyn | tcp_flags::kAck, {}, 900, 101)),
        -1, marked_app);
  }
  std::string AppOfFlowFrom(std::uint16_t port) {
    for (const Flow& f : rec_.flows) {
      if (f.client_port == port) return f.app >= 0 ? policy_.flight_apps[f.app].name : "-";
    }
    return "no flow";
  }

  Policy policy_;
  std::unique_ptr<Engine> engine_;
  Recorder rec_;
  std::vector<Bytes> frames_;
  std::uint64_t number_ = 0;
  Timestamp time_ = 1'700'000'000LL * kMicrosPerSecond;
};

TEST_F(AppAttributionTest, UidsTellTwoAppsApartWithoutAMark) {
  ASSERT_NE(Syn(50001, 1001, -1), nullptr);  // "pilot", resolved by name
  SynAck(50001, -1);
  ASSERT_NE(Syn(50002, 2002, -1), nullptr);
  SynAck(50002, -1);
  engine_->Finish();
  EXPECT_EQ(AppOfFlowFrom(50001), "pilot");
  EXPECT_EQ(AppOfFlowFrom(50002), "fly");
}

TEST_F(AppAttributionTest, CgroupSelectedPacketsCarryTheirAppInTheMark) {
  // A process of neither user, in each app's cgroup: only the mark knows.
  Syn(50003, 4444, 0);
  SynAck(50003, 0);
  Syn(50004, 4444, 1);
  SynAck(50004, 1);
  engine_->Finish();
  EXPECT_EQ(AppOfFlowFrom(50003), "pilot");
  EXPECT_EQ(AppOfFlowFrom(50004), "fly");
}

TEST_F(AppAttributionTest, TheMarkWinsOverTheUid) {
  // pilot's uid running inside fly's cgroup: the rules matched fly first.
  Syn(50005, 1001, 1);
  engine_->Finish();
  EXPECT_EQ(AppOfFlowFrom(50005), "fly");
}

TEST_F(AppAttributionTest, AFlowFirstSeenInReplyTakesTheConnectionsApp) {
  // The daemon started mid-connection: the first packet it sees is the
  // server's, with no uid; the connmark restored into the mark names fly.
  ASSERT_NE(SynAck(50006, 1), nullptr);
  engine_->Finish();
  EXPECT_EQ(AppOfFlowFrom(50006), "fly");
}

TEST_F(AppAttributionTest, NeitherMarkNorKnownUidFallsBackToTheFirstApp) {
  // The kernel rules selected the packet, so it is governed all the same.
  Syn(50007, 4444, -1);
  engine_->Finish();
  EXPECT_EQ(AppOfFlowFrom(50007), "pilot");
}

}  // namespace
}  // namespace flightwall
