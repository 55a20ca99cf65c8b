// The numbered rules of local data mode, one decision at a time.
#include "policy/decide.h"

#include <gtest/gtest.h>

#include <vector>

#include "policy/policy_loader.h"

namespace flightwall {
namespace {

constexpr Timestamp kNow = 1'700'000'000LL * kMicrosPerSecond;

constexpr const char* kPolicy = R"(
version: 1
name: test
mode: enforce
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24, "2001:db8:1::/64"]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com, "*.tiles.mapbox.com"]
    ports: [443]
  - name: ntp
    cidrs: [198.51.100.123/32]
    ports: [123]
    transports: [udp]
)";

class DecideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LoadPolicyFromString(kPolicy, "test.yaml", ".");
    ASSERT_TRUE(r.policy) << (r.errors.empty() ? "" : r.errors[0].ToString());
    policy_ = *r.policy;
  }
  static NameBinding Bind(const char* name, bool trusted = true, std::uint32_t ttl = 300,
                          Timestamp at = kNow - 10 * kMicrosPerSecond) {
    NameBinding b;
    b.name.Assign(name);
    b.trusted = trusted;
    b.ttl = ttl;
    b.answered_at = at;
    return b;
  }
  Decision Flow(const char* dst, std::uint16_t port, std::vector<NameBinding> names,
                const char* revealed = "", Transport t = Transport::kTcp) {
    names_ = std::move(names);
    FlowFacts f;
    f.transport = t;
    f.dst = *IpAddress::Parse(dst);
    f.dst_port = port;
    f.now = kNow;
    f.dst_names = names_;
    f.revealed_name = revealed;
    f.revealed_source = *revealed ? NameSource::kSni : NameSource::kNone;
    return DecideFlow(policy_, f);
  }

  Policy policy_;
  std::vector<NameBinding> names_;
};

TEST_F(DecideTest, Rule1OnlyFlightAppTrafficIsGoverned) {
  AppContext tablet;
  tablet.source = *IpAddress::Parse("192.0.2.10");
  EXPECT_EQ(MatchFlightApp(policy_, tablet), 0);
  AppContext v6;
  v6.source = *IpAddress::Parse("2001:db8:1::10");
  EXPECT_EQ(MatchFlightApp(policy_, v6), 0);
  AppContext other;
  other.source = *IpAddress::Parse("198.51.100.7");
  EXPECT_EQ(MatchFlightApp(policy_, other), -1);
  other.any_source = true;  // device vantage
  EXPECT_EQ(MatchFlightApp(policy_, other), 0);
}

// Two local apps told apart in output mode: by the app the kernel rules put
// in the packet mark (uid and cgroup selectors alike), else by the uid.
TEST(MatchFlightAppTest, TwoAppsByMarkThenByUid) {
  auto r = LoadPolicyFromString(R"(
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
allow: []
)",
                                "two-apps.yaml", ".");
  ASSERT_TRUE(r.policy) << (r.errors.empty() ? "" : r.errors[0].ToString());
  Policy policy = *r.policy;
  policy.flight_apps[0].uids = {1001};  // as the daemon resolves "pilot" at load
  policy.flight_apps[1].uids = {2002};
  AppContext app;
  app.source = *IpAddress::Parse("203.0.113.241");  // the box itself
  EXPECT_EQ(MatchFlightApp(policy, app), -1);
  app.uid = 1001;
  EXPECT_EQ(MatchFlightApp(policy, app), 0);
  app.uid = 2002;
  EXPECT_EQ(MatchFlightApp(policy, app), 1);
  app.uid = 3003;
  EXPECT_EQ(MatchFlightApp(policy, app), -1);
  // A cgroup-selected packet carries only the mark; a reply has no uid.
  app.marked_app = 1;
  EXPECT_EQ(MatchFlightApp(policy, app), 1);
  app.uid = -1;
  app.marked_app = 0;
  EXPECT_EQ(MatchFlightApp(policy, app), 0);
  // The mark is what the rules matched: it wins over the uid.
  app.uid = 2002;
  EXPECT_EQ(MatchFlightApp(policy, app), 0);
  // A mark naming no app of this policy (rules of an older one) is ignored.
  app.marked_app = 2;
  EXPECT_EQ(MatchFlightApp(policy, app), 1);
}

TEST_F(DecideTest, Rule1DeniedUnlessARuleAllows) {
  const Decision d = Flow("198.51.100.20", 443, {Bind("flightlog.dji.com")});
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.reason, Reason::kNameNotAllowed);
}

TEST_F(DecideTest, Rule2DnsOnlyToResolversAndOnlyForAllowedNames) {
  const auto resolver = *IpAddress::Parse("203.0.113.53");
  const auto rogue = *IpAddress::Parse("203.0.113.99");
  Decision d = DecideDnsQuestion(policy_, resolver, "a.tiles.mapbox.com");
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.reason, Reason::kDnsAllowed);
  EXPECT_EQ(d.rule, 0);
  d = DecideDnsQuestion(policy_, resolver, "flightlog.dji.com");
  EXPECT_EQ(d.reason, Reason::kDnsNameNotAllowed);
  d = DecideDnsQuestion(policy_, resolver, "6a6f62.1.dns-tunnel.example");
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  d = DecideDnsQuestion(policy_, rogue, "a.tiles.mapbox.com");
  EXPECT_EQ(d.reason, Reason::kDnsResolverNotAllowed);
  EXPECT_EQ(Flow("203.0.113.99", 53, {}).reason, Reason::kDnsResolverNotAllowed);
  EXPECT_EQ(Flow("203.0.113.53", 53, {}).verdict, Verdict::kAllow);
}

TEST_F(DecideTest, Rule3AttestedAllowedHostOnItsPort) {
  Decision d = Flow("198.51.100.10", 443, {Bind("a.tiles.mapbox.com")});
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.reason, Reason::kAllowedHost);
  EXPECT_EQ(d.rule, 0);
  d = Flow("198.51.100.10", 443, {Bind("a.tiles.mapbox.com")}, "a.tiles.mapbox.com");
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(Flow("198.51.100.10", 80, {Bind("a.tiles.mapbox.com")}).reason,
            Reason::kPortNotAllowed);
  EXPECT_EQ(Flow("198.51.100.10", 8443, {Bind("api.mapbox.com")}, "api.mapbox.com").reason,
            Reason::kPortNotAllowed);
}

TEST_F(DecideTest, Rule3HardCodedIpIsDenied) {
  EXPECT_EQ(Flow("203.0.113.77", 443, {}).reason, Reason::kNoDnsAttestation);
  // Even with an allowed SNI: no DNS answer ever named this address.
  EXPECT_EQ(Flow("203.0.113.77", 443, {}, "api.mapbox.com").reason, Reason::kNoDnsAttestation);
}

TEST_F(DecideTest, Rule3AttestationMustBeFreshAndFromAnAllowedResolver) {
  // Answered by a rogue resolver: no attestation.
  EXPECT_EQ(Flow("198.51.100.10", 443, {Bind("api.mapbox.com", false)}).reason,
            Reason::kNoDnsAttestation);
  // TTL 300 + grace 30 elapsed long ago.
  EXPECT_EQ(
      Flow("198.51.100.10", 443, {Bind("api.mapbox.com", true, 300, kNow - 400 * kMicrosPerSecond)})
          .reason,
      Reason::kNoDnsAttestation);
  // Inside TTL + grace.
  EXPECT_EQ(
      Flow("198.51.100.10", 443, {Bind("api.mapbox.com", true, 300, kNow - 320 * kMicrosPerSecond)})
          .verdict,
      Verdict::kAllow);
  // An answer "from the future" (after the connection) does not attest it.
  EXPECT_EQ(Flow("198.51.100.10", 443, {Bind("api.mapbox.com", true, 300, kNow + kMicrosPerSecond)})
                .reason,
            Reason::kNoDnsAttestation);
}

TEST_F(DecideTest, Rule3DomainFrontingIsDenied) {
  // Allowed SNI sent to an address DNS gave only for a denied name.
  const Decision d = Flow("198.51.100.20", 443, {Bind("flightlog.dji.com")}, "a.tiles.mapbox.com");
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.reason, Reason::kNameNotAttested);
  // Allowed SNI, address attested for a different allowed name: still not
  // attested for this name.
  EXPECT_EQ(Flow("198.51.100.10", 443, {Bind("api.mapbox.com")}, "b.tiles.mapbox.com").reason,
            Reason::kNameNotAttested);
}

TEST_F(DecideTest, Rule3DeniedSniOnAllowedOrSharedAddressIsDenied) {
  // A denied SNI on an allowed host's address.
  EXPECT_EQ(Flow("198.51.100.10", 443, {Bind("a.tiles.mapbox.com")}, "flightlog.dji.com").reason,
            Reason::kNameNotAllowed);
  // A CDN address shared by allowed and denied names.
  std::vector<NameBinding> cdn = {Bind("cdn-upload.dji.com"), Bind("c.tiles.mapbox.com")};
  EXPECT_EQ(Flow("198.51.100.40", 443, cdn, "cdn-upload.dji.com").reason, Reason::kNameNotAllowed);
  EXPECT_EQ(Flow("198.51.100.40", 443, cdn, "c.tiles.mapbox.com").verdict, Verdict::kAllow);
  // Before the SNI is seen the shared address is allowed by its allowed name.
  EXPECT_EQ(Flow("198.51.100.40", 443, cdn).verdict, Verdict::kAllow);
}

TEST_F(DecideTest, Rule4LiteralIpsOnlyWhereACidrIsListed) {
  Decision d = Flow("198.51.100.123", 123, {}, "", Transport::kUdp);
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.reason, Reason::kAllowedCidr);
  EXPECT_EQ(d.rule, 1);
  EXPECT_EQ(Flow("198.51.100.123", 123, {}, "", Transport::kTcp).reason, Reason::kNoDnsAttestation);
  EXPECT_EQ(Flow("198.51.100.124", 123, {}, "", Transport::kUdp).reason, Reason::kNoDnsAttestation);
}

TEST_F(DecideTest, Rule5IcmpEchoDeniedErrorsOfAllowedFlowsPass) {
  FlowFacts f;
  f.dst = *IpAddress::Parse("203.0.113.88");
  f.now = kNow;
  EXPECT_EQ(DecideIcmpEcho(policy_, f).reason, Reason::kIcmpEchoDenied);
  const Decision allowed{Verdict::kAllow, Reason::kAllowedHost, 0};
  const Decision denied{Verdict::kDeny, Reason::kNameNotAllowed, -1};
  using Side = QuotedFlow::Side;
  auto quote = [](Decision d, bool known, Side side, bool dns = false) {
    QuotedFlow q;
    q.known = known;
    q.decision = d;
    q.side = side;
    q.dns = dns;
    q.judged = true;
    return DecideIcmpError(q);
  };
  QuotedFlow provisional;
  provisional.known = true;
  provisional.decision = allowed;
  provisional.side = Side::kServerPacket;
  EXPECT_EQ(DecideIcmpError(provisional).verdict, Verdict::kDeny);
  EXPECT_EQ(quote(allowed, true, Side::kServerPacket).verdict, Verdict::kAllow);
  EXPECT_EQ(quote(allowed, true, Side::kClientPacket).verdict, Verdict::kAllow);
  EXPECT_EQ(quote(denied, true, Side::kServerPacket).reason, Reason::kIcmpErrorOfDeniedFlow);
  EXPECT_EQ(quote(denied, true, Side::kClientPacket).reason, Reason::kIcmpErrorOfDeniedFlow);
  EXPECT_EQ(quote(allowed, false, Side::kServerPacket).verdict, Verdict::kDeny);
  // A quote that does not fit the flow's endpoints is forged.
  EXPECT_EQ(quote(allowed, true, Side::kNeither).verdict, Verdict::kDeny);
  // The app's error about a DNS answer (maybe a local REFUSED that names a
  // denied host) would carry the question to the resolver.
  const Decision dns{Verdict::kAllow, Reason::kDnsAllowed, -1};
  EXPECT_EQ(quote(dns, true, Side::kServerPacket, true).reason, Reason::kIcmpErrorOfDns);
  EXPECT_EQ(quote(dns, true, Side::kClientPacket, true).verdict, Verdict::kAllow);
  EXPECT_EQ(DecideIcmpOther(true, 135).verdict, Verdict::kNotGoverned);   // neighbor solicitation
  EXPECT_EQ(DecideIcmpOther(false, 13).reason, Reason::kIcmpNotAllowed);  // timestamp request
}

// Every way inspection can stop short is denied with its own reason; only
// a complete inspection allows, and the two opt-ins are per rule.
TEST_F(DecideTest, InspectionOutcomesDecide) {
  const std::vector<NameBinding> tiles = {Bind("api.mapbox.com")};
  auto with = [&](Inspection i, const char* revealed = "") {
    names_ = tiles;
    FlowFacts f;
    f.dst = *IpAddress::Parse("198.51.100.10");
    f.dst_port = 443;
    f.now = kNow;
    f.dst_names = names_;
    f.revealed_name = revealed;
    f.revealed_source = *revealed ? NameSource::kSni : NameSource::kNone;
    f.inspection = i;
    return DecideFlow(policy_, f);
  };
  // Provisional before payload (the engine holds payload until judged).
  EXPECT_EQ(with(Inspection::kPending).verdict, Verdict::kAllow);
  EXPECT_EQ(with(Inspection::kComplete, "api.mapbox.com").verdict, Verdict::kAllow);
  EXPECT_EQ(with(Inspection::kComplete, "evil.example").reason, Reason::kNameNotAllowed);
  const std::pair<Inspection, Reason> failures[] = {
      {Inspection::kPoolExhausted, Reason::kPoolExhausted},
      {Inspection::kTooLarge, Reason::kTooLarge},
      {Inspection::kMalformed, Reason::kMalformed},
      {Inspection::kGap, Reason::kGap},
      {Inspection::kUnknownVersion, Reason::kUnknownVersion},
      {Inspection::kOverlapConflict, Reason::kOverlapConflict},
      {Inspection::kNoName, Reason::kNoNameRevealed},
      {Inspection::kUnrecognizedProtocol, Reason::kUnrecognizedProtocol},
  };
  for (const auto& [outcome, reason] : failures) {
    const Decision d = with(outcome);
    EXPECT_EQ(d.verdict, Verdict::kDeny) << InspectionName(outcome);
    EXPECT_EQ(d.reason, reason) << InspectionName(outcome);
    // Even with an allowed name seen before it stopped.
    if (outcome != Inspection::kNoName && outcome != Inspection::kUnrecognizedProtocol) {
      EXPECT_EQ(with(outcome, "api.mapbox.com").reason, reason) << InspectionName(outcome);
    }
  }
  EXPECT_EQ(with(Inspection::kEncryptedClientHello, "api.mapbox.com").reason,
            Reason::kEncryptedClientHello);
  // The opt-ins.
  policy_.allow[0].allow_without_name = true;
  EXPECT_EQ(with(Inspection::kNoName).reason, Reason::kAllowedWithoutName);
  EXPECT_EQ(with(Inspection::kUnrecognizedProtocol).verdict, Verdict::kAllow);
  EXPECT_EQ(with(Inspection::kPoolExhausted).verdict, Verdict::kDeny);
  EXPECT_EQ(with(Inspection::kEncryptedClientHello, "api.mapbox.com").verdict, Verdict::kDeny);
  policy_.allow[0].trust_ech_outer_name = true;
  EXPECT_EQ(with(Inspection::kEncryptedClientHello, "api.mapbox.com").verdict, Verdict::kAllow);
  // Literal-IP rules do not depend on names; DNS to a resolver whose TCP
  // stream could not be read is denied.
  names_ = {};
  FlowFacts cidr;
  cidr.transport = Transport::kUdp;
  cidr.dst = *IpAddress::Parse("198.51.100.123");
  cidr.dst_port = 123;
  cidr.now = kNow;
  cidr.inspection = Inspection::kUnrecognizedProtocol;
  EXPECT_EQ(DecideFlow(policy_, cidr).reason, Reason::kAllowedCidr);
  FlowFacts dns;
  dns.dst = *IpAddress::Parse("203.0.113.53");
  dns.dst_port = 53;
  dns.now = kNow;
  dns.inspection = Inspection::kPoolExhausted;
  EXPECT_EQ(DecideFlow(policy_, dns).reason, Reason::kPoolExhausted);
  dns.inspection = Inspection::kPending;
  EXPECT_EQ(DecideFlow(policy_, dns).verdict, Verdict::kAllow);
}

TEST_F(DecideTest, IcmpEchoToAllowedHostsWhenEnabled) {
  policy_.icmp_echo_to_allowed_hosts = true;
  names_ = {Bind("api.mapbox.com")};
  FlowFacts f;
  f.dst = *IpAddress::Parse("198.51.100.10");
  f.now = kNow;
  f.dst_names = names_;
  EXPECT_EQ(DecideIcmpEcho(policy_, f).verdict, Verdict::kAllow);
  f.dst_names = {};
  EXPECT_EQ(DecideIcmpEcho(policy_, f).verdict, Verdict::kDeny);
}

TEST_F(DecideTest, LinkLocalAndMulticastAreLocal) {
  EXPECT_EQ(Flow("224.0.0.251", 5353, {}).reason, Reason::kLocalOnly);
  EXPECT_EQ(Flow("ff02::fb", 5353, {}).reason, Reason::kLocalOnly);
  EXPECT_EQ(Flow("255.255.255.255", 67, {}).reason, Reason::kLocalOnly);
  EXPECT_EQ(Flow("203.0.113.1", 5353, {}).verdict, Verdict::kDeny);
}

TEST_F(DecideTest, CatalogLabelsFirstMatch) {
  CatalogEntry specific;
  specific.category = "flysafe";
  specific.hosts.push_back(*HostPattern::Parse("flysafe.dji.com"));
  CatalogEntry broad;
  broad.category = "vendor-cloud";
  broad.hosts.push_back(*HostPattern::Parse("*.dji.com"));
  policy_.catalog = {specific, broad};
  EXPECT_EQ(CatalogIndex(policy_, "flysafe.dji.com"), 0);
  EXPECT_EQ(CatalogIndex(policy_, "x.dji.com"), 1);
  EXPECT_EQ(CatalogIndex(policy_, "api.mapbox.com"), -1);
  EXPECT_EQ(CatalogIndex(policy_, ""), -1);
}

}  // namespace
}  // namespace flightwall
