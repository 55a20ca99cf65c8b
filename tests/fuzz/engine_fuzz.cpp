// Fuzz target: the engine as a state machine. The input is a program of
// packet operations over a few TCP/UDP flows between a flight app and a CDN
// address that DNS attests for an allowed and a denied name: SYNs, client
// segments at chosen sequence offsets (raw bytes or slices of real
// ClientHellos naming either host), server ACKs, resets, QUIC-looking
// datagrams, DNS answers and time jumps. After every packet it checks the
// invariants fail-closed enforcement rests on:
//   - a governed flow never goes from deny to allow;
//   - no governed client payload is released (allowed, not held, not
//     dropped) before a complete inspection allowed it;
//   - the tables stay within their bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "engine/engine.h"
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
)";

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
  }
  flightwall::Policy policy;
  std::vector<Bytes> hellos;
};

Bytes DnsAnswer(std::uint16_t id, bool allowed) {
  const char* name = allowed ? "api.mapbox.com" : "sdk.analytics.example";
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
  std::uint16_t port;
  std::uint64_t first_packet;
  bool operator<(const FlowIdentity& o) const {
    return port != o.port ? port < o.port : first_packet < o.first_packet;
  }
};

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
  std::map<FlowIdentity, Verdict> seen;
  std::uint64_t number = 0;
  flightwall::Timestamp now = 1'700'000'000LL * flightwall::kMicrosPerSecond;
  constexpr std::uint32_t kIsn = 1000;
  constexpr std::uint32_t kServerIsn = 5000;
  Program prog(data, size);
  for (int step = 0; step < 256 && !prog.Done(); ++step) {
    const std::uint8_t op = prog.U8();
    const std::uint16_t port = static_cast<std::uint16_t>(40000 + (op >> 4) % 4);
    const std::uint16_t dport = (op & 0x80) ? 80 : 443;
    Bytes ip;
    bool client_payload = false;
    switch (op % 8) {
      case 0: {
        const std::uint16_t id = prog.U16();
        ip = t::Ipv4("203.0.113.53", "192.0.2.10", 17, t::Udp(53, 41000, DnsAnswer(id, id & 1)));
        break;
      }
      case 1:
        ip = t::Ipv4("192.0.2.10", "198.51.100.10", 6,
                     t::Tcp(port, dport, tcp_flags::kSyn, {}, kIsn - 1));
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
            "192.0.2.10", "198.51.100.10", 6,
            t::Tcp(port, dport, tcp_flags::kAck | tcp_flags::kPsh, payload, kIsn + at, kServerIsn));
        client_payload = true;
        break;
      }
      case 3:
        ip =
            t::Ipv4("198.51.100.10", "192.0.2.10", 6,
                    t::Tcp(dport, port, tcp_flags::kAck, {}, kServerIsn, kIsn + prog.U16() % 2048));
        break;
      case 4:
        ip = t::Ipv4(
            "198.51.100.10", "192.0.2.10", 6,
            t::Tcp(dport, port, tcp_flags::kSyn | tcp_flags::kAck, {}, kServerIsn - 1, kIsn));
        break;
      case 5: {
        Bytes payload = prog.Take(1 + prog.U8() % 64);
        payload.resize(std::max<std::size_t>(payload.size(), 1200), 0);
        ip = t::Ipv4("192.0.2.10", "198.51.100.10", 17, t::Udp(port, 443, payload));
        client_payload = true;
        break;
      }
      case 6:
        ip = t::Ipv4("192.0.2.10", "198.51.100.10", 6,
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
    Check(engine.ActiveFlows() <= limits.max_flows);
    if (out.flow == nullptr || out.is_dns) continue;
    const flightwall::Flow& f = *out.flow;
    // Released client payload was judged by a complete inspection.
    if (client_payload && out.to_server && out.verdict == Verdict::kAllow && !out.awaiting_name &&
        !out.drop_packet) {
      Check(f.inspection == Inspection::kComplete || f.reason == Reason::kAllowedCidr);
    }
    // Deny is final for the same flow.
    if (f.kind != flightwall::FlowKind::kIcmpError) {
      Verdict& last = seen[{f.client_port, f.first_packet}];
      if (last == Verdict::kDeny) Check(out.verdict == Verdict::kDeny);
      last = out.verdict;
    }
  }
  return 0;
}
