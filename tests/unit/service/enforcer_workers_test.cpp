// Workers that own their queue: names learned by one worker attest flows on
// another, a published snapshot is adopted by each worker with its event
// sink, apps are found again by name, and workers run on their own threads
// while snapshots are published (run under ThreadSanitizer in CI).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "policy/policy_loader.h"
#include "service/enforcer.h"
#include "unit/decode/frame_builder.h"
#include "unit/proto/proto_test_builders.h"

namespace flightwall {
namespace {

using testing::Bytes;

std::shared_ptr<const Policy> MakePolicy(const char* apps, const char* extra_host = "") {
  std::string text = std::string(R"(
version: 1
name: workers
flight_apps:
)") + apps + R"(
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com)" +
                     extra_host + R"(]
    ports: [443]
)";
  auto r = LoadPolicyFromString(text, "workers.yaml", ".");
  EXPECT_TRUE(r.policy) << (r.errors.empty() ? "" : r.errors[0].ToString());
  return std::make_shared<const Policy>(*r.policy);
}

constexpr const char* kOneApp = "  - name: tablet\n    sources: [192.0.2.0/24]\n";
constexpr const char* kTwoApps =
    "  - name: pilot\n    sources: [192.0.2.128/25]\n  - name: tablet\n"
    "    sources: [192.0.2.0/24]\n";

class Recorder : public VerdictSink {
 public:
  void Verdict(std::uint32_t id, NfqueueVerdict v, std::uint32_t) override { got[id] = v; }
  std::map<std::uint32_t, NfqueueVerdict> got;
};

class Events : public WorkerEvents {
 public:
  void Adopt(std::shared_ptr<const Policy> p) override { policy = std::move(p); }
  void OnFlow(const Flow&, int) override {}
  void OnDecision(const Flow& f, int) override {
    apps.push_back(f.app >= 0 ? policy->flight_apps[f.app].name : "");
    rules.push_back(f.rule >= 0 ? policy->allow[f.rule].name : "");
  }
  void OnDns(const DnsRecord&, int) override {}
  std::shared_ptr<const Policy> policy;
  std::vector<std::string> apps;
  std::vector<std::string> rules;
};

Bytes Question(bool answer) {
  Bytes b = {0x12,
             0x34,
             static_cast<std::uint8_t>(answer ? 0x81 : 0x01),
             static_cast<std::uint8_t>(answer ? 0x80 : 0x00),
             0,
             1,
             0,
             static_cast<std::uint8_t>(answer ? 1 : 0),
             0,
             0,
             0,
             0,
             3,
             'a',
             'p',
             'i',
             6,
             'm',
             'a',
             'p',
             'b',
             'o',
             'x',
             3,
             'c',
             'o',
             'm',
             0,
             0,
             1,
             0,
             1};
  if (answer) b.insert(b.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 198, 51, 100, 10});
  return b;
}

Bytes Hello() {
  testing::ClientHelloSpec spec;
  spec.sni = "api.mapbox.com";
  return testing::WrapInRecords(testing::BuildClientHello(spec));
}

class Feeder {
 public:
  Enforcer::Result Send(Enforcer& e, std::uint16_t worker, const Bytes& ip) {
    frames_.push_back(ip);
    RawPacket raw;
    raw.number = ++id;
    raw.time = time += 1000;
    raw.link = LinkType::kRaw;
    raw.data = frames_.back();
    return e.Handle(worker, raw, static_cast<std::uint32_t>(id));
  }
  std::uint64_t id = 0;
  Timestamp time = 1'700'000'000LL * kMicrosPerSecond;

 private:
  std::vector<Bytes> frames_;
};

TEST(EnforcerWorkersTest, DnsOnOneWorkerAttestsAConnectionOnAnother) {
  DaemonConfig config;
  Enforcer e(config, MakePolicy(kOneApp));
  Recorder r0, r1;
  const auto w0 = e.AddWorker(&r0);
  const auto w1 = e.AddWorker(&r1);
  Feeder f;
  f.Send(e, w0,
         testing::Ipv4("192.0.2.10", "203.0.113.53", 17, testing::Udp(40000, 53, Question(false))));
  f.Send(e, w0,
         testing::Ipv4("203.0.113.53", "192.0.2.10", 17, testing::Udp(53, 40000, Question(true))));
  EXPECT_EQ(e.NamedAddresses(), 1u);
  // The connection lands on the other worker and is attested.
  const auto syn = f.Send(e, w1,
                          testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                                        testing::Tcp(50000, 443, tcp_flags::kSyn, {}, 99)));
  EXPECT_EQ(syn.verdict, Verdict::kAllow);
  const auto hello = f.Send(
      e, w1,
      testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                    testing::Tcp(50000, 443, tcp_flags::kAck | tcp_flags::kPsh, Hello(), 100)));
  EXPECT_EQ(hello.verdict, Verdict::kAllow);
  EXPECT_EQ(r1.got[static_cast<std::uint32_t>(f.id)], NfqueueVerdict::kAccept);
  EXPECT_TRUE(r0.got.count(static_cast<std::uint32_t>(f.id)) == 0);  // only the owner answers
}

TEST(EnforcerWorkersTest, PublishedSnapshotIsAdoptedWithItsEventsAndAppsByName) {
  DaemonConfig config;
  Enforcer e(config, MakePolicy(kOneApp));
  Recorder rec;
  Events events;
  const auto w = e.AddWorker(&rec, nullptr, &events);
  Feeder f;
  // A flow of app "tablet" (index 0) starts under the first policy.
  f.Send(e, w,
         testing::Ipv4("192.0.2.10", "203.0.113.53", 17, testing::Udp(40000, 53, Question(false))));
  f.Send(e, w,
         testing::Ipv4("203.0.113.53", "192.0.2.10", 17, testing::Udp(53, 40000, Question(true))));
  f.Send(e, w,
         testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                       testing::Tcp(50001, 443, tcp_flags::kSyn, {}, 99)));
  // The new policy puts another app first: "tablet" is now index 1.
  e.Publish(config, MakePolicy(kTwoApps));
  EXPECT_EQ(events.policy->flight_apps.size(), 1u);  // not before the worker's next turn
  f.Send(e, w,
         testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                       testing::Tcp(50001, 443, tcp_flags::kAck | tcp_flags::kPsh, Hello(), 100)));
  EXPECT_EQ(events.policy->flight_apps.size(), 2u);
  f.Send(e, w,
         testing::Ipv4("198.51.100.10", "192.0.2.10", 6,
                       testing::Tcp(443, 50001, tcp_flags::kAck, {}, 900,
                                    100 + static_cast<std::uint32_t>(Hello().size()))));
  ASSERT_FALSE(events.apps.empty());
  EXPECT_EQ(events.apps.back(), "tablet");
  EXPECT_EQ(events.rules.back(), "tiles");  // decided before the reload, named after it
  EXPECT_EQ(e.CurrentPolicy()->flight_apps.size(), 2u);
}

// Two workers on their own threads and a third publishing snapshots: no
// data race (ThreadSanitizer), every packet gets exactly one verdict from
// its own worker.
TEST(EnforcerWorkersTest, WorkersRunConcurrentlyWithReloads) {
  DaemonConfig config;
  Enforcer e(config, MakePolicy(kOneApp));
  Recorder r[2];
  Events ev[2];
  const std::uint16_t w[2] = {e.AddWorker(&r[0], nullptr, &ev[0]),
                              e.AddWorker(&r[1], nullptr, &ev[1])};
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    for (int i = 0; i < 200 && !done.load(); ++i) {
      e.Publish(config, MakePolicy(i % 2 ? kTwoApps : kOneApp, i % 3 ? "" : ", x.example"));
      std::this_thread::yield();
    }
  });
  auto run = [&](int k) {
    Feeder f;
    for (int i = 0; i < 300; ++i) {
      const auto port = static_cast<std::uint16_t>(40000 + k * 1000 + i);
      f.Send(
          e, w[k],
          testing::Ipv4("192.0.2.10", "203.0.113.53", 17, testing::Udp(port, 53, Question(false))));
      f.Send(
          e, w[k],
          testing::Ipv4("203.0.113.53", "192.0.2.10", 17, testing::Udp(53, port, Question(true))));
      f.Send(e, w[k],
             testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                           testing::Tcp(port, 443, tcp_flags::kSyn, {}, 99)));
      f.Send(
          e, w[k],
          testing::Ipv4("192.0.2.10", "198.51.100.10", 6,
                        testing::Tcp(port, 443, tcp_flags::kAck | tcp_flags::kPsh, Hello(), 100)));
      if (i % 50 == 0) e.Tick(w[k], f.time);
    }
    EXPECT_EQ(r[k].got.size(), f.id);  // one verdict per packet, on its own worker
  };
  std::thread t0(run, 0);
  std::thread t1(run, 1);
  t0.join();
  t1.join();
  done = true;
  publisher.join();
  const EnforcerStats s = e.Stats();
  EXPECT_EQ(s.accepted + s.dropped, 2u * 4u * 300u);
}

}  // namespace
}  // namespace flightwall
