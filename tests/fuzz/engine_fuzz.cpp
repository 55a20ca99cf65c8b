// Fuzz target: the engine as a state machine. The input is a program of
// packet operations over a few TCP/UDP flows between a flight app and a CDN
// address that DNS attests for an allowed and a denied name: SYNs, client
// segments at chosen sequence offsets (raw bytes or slices of real
// ClientHellos naming either host), server ACKs, resets, QUIC-looking
// datagrams (raw bytes or sealed Initials whose CRYPTO data is split over
// two datagrams), DNS answers and time jumps. The policy has a rule by name,
// one that opts in to allow_without_name and trust_ech_outer_name, and one
// by CIDR, so every legitimate way to an allow is reachable. After every
// packet it checks the invariants fail-closed enforcement rests on:
//   - a governed flow never goes from deny to allow, and a verdict reported
//     final never changes;
//   - no governed client payload is released (allowed, not held, not
//     dropped) unless decide.cpp's rules justify it: a complete inspection
//     revealing a name of the rule, or that rule's explicit opt-in
//     (allow_without_name for no name or an unread protocol,
//     trust_ech_outer_name for ECH), or a CIDR rule; an inspection that
//     failed allows nothing but a CIDR rule's destination;
//   - the tables and pools stay within their bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "policy/decide.h"
#include "policy/policy_loader.h"
#include "unit/decode/frame_builder.h"
#include "unit/proto/proto_test_builders.h"

namespace {

using flightwall::testing::Bytes;

void Check(bool ok) {
  if (!ok) std::abort();
}

const char* kPolicy = R"(
version: 1
name: fuzz
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com]
    ports: [443, 80]
  - name: telemetry
    hosts: [nameless.example]
    ports: [443, 80]
    allow_without_name: true
    trust_ech_outer_name: true
  - name: literal
    cidrs: [198.51.100.20/32]
    ports: [443]
)";

// DNS answers name one of these for 198.51.100.10; 198.51.100.20 is the
// CIDR rule's destination.
const char* const kNames[] = {"sdk.analytics.example", "api.mapbox.com", "nameless.example"};

struct Fixture {
  Fixture() {
    auto r = flightwall::LoadPolicyFromString(kPolicy, "fuzz.yaml", ".");
    Check(r.policy.has_value());
    policy = *r.policy;
    flightwall::testing::ClientHelloSpec spec;
    spec.sni = "api.mapbox.com";
    hellos.push_back(
        flightwall::testing::WrapInRecords(flightwall::testing::BuildClientHello(spec)));
    spec.sni = "sdk.analytics.example";
    hellos.push_back(
        flightwall::testing::WrapInRecords(flightwall::testing::BuildClientHello(spec)));
    const std::string http = "GET / HTTP/1.1\r\nHost: api.mapbox.com\r\n\r\n";
    hellos.emplace_back(http.begin(), http.end());
    // The opt-in paths: no SNI, ECH behind an outer name, HTTP without Host.
    spec.include_sni = false;
    hellos.push_back(
        flightwall::testing::WrapInRecords(flightwall::testing::BuildClientHello(spec)));
    spec.include_sni = true;
    spec.ech = true;
    spec.sni = "nameless.example";
    hellos.push_back(
        flightwall::testing::WrapInRecords(flightwall::testing::BuildClientHello(spec)));
    spec.sni = "api.mapbox.com";
    hellos.push_back(
        flightwall::testing::WrapInRecords(flightwall::testing::BuildClientHello(spec)));
    const std::string http10 = "GET / HTTP/1.0\r\n\r\n";
    hellos.emplace_back(http10.begin(), http10.end());
    // QUIC: per name, one Initial with the whole ClientHello, then the two
    // halves of its CRYPTO data in two Initials.
    spec.ech = false;
    spec.quic_transport_parameters = true;
    for (const char* sni : {"api.mapbox.com", "sdk.analytics.example", "nameless.example"}) {
      spec.sni = sni;
      const Bytes ch = flightwall::testing::BuildClientHello(spec);
      const std::size_t half = ch.size() / 2;
      flightwall::testing::InitialSpec initial;
      quic.push_back(
          flightwall::testing::SealInitial(initial, flightwall::testing::CryptoFrame(0, ch)));
      quic.push_back(flightwall::testing::SealInitial(
          initial,
          flightwall::testing::CryptoFrame(0, std::span<const std::uint8_t>(ch).first(half))));
      initial.packet_number = 1;
      quic.push_back(flightwall::testing::SealInitial(
          initial,
          flightwall::testing::CryptoFrame(half, std::span<const std::uint8_t>(ch).subspan(half))));
    }
  }
  flightwall::Policy policy;
  flightwall::IpAddress cidr_server = *flightwall::IpAddress::Parse("198.51.100.20");
  std::vector<Bytes> hellos;
  std::vector<Bytes> quic;
};

Bytes DnsAnswer(std::uint16_t id) {
  // Odd ids name the allowed host, as they always did; even ones split
  // between the denied name and the opt-in rule's name.
  const char* name = kNames[(id & 1) != 0 ? 1 : (id & 2) != 0 ? 2 : 0];
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
  for (const char* p = name; *p;) {
    const char* dot = p;
    while (*dot && *dot != '.') ++dot;
    b.push_back(static_cast<std::uint8_t>(dot - p));
    b.insert(b.end(), p, dot);
    p = *dot ? dot + 1 : dot;
  }
  b.insert(b.end(), {0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 198, 51, 100, 10});
  return b;
}

class Program {
 public:
  Program(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool Done() const { return p_ >= end_; }
  std::uint8_t U8() { return p_ < end_ ? *p_++ : 0; }
  std::uint16_t U16() { return static_cast<std::uint16_t>(U8() << 8 | U8()); }
  Bytes Take(std::size_t n) {
    n = std::min<std::size_t>(n, static_cast<std::size_t>(end_ - p_));
    Bytes b(p_, p_ + n);
    p_ += n;
    return b;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

struct FlowIdentity {
  std::uint64_t first_packet;  // a flow (re)created later is another flow
  std::uint16_t port;
  std::uint8_t protocol;
  bool server_b;
  bool operator<(const FlowIdentity& o) const {
    if (first_packet != o.first_packet) return first_packet < o.first_packet;
    if (port != o.port) return port < o.port;
    if (protocol != o.protocol) return protocol < o.protocol;
    return server_b < o.server_b;
  }
};

struct Seen {
  flightwall::Verdict verdict = flightwall::Verdict::kNotGoverned;
  bool final = false;
};

const flightwall::AllowRule* RuleOf(const flightwall::Policy& policy, int rule) {
  if (rule < 0 || static_cast<std::size_t>(rule) >= policy.allow.size()) return nullptr;
  return &policy.allow[static_cast<std::size_t>(rule)];
}

bool RuleNamesHost(const flightwall::AllowRule& rule, std::string_view host) {
  for (const flightwall::HostPattern& p : rule.hosts) {
    if (p.Matches(host)) return true;
  }
  return false;
}

// Whether decide.cpp can allow this flow's payload as it stands: exactly the
// ways DecideFlow returns kAllow other than the provisional one (a pending
// inspection, whose payload is held).
bool ReleaseJustified(const flightwall::Policy& policy, const flightwall::Flow& f) {
  using flightwall::Inspection;
  using flightwall::Reason;
  const flightwall::AllowRule* rule = RuleOf(policy, f.rule);
  switch (f.reason) {
    case Reason::kAllowedCidr: {
      if (rule == nullptr) return false;
      for (const flightwall::Cidr& c : rule->cidrs) {
        if (c.Contains(f.server)) return true;
      }
      return false;
    }
    case Reason::kDnsAllowed:
      return flightwall::IsDnsPort(policy, f.server_port) &&
             !flightwall::InspectionFailed(f.inspection);
    case Reason::kAllowedHost:
      // A name revealed by the payload itself, which the rule names.
      if (rule == nullptr || f.hostname.Empty() || f.name_source == flightwall::NameSource::kNone ||
          f.name_source == flightwall::NameSource::kDns ||
          !RuleNamesHost(*rule, f.hostname.View())) {
        return false;
      }
      return f.inspection == Inspection::kComplete ||
             (f.inspection == Inspection::kEncryptedClientHello && rule->trust_ech_outer_name);
    case Reason::kAllowedWithoutName:
      return rule != nullptr && rule->allow_without_name &&
             (f.inspection == Inspection::kNoName ||
              f.inspection == Inspection::kUnrecognizedProtocol);
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flightwall::Inspection;
  using flightwall::Reason;
  using flightwall::Verdict;
  namespace t = flightwall::testing;
  namespace tcp_flags = flightwall::tcp_flags;
  static const Fixture fixture;
  flightwall::EngineLimits limits;
  limits.max_flows = 16;
  limits.max_named_addresses = 16;
  limits.max_pending_dns = 8;
  limits.stream_buffers = 2;
  limits.stream_buffer_bytes = 4096;
  limits.quic_parsers = 1;
  limits.dns_tcp_reassemblers = 1;
  limits.decoder.max_datagrams_in_reassembly = 4;
  limits.decoder.max_reassembly_bytes = 65536;
  flightwall::Engine engine(fixture.policy, flightwall::Vantage::kQueue, limits);

  std::vector<Bytes> frames;
  frames.reserve(256);
  std::map<FlowIdentity, Seen> seen;
  std::uint64_t number = 0;
  flightwall::Timestamp now = 1'700'000'000LL * flightwall::kMicrosPerSecond;
  constexpr std::uint32_t kIsn = 1000;
  constexpr std::uint32_t kServerIsn = 5000;
  Program prog(data, size);
  for (int step = 0; step < 256 && !prog.Done(); ++step) {
    const std::uint8_t op = prog.U8();
    const std::uint16_t port = static_cast<std::uint16_t>(40000 + (op >> 4) % 4);
    const std::uint16_t dport = (op & 0x80) ? 80 : 443;
    const char* server = (op & 0x40) ? "198.51.100.20" : "198.51.100.10";
    Bytes ip;
    bool client_payload = false;
    switch (op % 8) {
      case 0: {
        const std::uint16_t id = prog.U16();
        ip = t::Ipv4("203.0.113.53", "192.0.2.10", 17, t::Udp(53, 41000, DnsAnswer(id)));
        break;
      }
      case 1:
        ip = t::Ipv4("192.0.2.10", server, 6, t::Tcp(port, dport, tcp_flags::kSyn, {}, kIsn - 1));
        break;
      case 2: {  // client data: a slice of a canned hello, or raw bytes
        const std::uint16_t at = prog.U16() % 2048;
        const std::uint8_t which = prog.U8();
        const std::size_t len = 1 + prog.U8();
        Bytes payload;
        if (which < 192) {
          const Bytes& h = fixture.hellos[which % fixture.hellos.size()];
          if (at < h.size()) {
            payload.assign(h.begin() + at, h.begin() + std::min<std::size_t>(h.size(), at + len));
          }
        } else {
          payload = prog.Take(len);
        }
        if (payload.empty()) continue;
        ip = t::Ipv4(
            "192.0.2.10", server, 6,
            t::Tcp(port, dport, tcp_flags::kAck | tcp_flags::kPsh, payload, kIsn + at, kServerIsn));
        client_payload = true;
        break;
      }
      case 3:
        ip =
            t::Ipv4(server, "192.0.2.10", 6,
                    t::Tcp(dport, port, tcp_flags::kAck, {}, kServerIsn, kIsn + prog.U16() % 2048));
        break;
      case 4:
        ip = t::Ipv4(
            server, "192.0.2.10", 6,
            t::Tcp(dport, port, tcp_flags::kSyn | tcp_flags::kAck, {}, kServerIsn - 1, kIsn));
        break;
      case 5: {  // a canned QUIC Initial, or raw bytes padded like one
        const std::uint8_t which = prog.U8();
        Bytes payload;
        if ((which & 0x80) != 0) {
          payload = fixture.quic[(which & 0x7f) % fixture.quic.size()];
        } else {
          payload = prog.Take(1 + which % 64);
          payload.resize(std::max<std::size_t>(payload.size(), 1200), 0);
        }
        ip = t::Ipv4("192.0.2.10", server, 17, t::Udp(port, 443, payload));
        client_payload = true;
        break;
      }
      case 6:
        ip = t::Ipv4("192.0.2.10", server, 6,
                     t::Tcp(port, dport, tcp_flags::kRst, {}, kIsn + prog.U16() % 2048));
        break;
      default:
        now += static_cast<flightwall::Timestamp>(prog.U8()) * flightwall::kMicrosPerSecond;
        continue;
    }
    frames.push_back(std::move(ip));
    flightwall::RawPacket raw;
    raw.number = ++number;
    raw.time = now += 1000;
    raw.link = flightwall::LinkType::kRaw;
    raw.data = frames.back();
    raw.wire_length = static_cast<std::uint32_t>(raw.data.size());
    const flightwall::PacketOutcome out = engine.Process(raw);
    // Bounded tables.
    Check(engine.ActiveFlows() <= limits.max_flows);
    Check(engine.NamedAddresses() <= limits.max_named_addresses);
    if (out.flow == nullptr || out.is_dns) continue;
    const flightwall::Flow& f = *out.flow;
    // Bounded pools: a flow's slot is one of the pool's.
    Check(f.stream_slot == flightwall::Flow::kNoSlot || f.stream_slot < limits.stream_buffers);
    Check(f.quic_slot == flightwall::Flow::kNoSlot || f.quic_slot < limits.quic_parsers);
    Check(f.dns_tcp_slot == flightwall::Flow::kNoSlot ||
          f.dns_tcp_slot < limits.dns_tcp_reassemblers);
    Check(f.verdict == out.verdict);
    // Every flow here starts at the flight app: it is governed once decided.
    if (f.kind == flightwall::FlowKind::kTcp || f.kind == flightwall::FlowKind::kUdp) {
      Check(f.app >= 0);
    }
    if (out.verdict == Verdict::kAllow) {
      // An inspection that failed allows nothing but a CIDR rule's address;
      // a pending one allows only provisionally (payload is held).
      if (flightwall::InspectionFailed(f.inspection)) Check(f.reason == Reason::kAllowedCidr);
      if (f.inspection != Inspection::kPending) Check(ReleaseJustified(fixture.policy, f));
    }
    // Released client payload: justified by decide.cpp's rules, never by a
    // pending inspection.
    if (client_payload && out.to_server && out.verdict == Verdict::kAllow && !out.awaiting_name &&
        !out.drop_packet) {
      Check(ReleaseJustified(fixture.policy, f));
    }
    // Deny is final for the same flow, and so is any verdict called final.
    if (f.kind != flightwall::FlowKind::kIcmpError) {
      Seen& last =
          seen[{f.first_packet, f.client_port, f.protocol, f.server == fixture.cidr_server}];
      if (last.verdict == Verdict::kDeny) Check(out.verdict == Verdict::kDeny);
      if (last.final) Check(out.verdict == last.verdict && out.final);
      last.verdict = out.verdict;
      last.final = last.final || out.final;
    }
  }
  return 0;
}
