// Fail closed: every way the inspection of a flow's first payload can stop
// short is an outcome that denies, and bytes judged once stay judged. The
// traffic is what an adversarial flight app would send to a CDN address that
// DNS attested for an allowed tile host and a denied analytics host alike.
#include <gtest/gtest.h>

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
name: outcomes
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com]
    ports: [443, 80]
)";

constexpr const char* kTablet = "192.0.2.10";
constexpr const char* kResolver = "203.0.113.53";
constexpr const char* kCdn = "198.51.100.10";
constexpr std::uint32_t kIsn = 1000;

Bytes DnsQuestion(std::uint16_t id, std::string_view name) {
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
  Bytes b = DnsQuestion(id, name);
  b[2] = 0x81;
  b[3] = 0x80;
  b[7] = 1;  // one answer
  b.insert(b.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4});
  b.insert(b.end(), addr.begin(), addr.end());
  return b;
}

Bytes Hello(const std::string& sni, std::size_t alpn_values = 0, bool ech = false,
            bool with_sni = true) {
  testing::ClientHelloSpec spec;
  spec.sni = sni;
  spec.include_sni = with_sni;
  spec.ech = ech;
  for (std::size_t i = 0; i < alpn_values; ++i) spec.alpn.push_back("proto-" + std::to_string(i));
  const Bytes handshake = testing::BuildClientHello(spec);
  // Records of at most 16 KiB, as a TLS stack sends them.
  std::vector<std::size_t> sizes(handshake.size() / 16384 + 1, 16384);
  return testing::WrapInRecords(handshake, sizes);
}

Bytes Slice(const Bytes& b, std::size_t from, std::size_t n) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from),
               b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), from + n)));
}

class InspectionOutcomesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LoadPolicyFromString(kPolicy, "outcomes.yaml", ".");
    ASSERT_TRUE(r.policy);
    policy_ = *r.policy;
  }
  void Make(const EngineLimits& limits = {}) {
    engine_ = std::make_unique<Engine>(policy_, Vantage::kNetwork, limits);
    // The CDN address is attested for the tile host and the analytics host.
    Dns(7, "api.mapbox.com");
    Dns(8, "sdk.analytics.example");
  }
  void Dns(std::uint16_t id, std::string_view name) {
    Send(testing::Ipv4(kTablet, kResolver, 17, testing::Udp(40000, 53, DnsQuestion(id, name))));
    Send(testing::Ipv4(kResolver, kTablet, 17,
                       testing::Udp(53, 40000, DnsAnswerA(id, name, {198, 51, 100, 10}))));
  }
  PacketOutcome Send(const Bytes& ip_packet) { return feeder_.Send(*engine_, ip_packet); }
  PacketOutcome Syn(std::uint16_t port, std::uint16_t dport = 443) {
    return Send(
        testing::Ipv4(kTablet, kCdn, 6, testing::Tcp(port, dport, tcp_flags::kSyn, {}, kIsn - 1)));
  }
  // Client bytes at stream offset `at` (0 = the first payload byte).
  PacketOutcome Data(std::uint16_t port, std::size_t at, const Bytes& bytes,
                     std::uint16_t dport = 443) {
    return Send(testing::Ipv4(kTablet, kCdn, 6,
                              testing::Tcp(port, dport, tcp_flags::kAck | tcp_flags::kPsh, bytes,
                                           kIsn + static_cast<std::uint32_t>(at), 5001)));
  }
  PacketOutcome ServerAck(std::uint16_t port, std::size_t acked, std::uint16_t sport = 443) {
    return Send(testing::Ipv4(kCdn, kTablet, 6,
                              testing::Tcp(sport, port, tcp_flags::kAck, {}, 5001,
                                           kIsn + static_cast<std::uint32_t>(acked))));
  }

  Policy policy_;
  std::unique_ptr<Engine> engine_;
  testing::PacketFeeder feeder_;
};

TEST_F(InspectionOutcomesTest, CompleteHelloAllowsAndIsFinalOnlyOnceAcknowledged) {
  Make();
  EXPECT_EQ(Syn(50000).verdict, Verdict::kAllow);
  const Bytes ch = Hello("api.mapbox.com");
  const auto out = Data(50000, 0, ch);
  EXPECT_EQ(out.verdict, Verdict::kAllow);
  EXPECT_FALSE(out.awaiting_name);
  EXPECT_FALSE(out.final);  // the server has not acknowledged the judged bytes yet
  EXPECT_EQ(out.flow->inspection, Inspection::kComplete);
  EXPECT_FALSE(ServerAck(50000, ch.size() - 1).final);
  EXPECT_TRUE(ServerAck(50000, ch.size()).final);
}

TEST_F(InspectionOutcomesTest, DeniedNameOnASharedAddressIsDenied) {
  Make();
  Syn(50001);
  const auto out = Data(50001, 0, Hello("sdk.analytics.example"));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kNameNotAllowed);
  EXPECT_TRUE(out.final);
}

TEST_F(InspectionOutcomesTest, HelloWithoutSniIsDeniedUnlessTheRuleOptsIn) {
  Make();
  Syn(50002);
  const auto out = Data(50002, 0, Hello("", 0, false, false));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kNoNameRevealed);
  EXPECT_EQ(engine_->Stats().inspection_incomplete, 1u);
  policy_.allow[0].allow_without_name = true;
  Make();
  Syn(50003);
  const auto allowed = Data(50003, 0, Hello("", 0, false, false));
  EXPECT_EQ(allowed.verdict, Verdict::kAllow);
  EXPECT_EQ(allowed.reason, Reason::kAllowedWithoutName);
}

TEST_F(InspectionOutcomesTest, EncryptedClientHelloIsDenied) {
  Make();
  Syn(50004);
  const auto out = Data(50004, 0, Hello("api.mapbox.com", 0, true));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kEncryptedClientHello);
}

TEST_F(InspectionOutcomesTest, OversizeHelloParsesAndIsJudgedByName) {
  Make();
  const Bytes big_denied = Hello("sdk.analytics.example", 1800);  // ~18 KB, two records
  ASSERT_GT(big_denied.size(), 16384u);
  Syn(50005);
  PacketOutcome out;
  for (std::size_t at = 0; at < big_denied.size(); at += 1400) {
    out = Data(50005, at, Slice(big_denied, at, 1400));
    if (at + 1400 < big_denied.size()) {
      EXPECT_TRUE(out.awaiting_name) << at;
    }
  }
  EXPECT_EQ(out.reason, Reason::kNameNotAllowed);
  const Bytes big_allowed = Hello("api.mapbox.com", 1800);
  Syn(50006);
  for (std::size_t at = 0; at < big_allowed.size(); at += 1400) {
    out = Data(50006, at, Slice(big_allowed, at, 1400));
  }
  EXPECT_EQ(out.verdict, Verdict::kAllow);
  EXPECT_EQ(out.flow->inspection, Inspection::kComplete);
}

TEST_F(InspectionOutcomesTest, HelloBeyondTheBufferIsTooLarge) {
  EngineLimits limits;
  limits.stream_buffer_bytes = 4096;
  Make(limits);
  const Bytes ch = Hello("api.mapbox.com", 600);
  ASSERT_GT(ch.size(), 4096u);
  Syn(50007);
  PacketOutcome out;
  for (std::size_t at = 0; at < ch.size() && out.verdict != Verdict::kDeny; at += 1000) {
    out = Data(50007, at, Slice(ch, at, 1000));
  }
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kTooLarge);
}

TEST_F(InspectionOutcomesTest, OneByteSegmentsAndOneByteRecordsAreRead) {
  Make();
  testing::ClientHelloSpec spec;
  spec.sni = "sdk.analytics.example";
  const Bytes handshake = testing::BuildClientHello(spec);
  const Bytes tiny =
      testing::WrapInRecords(handshake, std::vector<std::size_t>(handshake.size(), 1));
  Syn(50008);
  PacketOutcome out;
  for (std::size_t at = 0; at < tiny.size(); ++at) {
    out = Data(50008, at, Slice(tiny, at, 1));
    if (at + 1 < tiny.size()) {
      ASSERT_TRUE(out.awaiting_name) << at;
    }
  }
  EXPECT_EQ(out.reason, Reason::kNameNotAllowed);
}

TEST_F(InspectionOutcomesTest, SegmentBeyondAHoleIsRefusedUntilTheHoleIsFilled) {
  Make();
  const Bytes ch = Hello("api.mapbox.com");
  const std::size_t half = ch.size() / 2;
  Syn(50009);
  const auto ahead = Data(50009, half, Slice(ch, half, ch.size()));
  EXPECT_TRUE(ahead.drop_packet);
  EXPECT_EQ(ahead.verdict, Verdict::kAllow);  // provisional: nothing judged yet
  EXPECT_EQ(engine_->Stats().stream_gaps, 1u);
  EXPECT_TRUE(Data(50009, 0, Slice(ch, 0, half)).awaiting_name);
  const auto rest = Data(50009, half, Slice(ch, half, ch.size()));
  EXPECT_FALSE(rest.drop_packet);
  EXPECT_EQ(rest.flow->inspection, Inspection::kComplete);
}

TEST_F(InspectionOutcomesTest, SegmentBeyondAHolePassesOnceNothingIsLeftToRead) {
  // A judged and acknowledged ClientHello: what follows is encrypted and
  // never read, so a segment past a lost one only stalls the upload if it
  // is refused (a bulk upload through every-packet mode ran at 2 % of its
  // speed). The verdict, not the hole, decides its fate.
  Make();
  const Bytes ch = Hello("api.mapbox.com");
  Syn(50015);
  ASSERT_EQ(Data(50015, 0, ch).verdict, Verdict::kAllow);
  ASSERT_TRUE(ServerAck(50015, ch.size()).final);
  const Bytes app(200, 0x17);
  const auto ahead = Data(50015, ch.size() + 1000, app);
  EXPECT_FALSE(ahead.drop_packet);
  EXPECT_EQ(ahead.verdict, Verdict::kAllow);
  EXPECT_EQ(engine_->Stats().stream_gaps, 1u);
}

TEST_F(InspectionOutcomesTest, PlainHttpSegmentBeyondAHoleIsStillRefused) {
  // Every plain-HTTP request is judged, so its stream is read in order for
  // as long as the connection lives, allowed or not.
  Make();
  const std::string get = "GET /a HTTP/1.1\r\nHost: api.mapbox.com\r\n\r\n";
  const Bytes request(get.begin(), get.end());
  Syn(50016, 80);
  ASSERT_EQ(Data(50016, 0, request, 80).verdict, Verdict::kAllow);
  ServerAck(50016, request.size(), 80);
  const auto ahead = Data(50016, request.size() + 100, request, 80);
  EXPECT_TRUE(ahead.drop_packet);
}

TEST_F(InspectionOutcomesTest, RetransmissionWithOtherBytesIsAConflict) {
  Make();
  const Bytes good = Hello("api.mapbox.com");
  Bytes evil = Hello("api.mapbox.org");  // same length, other name
  ASSERT_EQ(good.size(), evil.size());
  Syn(50010);
  EXPECT_EQ(Data(50010, 0, good).verdict, Verdict::kAllow);
  // The first copy "got lost" after the gateway: a retransmission of the
  // same range with other bytes is what the server would read.
  const auto out = Data(50010, 0, evil);
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kOverlapConflict);
  // An identical retransmission is fine.
  Syn(50011);
  Data(50011, 0, Slice(good, 0, 100));
  EXPECT_FALSE(Data(50011, 0, Slice(good, 0, 100)).flow->inspection != Inspection::kPending);
  const auto overlap = Data(50011, 50, Slice(good, 50, good.size()));
  EXPECT_EQ(overlap.verdict, Verdict::kAllow);
  EXPECT_EQ(overlap.flow->inspection, Inspection::kComplete);
  // Once acknowledged, the server holds the judged bytes: a late copy with
  // other bytes cannot change what it read.
  ServerAck(50011, good.size());
  EXPECT_EQ(Data(50011, 0, evil).verdict, Verdict::kAllow);
}

TEST_F(InspectionOutcomesTest, ExhaustedPoolDeniesTheNewcomerAndEvictsNobody) {
  EngineLimits limits;
  limits.stream_buffers = 2;
  Make(limits);
  const Bytes ch = Hello("api.mapbox.com");
  for (std::uint16_t port : {50020, 50021}) {
    Syn(port);
    EXPECT_TRUE(Data(port, 0, Slice(ch, 0, 10)).awaiting_name);
  }
  Syn(50022);
  const auto out = Data(50022, 0, Hello("sdk.analytics.example"));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kPoolExhausted);
  EXPECT_EQ(engine_->Stats().stream_buffer_exhausted, 1u);
  // The inspections in progress go on.
  const auto first = Data(50020, 10, Slice(ch, 10, ch.size()));
  EXPECT_EQ(first.verdict, Verdict::kAllow);
  EXPECT_EQ(first.flow->inspection, Inspection::kComplete);
}

// Denied flows whose bytes the server never acknowledges (they were dropped)
// lived for the TCP idle timeout: an app that opened denied connections
// filled the pool and every allowed newcomer on that queue was denied
// pool-exhausted (seen in scripts/soak). A deny is final: a denied flow's
// slot goes once its name was read, and yields to a newcomer before that.
TEST_F(InspectionOutcomesTest, DeniedFlowsGiveTheirSlotBack) {
  EngineLimits limits;
  limits.stream_buffers = 2;
  Make(limits);
  Syn(50040);
  EXPECT_EQ(Data(50040, 0, Hello("sdk.analytics.example")).reason, Reason::kNameNotAllowed);
  const std::string_view head = "POST / HTTP/1.1\r\nHost: sdk.analytics.example\r\n\r\n";
  const Bytes upload(head.begin(), head.end());
  Syn(50041, 80);
  EXPECT_EQ(Data(50041, 0, upload, 80).reason, Reason::kNameNotAllowed);
  // More from the denied flows (no server ACK ever comes): the HTTP one is
  // still read for evidence, the TLS one has nothing left to read.
  EXPECT_EQ(Data(50041, upload.size(), upload, 80).verdict, Verdict::kDeny);
  EXPECT_EQ(Data(50040, 5000, Bytes(100, 0x17)).verdict, Verdict::kDeny);
  // Both allowed newcomers get a slot: the one the TLS flow gave back and
  // the denied HTTP flow's, which yields.
  for (std::uint16_t port : {50042, 50043}) {
    Syn(port);
    const auto out = Data(port, 0, Hello("api.mapbox.com"));
    EXPECT_EQ(out.verdict, Verdict::kAllow) << port;
    EXPECT_EQ(out.flow->inspection, Inspection::kComplete) << port;
  }
  EXPECT_EQ(engine_->Stats().stream_buffer_exhausted, 0u);
  // The pool is now full of inspections in progress, not of denied flows.
  Syn(50044);
  EXPECT_EQ(Data(50044, 0, Slice(Hello("api.mapbox.com"), 0, 10)).reason, Reason::kPoolExhausted);
}

TEST_F(InspectionOutcomesTest, StalledInspectionsAreTakenBackWhenThePoolIsFull) {
  EngineLimits limits;
  limits.stream_buffers = 1;
  Make(limits);
  const Bytes ch = Hello("api.mapbox.com");
  Syn(50023);
  EXPECT_TRUE(Data(50023, 0, Slice(ch, 0, 10)).awaiting_name);
  // Its bytes never come; long after, a newcomer gets the slot and the
  // stalled flow is denied (never allowed).
  feeder_.time += 11 * kMicrosPerSecond;
  Syn(50024);
  const auto out = Data(50024, 0, ch);
  EXPECT_EQ(out.verdict, Verdict::kAllow);
  EXPECT_EQ(engine_->Stats().slots_reclaimed, 1u);
  const auto stalled = Data(50023, 10, Slice(ch, 10, ch.size()));
  EXPECT_EQ(stalled.verdict, Verdict::kDeny);
  EXPECT_EQ(stalled.reason, Reason::kGap);
}

// TCP Fast Open: the ClientHello rides on the SYN.
TEST_F(InspectionOutcomesTest, ClientHelloOnTheSynIsRead) {
  Make();
  const auto allowed = Send(
      testing::Ipv4(kTablet, kCdn, 6,
                    testing::Tcp(50032, 443, tcp_flags::kSyn, Hello("api.mapbox.com"), kIsn - 1)));
  EXPECT_EQ(allowed.flow->inspection, Inspection::kComplete);
  EXPECT_EQ(allowed.verdict, Verdict::kAllow);
  const auto denied = Send(testing::Ipv4(
      kTablet, kCdn, 6,
      testing::Tcp(50033, 443, tcp_flags::kSyn, Hello("sdk.analytics.example"), kIsn - 1)));
  EXPECT_EQ(denied.reason, Reason::kNameNotAllowed);
}

TEST_F(InspectionOutcomesTest, MidstreamPickupIsAGap) {
  Make();
  const auto out = Data(50030, 0, Hello("api.mapbox.com"));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kGap);
}

TEST_F(InspectionOutcomesTest, UnrecognizedBytesAreDenied) {
  Make();
  Syn(50031);
  const Bytes junk(64, 0x42);
  const auto out = Data(50031, 0, junk);
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kUnrecognizedProtocol);
}

TEST_F(InspectionOutcomesTest, HttpIsJudgedRequestByRequest) {
  Make();
  const std::string no_host = "GET /t.png HTTP/1.0\r\n\r\n";
  Syn(50040, 80);
  const auto nameless = Data(50040, 0, Bytes(no_host.begin(), no_host.end()), 80);
  EXPECT_EQ(nameless.reason, Reason::kNoNameRevealed);
  const std::string a = "GET /t.png HTTP/1.1\r\nHost: api.mapbox.com\r\n\r\n";
  const std::string b =
      "POST /u HTTP/1.1\r\nHost: sdk.analytics.example\r\nContent-Length: 2\r\n\r\nhi";
  Syn(50041, 80);
  EXPECT_EQ(Data(50041, 0, Bytes(a.begin(), a.end()), 80).verdict, Verdict::kAllow);
  // A head cut in two is held until its Host is known.
  const Bytes second(b.begin(), b.end());
  EXPECT_TRUE(Data(50041, a.size(), Slice(second, 0, 20), 80).awaiting_name);
  const auto out = Data(50041, a.size() + 20, Slice(second, 20, second.size()), 80);
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kNameNotAllowed);
}

TEST_F(InspectionOutcomesTest, HttpServerDataBypassesOnlyBetweenRequests) {
  using Bypass = PacketOutcome::ReplyBypass;
  Make();
  const std::string a = "GET /1.png HTTP/1.1\r\nHost: api.mapbox.com\r\n\r\n";
  const std::string b = "GET /2.png HTTP/1.1\r\nHost: api.mapbox.com\r\n\r\n";
  const std::string c =
      "POST /u HTTP/1.1\r\nHost: sdk.analytics.example\r\nContent-Length: 2\r\n\r\nhi";
  Syn(50060, 80);
  const auto first = Data(50060, 0, Bytes(a.begin(), a.end()), 80);
  EXPECT_EQ(first.verdict, Verdict::kAllow);
  EXPECT_FALSE(first.final);
  EXPECT_EQ(first.reply_bypass, Bypass::kUnchanged);  // the request is not acknowledged yet
  // The server acknowledged every judged byte: its data may pass in the kernel.
  EXPECT_EQ(ServerAck(50060, a.size(), 80).reply_bypass, Bypass::kOn);
  EXPECT_EQ(ServerAck(50060, a.size(), 80).reply_bypass, Bypass::kUnchanged);
  // A new request turns it off: its acknowledgement has to be seen.
  const auto second = Data(50060, a.size(), Bytes(b.begin(), b.end()), 80);
  EXPECT_EQ(second.verdict, Verdict::kAllow);
  EXPECT_EQ(second.reply_bypass, Bypass::kOff);
  EXPECT_EQ(ServerAck(50060, a.size(), 80).reply_bypass, Bypass::kUnchanged);
  EXPECT_EQ(ServerAck(50060, a.size() + b.size(), 80).reply_bypass, Bypass::kOn);
  // The client's next request is still read, and denied.
  const auto third = Data(50060, a.size() + b.size(), Bytes(c.begin(), c.end()), 80);
  EXPECT_EQ(third.verdict, Verdict::kDeny);
  EXPECT_EQ(third.reason, Reason::kNameNotAllowed);
  EXPECT_TRUE(third.final);
}

TEST_F(InspectionOutcomesTest, DnsOverTcpDeniedQuestionDeniesTheConnection) {
  Make();
  const Bytes q = DnsQuestion(9, "exfil.analytics.example");
  Bytes framed = {static_cast<std::uint8_t>(q.size() >> 8), static_cast<std::uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  Send(
      testing::Ipv4(kTablet, kResolver, 6, testing::Tcp(50050, 53, tcp_flags::kSyn, {}, kIsn - 1)));
  auto ask = [&] {
    return Send(
        testing::Ipv4(kTablet, kResolver, 6,
                      testing::Tcp(50050, 53, tcp_flags::kAck | tcp_flags::kPsh, framed, kIsn, 1)));
  };
  const auto first = ask();
  EXPECT_TRUE(first.dns_question_denied);
  EXPECT_EQ(first.verdict, Verdict::kDeny);
  EXPECT_TRUE(first.final);
  // The client's retransmission carries the same bytes: still denied.
  EXPECT_EQ(ask().verdict, Verdict::kDeny);
}

TEST_F(InspectionOutcomesTest, DnsOverTcpWithoutAReassemblerIsDenied) {
  EngineLimits limits;
  limits.dns_tcp_reassemblers = 1;
  Make(limits);
  const Bytes q = DnsQuestion(10, "api.mapbox.com");
  Bytes framed = {static_cast<std::uint8_t>(q.size() >> 8), static_cast<std::uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  for (std::uint16_t port : {50060, 50061}) {
    Send(testing::Ipv4(kTablet, kResolver, 6,
                       testing::Tcp(port, 53, tcp_flags::kSyn, {}, kIsn - 1)));
  }
  // The first holds the only reassembler with half a length prefix.
  Send(testing::Ipv4(kTablet, kResolver, 6,
                     testing::Tcp(50060, 53, tcp_flags::kAck, Bytes{0}, kIsn, 1)));
  const auto out = Send(testing::Ipv4(kTablet, kResolver, 6,
                                      testing::Tcp(50061, 53, tcp_flags::kAck, framed, kIsn, 1)));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kPoolExhausted);
}

TEST_F(InspectionOutcomesTest, QuicVersionsThatCannotBeReadAreDenied) {
  Make();
  // A long header of a greased version: first byte with the fixed bit, then
  // version 0x1a2a3a4a, DCID and SCID lengths and bytes.
  Bytes greased = {0xc3, 0x1a, 0x2a, 0x3a, 0x4a, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0};
  greased.resize(1200, 0);
  const auto out = Send(testing::Ipv4(kTablet, kCdn, 17, testing::Udp(51000, 443, greased)));
  EXPECT_EQ(out.verdict, Verdict::kDeny);
  EXPECT_EQ(out.reason, Reason::kUnknownVersion);
  Bytes short_header = {0x40, 1, 2, 3, 4, 5, 6, 7, 8};
  short_header.resize(100, 0);
  const auto other = Send(testing::Ipv4(kTablet, kCdn, 17, testing::Udp(51001, 443, short_header)));
  EXPECT_EQ(other.reason, Reason::kUnrecognizedProtocol);
}

Bytes QuicInitial(const std::string& sni, const Bytes& dcid, const Bytes& key_dcid = {},
                  std::uint64_t pn = 0) {
  testing::ClientHelloSpec hello;
  hello.sni = sni;
  hello.quic_transport_parameters = true;
  testing::InitialSpec spec;
  spec.dcid = dcid;
  spec.key_dcid = key_dcid;
  spec.packet_number = pn;
  return testing::SealInitial(spec, testing::CryptoFrame(0, testing::BuildClientHello(hello)));
}

// A judged QUIC flow stays queued: another connection on the same 5-tuple
// has its ClientHello read too; the connection's own later Initials pass.
TEST_F(InspectionOutcomesTest, NewQuicConnectionOnAJudgedFlowIsReadAgain) {
  Make();
  const Bytes first_dcid = testing::FromHex("0102030405060708");
  const auto first = Send(testing::Ipv4(
      kTablet, kCdn, 17, testing::Udp(51010, 443, QuicInitial("api.mapbox.com", first_dcid))));
  EXPECT_EQ(first.verdict, Verdict::kAllow);
  EXPECT_EQ(first.flow->inspection, Inspection::kComplete);
  EXPECT_FALSE(first.final);  // never handed to the kernel
  // A later Initial of the same connection, sent to the server's chosen
  // CID but keyed on the first DCID: not a new ClientHello.
  const auto later = Send(testing::Ipv4(
      kTablet, kCdn, 17,
      testing::Udp(51010, 443,
                   QuicInitial("api.mapbox.com", testing::FromHex("aabbccdd"), first_dcid, 1))));
  EXPECT_EQ(later.verdict, Verdict::kAllow);
  EXPECT_FALSE(later.awaiting_name);
  // A new connection on the same 5-tuple naming the denied host.
  const auto second = Send(testing::Ipv4(
      kTablet, kCdn, 17,
      testing::Udp(51010, 443,
                   QuicInitial("sdk.analytics.example", testing::FromHex("1112131415161718")))));
  EXPECT_EQ(second.verdict, Verdict::kDeny);
  EXPECT_EQ(second.reason, Reason::kNameNotAllowed);
}

}  // namespace
}  // namespace flightwall
