// FlowTable: packets keyed into flows, bounded with counted eviction, idle
// flows expired oldest first by their kind's timeout.
#include "flow/flow_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace flightwall {
namespace {

constexpr Timestamp kSecond = kMicrosPerSecond;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

const IpAddress kTablet = Ip("192.0.2.10");
const IpAddress kServer = Ip("198.51.100.20");

struct Ended {
  std::uint64_t first_packet = 0;
  IpAddress client;
  std::uint16_t client_port = 0;
  FlowEnd why = FlowEnd::kFinished;
};

class Recorder : public FlowEndHandler {
 public:
  void OnFlowEnd(Flow& f, FlowEnd why) override {
    ended.push_back({f.first_packet, f.client, f.client_port, why});
  }
  std::size_t Count(FlowEnd why) const {
    std::size_t n = 0;
    for (const Ended& e : ended) n += e.why == why ? 1 : 0;
    return n;
  }
  std::vector<Ended> ended;
};

class FlowTableTest : public ::testing::Test {
 protected:
  DecodedPacket Next(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol) {
    DecodedPacket p;
    p.number = ++number_;
    p.time = now_;
    p.src = src;
    p.dst = dst;
    p.protocol = protocol;
    p.ip_length = 40;
    return p;
  }
  DecodedPacket Udp(const IpAddress& src, std::uint16_t sport, const IpAddress& dst,
                    std::uint16_t dport) {
    DecodedPacket p = Next(src, dst, static_cast<std::uint8_t>(IpProto::kUdp));
    p.src_port = sport;
    p.dst_port = dport;
    return p;
  }
  DecodedPacket Tcp(const IpAddress& src, std::uint16_t sport, const IpAddress& dst,
                    std::uint16_t dport, std::uint8_t flags) {
    DecodedPacket p = Next(src, dst, static_cast<std::uint8_t>(IpProto::kTcp));
    p.src_port = sport;
    p.dst_port = dport;
    p.tcp_flags_value = flags;
    return p;
  }
  DecodedPacket Echo(const IpAddress& src, const IpAddress& dst, std::uint16_t id, bool reply) {
    DecodedPacket p = Next(src, dst, static_cast<std::uint8_t>(IpProto::kIcmp));
    p.icmp_type = reply ? 0 : 8;
    p.icmp_id = id;
    p.icmp_is_echo_request = !reply;
    p.icmp_is_echo_reply = reply;
    return p;
  }
  FlowLookup Lookup(const DecodedPacket& p) { return table_.Lookup(p, rec_); }

  FlowTable table_{16};
  Recorder rec_;
  Timestamp now_ = 1000 * kSecond;
  std::uint64_t number_ = 0;
};

TEST_F(FlowTableTest, BothDirectionsFindOneFlow) {
  const FlowLookup out = Lookup(Udp(kTablet, 41000, kServer, 9999));
  ASSERT_NE(out.flow, nullptr);
  EXPECT_TRUE(out.created);
  EXPECT_TRUE(out.to_server);
  EXPECT_EQ(out.flow->kind, FlowKind::kUdp);
  EXPECT_EQ(out.flow->client, kTablet);
  EXPECT_EQ(out.flow->client_port, 41000);
  EXPECT_EQ(out.flow->server, kServer);
  EXPECT_EQ(out.flow->server_port, 9999);
  EXPECT_EQ(out.flow->first_packet, 1u);

  DecodedPacket back = Udp(kServer, 9999, kTablet, 41000);
  back.payload = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("abc"), 3);
  const FlowLookup reply = Lookup(back);
  EXPECT_EQ(reply.flow, out.flow);
  EXPECT_FALSE(reply.created);
  EXPECT_FALSE(reply.to_server);
  EXPECT_EQ(table_.Size(), 1u);
  EXPECT_EQ(reply.flow->to_server.packets, 1u);
  EXPECT_EQ(reply.flow->to_client.packets, 1u);
  EXPECT_EQ(reply.flow->to_client.payload_bytes, 3u);
  EXPECT_EQ(reply.flow->to_client.ip_bytes, 40u);
  EXPECT_EQ(reply.flow->last_packet, 2u);
  EXPECT_EQ(table_.Peek(KeyOf(*out.flow)), out.flow);
  EXPECT_TRUE(rec_.ended.empty());
}

TEST_F(FlowTableTest, TheSideThatStartedIsTheClient) {
  // The capture began after the SYN: the SYN-ACK's sender is the server.
  const FlowLookup tcp =
      Lookup(Tcp(kServer, 443, kTablet, 50000, tcp_flags::kSyn | tcp_flags::kAck));
  EXPECT_FALSE(tcp.to_server);
  EXPECT_EQ(tcp.flow->client, kTablet);
  EXPECT_EQ(tcp.flow->server_port, 443);
  // A UDP datagram from a well-known port to an ephemeral one is a reply.
  const FlowLookup dns = Lookup(Udp(kServer, 53, kTablet, 40000));
  EXPECT_FALSE(dns.to_server);
  EXPECT_EQ(dns.flow->client, kTablet);
  EXPECT_EQ(dns.flow->server_port, 53);
  // An echo reply seen first: its sender answered.
  const FlowLookup echo = Lookup(Echo(kServer, kTablet, 7, true));
  EXPECT_FALSE(echo.to_server);
  EXPECT_EQ(echo.flow->client, kTablet);
}

TEST_F(FlowTableTest, IcmpEchoIsKeyedByItsIdentifier) {
  const PacketKey request = PacketKeyOf(Echo(kTablet, kServer, 7, false));
  EXPECT_EQ(request.kind, FlowKind::kIcmpEcho);
  EXPECT_EQ(request.src_port, 7);
  EXPECT_EQ(request.dst_port, 7);
  const FlowLookup a = Lookup(Echo(kTablet, kServer, 7, false));
  const FlowLookup reply = Lookup(Echo(kServer, kTablet, 7, true));
  EXPECT_EQ(reply.flow, a.flow);
  EXPECT_FALSE(reply.to_server);
  const FlowLookup other = Lookup(Echo(kTablet, kServer, 8, false));
  EXPECT_NE(other.flow, a.flow);
  EXPECT_TRUE(other.created);
  EXPECT_EQ(table_.Size(), 2u);
}

TEST_F(FlowTableTest, IcmpErrorsAreKeyedByTypeAndCodeOtherProtocolsWithoutPorts) {
  DecodedPacket err = Next(kTablet, kServer, static_cast<std::uint8_t>(IpProto::kIcmp));
  err.icmp_type = 3;
  err.icmp_code = 3;
  err.icmp_is_error = true;
  const PacketKey ek = PacketKeyOf(err);
  EXPECT_EQ(ek.kind, FlowKind::kIcmpError);
  EXPECT_EQ(ek.src_port, 3);
  EXPECT_EQ(ek.dst_port, 3);
  DecodedPacket info = err;
  info.icmp_is_error = false;
  info.icmp_type = 13;
  info.icmp_code = 0;
  EXPECT_EQ(PacketKeyOf(info).kind, FlowKind::kIcmpOther);
  EXPECT_EQ(PacketKeyOf(info).src_port, 13);

  DecodedPacket gre = Next(kTablet, kServer, 47);
  gre.src_port = 1234;  // whatever a decoder left there is not part of the key
  const PacketKey gk = PacketKeyOf(gre);
  EXPECT_EQ(gk.kind, FlowKind::kOther);
  EXPECT_EQ(gk.key.port_a, 0);
  EXPECT_EQ(gk.key.port_b, 0);
  EXPECT_EQ(Lookup(gre).flow->kind, FlowKind::kOther);
}

TEST_F(FlowTableTest, AFullTableEvictsTheLeastRecentlySeenAndReportsIt) {
  FlowTable small(4);
  for (std::uint16_t p = 0; p < 4; ++p) {
    small.Lookup(Udp(kTablet, static_cast<std::uint16_t>(41000 + p), kServer, 9999), rec_);
  }
  // Seen again: flow 41000 is now the most recent; 41001 the least.
  small.Lookup(Udp(kServer, 9999, kTablet, 41000), rec_);
  for (std::uint16_t p = 4; p < 10; ++p) {
    const FlowLookup out =
        small.Lookup(Udp(kTablet, static_cast<std::uint16_t>(41000 + p), kServer, 9999), rec_);
    EXPECT_TRUE(out.created);
    EXPECT_EQ(out.flow->client_port, 41000 + p);
    EXPECT_LE(small.Size(), 4u);
  }
  ASSERT_EQ(rec_.ended.size(), 6u);
  EXPECT_EQ(rec_.Count(FlowEnd::kEvicted), 6u);
  const std::vector<std::uint16_t> order = {41001, 41002, 41003, 41000, 41004, 41005};
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(rec_.ended[i].client_port, order[i]) << i;
    EXPECT_EQ(rec_.ended[i].client, kTablet);
  }
  // What was evicted is gone; a packet of it starts a new flow.
  EXPECT_EQ(small.Peek(PacketKeyOf(Udp(kTablet, 41001, kServer, 9999)).key), nullptr);
  EXPECT_TRUE(small.Lookup(Udp(kTablet, 41001, kServer, 9999), rec_).created);
  EXPECT_EQ(rec_.Count(FlowEnd::kEvicted), 7u);
}

TEST_F(FlowTableTest, ANewSynOnAHeldFiveTupleEndsTheOldFlow) {
  const FlowLookup first = Lookup(Tcp(kTablet, 50010, kServer, 443, tcp_flags::kSyn));
  first.flow->tcp_state = TcpState::kSynSent;  // as the TCP tracker leaves it
  // A retransmitted SYN of a connection still opening is the same flow.
  const FlowLookup again = Lookup(Tcp(kTablet, 50010, kServer, 443, tcp_flags::kSyn));
  EXPECT_FALSE(again.created);
  EXPECT_TRUE(rec_.ended.empty());

  first.flow->tcp_state = TcpState::kEstablished;
  first.flow->verdict = Verdict::kAllow;
  const FlowLookup reused = Lookup(Tcp(kTablet, 50010, kServer, 443, tcp_flags::kSyn));
  ASSERT_EQ(rec_.ended.size(), 1u);
  EXPECT_EQ(rec_.ended[0].why, FlowEnd::kReused);
  EXPECT_EQ(rec_.ended[0].first_packet, 1u);
  EXPECT_TRUE(reused.created);
  EXPECT_EQ(reused.flow, first.flow);  // the same entry, started afresh
  EXPECT_EQ(reused.flow->first_packet, 3u);
  EXPECT_EQ(reused.flow->verdict, Verdict::kNotGoverned);
  EXPECT_EQ(reused.flow->tcp_state, TcpState::kNone);
  EXPECT_EQ(reused.flow->to_server.packets, 1u);
  EXPECT_EQ(table_.Size(), 1u);

  // A SYN-ACK is no new connection.
  reused.flow->tcp_state = TcpState::kEstablished;
  EXPECT_FALSE(
      Lookup(Tcp(kServer, 443, kTablet, 50010, tcp_flags::kSyn | tcp_flags::kAck)).created);
  EXPECT_EQ(rec_.ended.size(), 1u);
}

TEST_F(FlowTableTest, IdleFlowsExpireOldestFirstByTheirKindsTimeout) {
  FlowIdleTimeouts t;
  t.tcp_opening = 20 * kSecond;
  t.tcp_established = 100 * kSecond;
  t.tcp_closed = 5 * kSecond;
  t.udp = 50 * kSecond;
  t.dns = 10 * kSecond;
  t.icmp = 30 * kSecond;

  Flow* udp = Lookup(Udp(kTablet, 41000, kServer, 9999)).flow;  // t=0
  now_ += kSecond;
  Flow* dns = Lookup(Udp(kTablet, 41001, kServer, 53)).flow;  // t=1
  dns->is_dns = true;
  now_ += kSecond;
  Flow* tcp = Lookup(Tcp(kTablet, 50000, kServer, 443, tcp_flags::kSyn)).flow;  // t=2
  tcp->tcp_state = TcpState::kEstablished;
  now_ += kSecond;
  Lookup(Udp(kServer, 9999, kTablet, 41000));  // t=3: the UDP flow is seen again

  EXPECT_EQ(IdleTimeout(*udp, t), t.udp);
  EXPECT_EQ(IdleTimeout(*dns, t), t.dns);
  EXPECT_EQ(IdleTimeout(*tcp, t), t.tcp_established);

  // Last-seen order is dns (1), tcp (2), udp (3). At t=12 only the DNS
  // flow (10 s) is idle too long.
  table_.ExpireIdle(1000 * kSecond + 12 * kSecond, t, rec_);
  ASSERT_EQ(rec_.ended.size(), 1u);
  EXPECT_EQ(rec_.ended[0].client_port, 41001);
  EXPECT_EQ(rec_.ended[0].why, FlowEnd::kExpired);
  EXPECT_EQ(table_.Size(), 2u);

  // At t=60 the UDP flow (50 s, seen at 3) is idle too long, but the TCP
  // flow before it in last-seen order (100 s) is not: the sweep stops there.
  table_.ExpireIdle(1000 * kSecond + 60 * kSecond, t, rec_);
  EXPECT_EQ(rec_.ended.size(), 1u);

  // Closed TCP flows go after tcp_closed; then the UDP flow follows.
  tcp->tcp_state = TcpState::kClosed;
  EXPECT_EQ(IdleTimeout(*tcp, t), t.tcp_closed);
  table_.ExpireIdle(1000 * kSecond + 60 * kSecond, t, rec_);
  ASSERT_EQ(rec_.ended.size(), 3u);
  EXPECT_EQ(rec_.ended[1].client_port, 50000);
  EXPECT_EQ(rec_.ended[2].client_port, 41000);
  EXPECT_EQ(table_.Size(), 0u);
}

TEST_F(FlowTableTest, IdleTimeoutFollowsTcpStateAndKind) {
  FlowIdleTimeouts t{1, 2, 3, 4, 5, 6};
  Flow f;
  f.kind = FlowKind::kTcp;
  for (TcpState s : {TcpState::kNone, TcpState::kSynSent, TcpState::kSynReceived}) {
    f.tcp_state = s;
    EXPECT_EQ(IdleTimeout(f, t), 1);
  }
  for (TcpState s : {TcpState::kEstablished, TcpState::kClosing}) {
    f.tcp_state = s;
    EXPECT_EQ(IdleTimeout(f, t), 2);
  }
  for (TcpState s : {TcpState::kClosed, TcpState::kReset}) {
    f.tcp_state = s;
    EXPECT_EQ(IdleTimeout(f, t), 3);
  }
  f.kind = FlowKind::kUdp;
  EXPECT_EQ(IdleTimeout(f, t), 4);
  f.is_dns = true;
  EXPECT_EQ(IdleTimeout(f, t), 5);
  for (FlowKind k :
       {FlowKind::kIcmpEcho, FlowKind::kIcmpError, FlowKind::kIcmpOther, FlowKind::kOther}) {
    f.kind = k;
    EXPECT_EQ(IdleTimeout(f, t), 6);
  }
}

TEST_F(FlowTableTest, FinishEndsEveryFlowInTheOrderTheyBegan) {
  for (std::uint16_t p = 0; p < 5; ++p) {
    Lookup(Udp(kTablet, static_cast<std::uint16_t>(41000 + p), kServer, 9999));
  }
  // Seen again in another order: finishing follows the first packet.
  Lookup(Udp(kTablet, 41003, kServer, 9999));
  Lookup(Udp(kTablet, 41000, kServer, 9999));
  table_.FinishAll(rec_);
  ASSERT_EQ(rec_.ended.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(rec_.ended[i].first_packet, i + 1);
    EXPECT_EQ(rec_.ended[i].why, FlowEnd::kFinished);
  }
  EXPECT_EQ(table_.Size(), 0u);
  EXPECT_TRUE(Lookup(Udp(kTablet, 41000, kServer, 9999)).created);
}

}  // namespace
}  // namespace flightwall
