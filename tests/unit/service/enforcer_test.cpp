// The Enforcer's verdicts on hand-built traffic: what is accepted, dropped,
// held until its name is known, and which connmark lets the kernel take over.
#include "service/enforcer.h"

#include <gtest/gtest.h>

#include <map>

#include "firewall/rule_backend.h"
#include "policy/policy_loader.h"
#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

const char* kPolicy = R"(
version: 1
name: enforcer-test
mode: MODE
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: ["*.tiles.mapbox.com"]
    ports: [443]
)";

struct Recorded {
  NfqueueVerdict verdict;
  std::uint32_t mark;
};

class Recorder : public VerdictSink {
 public:
  void Verdict(std::uint32_t id, NfqueueVerdict v, std::uint32_t mark) override {
    got[id] = {v, mark};
  }
  std::map<std::uint32_t, Recorded> got;
};

Bytes ClientHello(const std::string& sni) {
  // Minimal TLS 1.2 ClientHello record with one server_name extension.
  Bytes ext;
  testing::Put16(&ext, 0);  // server_name
  Bytes list;
  list.push_back(0);
  testing::Put16(&list, static_cast<std::uint16_t>(sni.size()));
  list.insert(list.end(), sni.begin(), sni.end());
  Bytes sn;
  testing::Put16(&sn, static_cast<std::uint16_t>(list.size()));
  testing::Append(&sn, list);
  testing::Put16(&ext, static_cast<std::uint16_t>(sn.size()));
  testing::Append(&ext, sn);
  // Version and random in one go: growing a 2-byte vector draws a false
  // -Warray-bounds from GCC 12 at -O3 (GCC bug 107852).
  Bytes body(2 + 32, 0x11);
  body[0] = 0x03;
  body[1] = 0x03;
  body.push_back(0);  // session id
  testing::Put16(&body, 2);
  testing::Put16(&body, 0x1301);
  body.push_back(1);
  body.push_back(0);
  testing::Put16(&body, static_cast<std::uint16_t>(ext.size()));
  testing::Append(&body, ext);
  Bytes hs = {0x01, 0, 0, 0};
  hs[2] = static_cast<std::uint8_t>(body.size() >> 8);
  hs[3] = static_cast<std::uint8_t>(body.size());
  testing::Append(&hs, body);
  Bytes rec = {0x16, 0x03, 0x01};
  testing::Put16(&rec, static_cast<std::uint16_t>(hs.size()));
  testing::Append(&rec, hs);
  return rec;
}

class EnforcerTest : public ::testing::Test {
 protected:
  void Make(const char* mode = "enforce") {
    std::string text = kPolicy;
    text.replace(text.find("MODE"), 4, mode);
    auto r = LoadPolicyFromString(text, "enforcer-test.yaml", ".");
    ASSERT_TRUE(r.policy);
    policy_ = std::make_shared<const Policy>(*r.policy);
    enforcer_ = std::make_unique<Enforcer>(config_, policy_);
    worker_ = enforcer_->AddWorker(&rec_);
  }
  std::uint32_t Send(const Bytes& ip) {
    frames_.push_back(ip);
    RawPacket raw;
    raw.number = ++id_;
    raw.time = time_ += 1000;
    raw.monotonic = monotonic_ += 1000;
    raw.link = LinkType::kRaw;
    raw.data = frames_.back();
    enforcer_->Handle(worker_, raw, static_cast<std::uint32_t>(id_));
    return static_cast<std::uint32_t>(id_);
  }
  void Resolve(const char* name, const char* addr_text) {
    // A real DNS exchange through the engine so the address is attested.
    Bytes q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    Bytes qname;
    std::string n = name;
    std::size_t start = 0;
    while (start < n.size()) {
      auto dot = n.find('.', start);
      if (dot == std::string::npos) dot = n.size();
      qname.push_back(static_cast<std::uint8_t>(dot - start));
      qname.insert(qname.end(), n.begin() + start, n.begin() + dot);
      start = dot + 1;
    }
    qname.push_back(0);
    testing::Append(&q, qname);
    q.insert(q.end(), {0, 1, 0, 1});
    Bytes a = q;
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;
    a.insert(a.end(), {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4});
    const auto addr = testing::Addr(addr_text).Bytes();
    a.insert(a.end(), addr.begin(), addr.begin() + 4);
    EXPECT_EQ(
        rec_.got[Send(testing::Ipv4("192.0.2.10", "203.0.113.53", 17, testing::Udp(40000, 53, q)))]
            .verdict,
        NfqueueVerdict::kAccept);
    Send(testing::Ipv4("203.0.113.53", "192.0.2.10", 17, testing::Udp(53, 40000, a)));
  }

  DaemonConfig config_;
  std::shared_ptr<const Policy> policy_;
  std::unique_ptr<Enforcer> enforcer_;
  Recorder rec_;
  std::uint16_t worker_ = 0;
  std::vector<Bytes> frames_;
  std::uint64_t id_ = 0;
  Timestamp time_ = 1'700'000'000LL * kMicrosPerSecond;
  Timestamp monotonic_ = 5 * kMicrosPerSecond;  // seconds since boot
};

TEST_F(EnforcerTest, AllowedTlsFlowIsAcceptedAndBypassedOnceItsNameIsChecked) {
  Make();
  Resolve("a.tiles.mapbox.com", "198.51.100.10");
  const auto syn = Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                                      testing::Tcp(50000, 443, tcp_flags::kSyn, {}, 100)));
  EXPECT_EQ(rec_.got[syn].verdict, NfqueueVerdict::kAccept);
  EXPECT_EQ(rec_.got[syn].mark, 0u);  // not final before the ClientHello
  const auto hello = Send(testing::Ipv4(
      "192.0.2.10", "198.51.100.10", 6,
      testing::Tcp(50000, 443, tcp_flags::kAck, ClientHello("a.tiles.mapbox.com"), 101)));
  ASSERT_TRUE(rec_.got.count(hello));
  EXPECT_EQ(rec_.got[hello].verdict, NfqueueVerdict::kAccept);
  // Not final until the server acknowledged the judged bytes: before that a
  // "retransmission" with other bytes could still reach it.
  EXPECT_EQ(rec_.got[hello].mark, 0u);
  const std::uint32_t end =
      101 + static_cast<std::uint32_t>(ClientHello("a.tiles.mapbox.com").size());
  const auto ack = Send(testing::Ipv4("198.51.100.10", "192.0.2.10", 6,
                                      testing::Tcp(443, 50000, tcp_flags::kAck, {}, 900, end)));
  EXPECT_EQ(rec_.got[ack].verdict, NfqueueVerdict::kAccept);
  EXPECT_EQ(rec_.got[ack].mark, kConnmarkAllowed);
}

TEST_F(EnforcerTest, SplitClientHelloIsHeldThenReleasedTogether) {
  Make();
  Resolve("a.tiles.mapbox.com", "198.51.100.10");
  Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                     testing::Tcp(50001, 443, tcp_flags::kSyn, {}, 100)));
  const Bytes ch = ClientHello("a.tiles.mapbox.com");
  const Bytes first(ch.begin(), ch.begin() + 20);
  const Bytes rest(ch.begin() + 20, ch.end());
  const auto p1 = Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                                     testing::Tcp(50001, 443, tcp_flags::kAck, first, 101)));
  EXPECT_FALSE(rec_.got.count(p1)) << "the first part must be held";
  const auto p2 = Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                                     testing::Tcp(50001, 443, tcp_flags::kAck, rest, 121)));
  ASSERT_TRUE(rec_.got.count(p1));
  EXPECT_EQ(rec_.got[p1].verdict, NfqueueVerdict::kAccept);
  EXPECT_EQ(rec_.got[p2].verdict, NfqueueVerdict::kAccept);
}

TEST_F(EnforcerTest, FrontedClientHelloIsDroppedAndMarkedDenied) {
  Make();
  Resolve("a.tiles.mapbox.com", "198.51.100.10");
  Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                     testing::Tcp(50002, 443, tcp_flags::kSyn, {}, 100)));
  const auto hello = Send(testing::Ipv4(
      "192.0.2.10", "198.51.100.10", 6,
      testing::Tcp(50002, 443, tcp_flags::kAck, ClientHello("flightlog.dji.com"), 101)));
  EXPECT_EQ(rec_.got[hello].verdict, NfqueueVerdict::kDrop);
  EXPECT_EQ(rec_.got[hello].mark, kConnmarkDenied);
}

TEST_F(EnforcerTest, HardCodedIpIsDroppedAtTheSyn) {
  Make();
  const auto syn = Send(testing::Ipv4("192.0.2.10", "203.0.113.77", 6,
                                      testing::Tcp(50003, 443, tcp_flags::kSyn, {}, 100)));
  EXPECT_EQ(rec_.got[syn].verdict, NfqueueVerdict::kDrop);
  EXPECT_EQ(rec_.got[syn].mark, kConnmarkDenied);
}

TEST_F(EnforcerTest, DeniedDnsQuestionIsDroppedNotForwarded) {
  Make();
  Bytes q = {0x55, 0x55, 0x01, 0x00, 0,   1, 0,   0,   0,   0, 0, 0, 3, 'l', 'o',
             'g',  3,    'd',  'j',  'i', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
  const auto id = Send(testing::Ipv4("192.0.2.10", "203.0.113.53", 17, testing::Udp(40001, 53, q)));
  EXPECT_EQ(rec_.got[id].verdict, NfqueueVerdict::kDrop);
  const auto rogue =
      Send(testing::Ipv4("192.0.2.10", "203.0.113.99", 17, testing::Udp(40002, 53, q)));
  EXPECT_EQ(rec_.got[rogue].verdict, NfqueueVerdict::kDrop);
  const auto garbage = Send(
      testing::Ipv4("192.0.2.10", "203.0.113.53", 17, testing::Udp(40003, 53, Bytes(7, 0xff))));
  EXPECT_EQ(rec_.got[garbage].verdict, NfqueueVerdict::kDrop);
}

TEST_F(EnforcerTest, HeldPacketsExpireClosed) {
  Make();
  Resolve("a.tiles.mapbox.com", "198.51.100.10");
  Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                     testing::Tcp(50004, 443, tcp_flags::kSyn, {}, 100)));
  const Bytes ch = ClientHello("a.tiles.mapbox.com");
  const auto p1 = Send(testing::Ipv4(
      "192.0.2.10", "198.51.100.10", 6,
      testing::Tcp(50004, 443, tcp_flags::kAck, Bytes(ch.begin(), ch.begin() + 10), 101)));
  EXPECT_FALSE(rec_.got.count(p1));
  enforcer_->Tick(worker_, time_, monotonic_ + 10 * kMicrosPerSecond);
  ASSERT_TRUE(rec_.got.count(p1));
  EXPECT_EQ(rec_.got[p1].verdict, NfqueueVerdict::kDrop);
  EXPECT_EQ(enforcer_->Stats().held_expired, 1u);
}

TEST_F(EnforcerTest, HoldTimeoutIsMeasuredOnTheMonotonicClock) {
  Make();
  Resolve("a.tiles.mapbox.com", "198.51.100.10");
  Send(testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                     testing::Tcp(50006, 443, tcp_flags::kSyn, {}, 100)));
  const Bytes ch = ClientHello("a.tiles.mapbox.com");
  const auto p1 = Send(testing::Ipv4(
      "192.0.2.10", "198.51.100.10", 6,
      testing::Tcp(50006, 443, tcp_flags::kAck, Bytes(ch.begin(), ch.begin() + 10), 101)));
  // The wall clock jumps an hour ahead (GPS time after boot): nothing expires.
  enforcer_->Tick(worker_, time_ + 3600 * kMicrosPerSecond, monotonic_ + 1000);
  EXPECT_FALSE(rec_.got.count(p1));
  // The hold timeout passes on the monotonic clock: dropped, fail closed.
  enforcer_->Tick(worker_, time_, monotonic_ + 3 * kMicrosPerSecond);
  ASSERT_TRUE(rec_.got.count(p1));
  EXPECT_EQ(rec_.got[p1].verdict, NfqueueVerdict::kDrop);
}

TEST_F(EnforcerTest, AuditModeAcceptsEverything) {
  Make("audit");
  const auto syn = Send(testing::Ipv4("192.0.2.10", "203.0.113.77", 6,
                                      testing::Tcp(50005, 443, tcp_flags::kSyn, {}, 100)));
  EXPECT_EQ(rec_.got[syn].verdict, NfqueueVerdict::kAccept);
}

TEST_F(EnforcerTest, QueuedTrafficIsGovernedEvenWithoutAMatchingSource) {
  // The kernel rules chose this packet (e.g. by input interface); a source
  // outside flight_apps' CIDRs must not let it through unjudged.
  Make();
  const auto id = Send(testing::Ipv4("198.51.100.99", "203.0.113.77", 6,
                                     testing::Tcp(50006, 443, tcp_flags::kSyn, {}, 100)));
  EXPECT_EQ(rec_.got[id].verdict, NfqueueVerdict::kDrop);
}

}  // namespace
}  // namespace flightwall
