// TCP tracking: connection state, where each stream starts, the server's
// stream in order with retransmissions and holes.
#include "flow/tcp_tracker.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace flightwall {
namespace {

// Payloads are string literals: the views stay valid for the whole test.
std::span<const std::uint8_t> View(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string Text(std::span<const std::uint8_t> b) { return {b.begin(), b.end()}; }

DecodedPacket Segment(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                      std::string_view payload = {}) {
  DecodedPacket p;
  p.protocol = static_cast<std::uint8_t>(IpProto::kTcp);
  p.tcp_flags_value = flags;
  p.tcp_seq = seq;
  p.tcp_ack = ack;
  p.tcp_window = 512;
  p.payload = View(payload);
  return p;
}

constexpr std::uint8_t kSyn = tcp_flags::kSyn;
constexpr std::uint8_t kAck = tcp_flags::kAck;
constexpr std::uint8_t kSynAck = tcp_flags::kSyn | tcp_flags::kAck;

TEST(TcpTrackerTest, HandshakeStartsBothStreamsAndEstablishes) {
  Flow f;
  f.kind = FlowKind::kTcp;
  TcpStep s = TrackTcp(f, Segment(kSyn, 1000, 0), true);
  EXPECT_FALSE(s.reset);
  EXPECT_EQ(f.tcp_state, TcpState::kSynSent);
  EXPECT_TRUE(f.client_stream.start_known);
  EXPECT_EQ(f.client_stream.next_seq, 1001u);

  s = TrackTcp(f, Segment(kSynAck, 5000, 1001), false);
  EXPECT_EQ(f.tcp_state, TcpState::kSynReceived);
  EXPECT_TRUE(f.server_stream.known);
  EXPECT_EQ(f.server_stream.next_seq, 5001u);
  EXPECT_EQ(f.server_window, 512);
  EXPECT_TRUE(s.server.fresh.empty());

  TrackTcp(f, Segment(kAck, 1001, 5001), true);
  EXPECT_EQ(f.tcp_state, TcpState::kEstablished);
}

TEST(TcpTrackerTest, ASynAckStartsTheClientStreamWhenItsSynWasNotSeen) {
  Flow f;
  TrackTcp(f, Segment(kSynAck, 5000, 2001), false);
  EXPECT_TRUE(f.client_stream.start_known);
  EXPECT_EQ(f.client_stream.start_seq, 2001u);
  EXPECT_EQ(f.client_stream.next_seq, 2001u);
  EXPECT_EQ(f.tcp_state, TcpState::kSynReceived);

  // When the SYN was seen, the SYN-ACK does not move the client's start.
  Flow g;
  TrackTcp(g, Segment(kSyn, 1000, 0), true);
  TrackTcp(g, Segment(kSynAck, 5000, 7777), false);
  EXPECT_EQ(g.client_stream.start_seq, 1001u);
}

TEST(TcpTrackerTest, MidConnectionPickupHasNoClientStart) {
  Flow f;
  TrackTcp(f, Segment(kAck, 1000, 5000, "data"), true);
  EXPECT_FALSE(f.client_stream.start_known);
  EXPECT_EQ(f.tcp_state, TcpState::kEstablished);
}

TEST(TcpTrackerTest, ResetIsReported) {
  Flow f;
  TrackTcp(f, Segment(kSyn, 1000, 0), true);
  const TcpStep s = TrackTcp(f, Segment(tcp_flags::kRst | kAck, 0, 1001), false);
  EXPECT_TRUE(s.reset);
  EXPECT_EQ(f.tcp_state, TcpState::kReset);
  // Later ACKs do not reopen it.
  EXPECT_FALSE(TrackTcp(f, Segment(kAck, 1001, 0), true).reset);
  EXPECT_EQ(f.tcp_state, TcpState::kReset);
}

TEST(TcpTrackerTest, FinsBothWaysClose) {
  Flow f;
  TrackTcp(f, Segment(kSyn, 1000, 0), true);
  TrackTcp(f, Segment(kSynAck, 5000, 1001), false);
  TrackTcp(f, Segment(kAck, 1001, 5001), true);
  TrackTcp(f, Segment(tcp_flags::kFin | kAck, 1001, 5001), true);
  EXPECT_TRUE(f.client_fin);
  EXPECT_FALSE(f.server_fin);
  EXPECT_EQ(f.tcp_state, TcpState::kClosing);
  TrackTcp(f, Segment(tcp_flags::kFin | kAck, 5001, 1002), false);
  EXPECT_TRUE(f.server_fin);
  EXPECT_EQ(f.tcp_state, TcpState::kClosed);
}

TEST(TcpTrackerTest, ServerBytesComeInOrderRetransmissionsYieldOnlyNewBytes) {
  Flow f;
  TrackTcp(f, Segment(kSynAck, 4999, 1001), false);
  TcpStep s = TrackTcp(f, Segment(kAck, 5000, 1001, "hello"), false);
  EXPECT_EQ(Text(s.server.fresh), "hello");
  EXPECT_FALSE(s.server.gap);
  // A pure retransmission: nothing new.
  s = TrackTcp(f, Segment(kAck, 5000, 1001, "hello"), false);
  EXPECT_TRUE(s.server.fresh.empty());
  EXPECT_FALSE(s.server.gap);
  // Overlapping the old bytes, then new ones: only the new ones.
  s = TrackTcp(f, Segment(kAck, 5003, 1001, "lo world"), false);
  EXPECT_EQ(Text(s.server.fresh), " world");
  EXPECT_EQ(f.server_stream.next_seq, 5011u);
}

TEST(TcpTrackerTest, AHoleInTheServerStreamStopsItForGood) {
  Flow f;
  TrackTcp(f, Segment(kSynAck, 4999, 1001), false);
  TcpStep s = TrackTcp(f, Segment(kAck, 5010, 1001, "later"), false);
  EXPECT_TRUE(s.server.gap);
  EXPECT_TRUE(s.server.fresh.empty());
  EXPECT_TRUE(f.server_stream.gap);
  // The missing bytes arrive: nothing is read any more, and the gap is
  // reported once.
  s = TrackTcp(f, Segment(kAck, 5000, 1001, "0123456789"), false);
  EXPECT_TRUE(s.server.fresh.empty());
  EXPECT_FALSE(s.server.gap);
}

TEST(TcpTrackerTest, ServerStreamPickedUpMidwayStartsAtItsFirstBytes) {
  StreamPosition pos;
  InOrderBytes b = ServerInOrder(pos, 7000, View("abc"));
  EXPECT_EQ(Text(b.fresh), "abc");
  EXPECT_EQ(pos.next_seq, 7003u);
  // Empty segments never start or move it.
  StreamPosition empty;
  EXPECT_TRUE(ServerInOrder(empty, 7000, {}).fresh.empty());
  EXPECT_FALSE(empty.known);
  // Sequence numbers wrap.
  StreamPosition wrap;
  ServerInOrder(wrap, 0xfffffffeu, View("ab"));
  EXPECT_EQ(wrap.next_seq, 0u);
  EXPECT_EQ(Text(ServerInOrder(wrap, 0, View("cd")).fresh), "cd");
}

TEST(TcpTrackerTest, ClientAcksAdvanceTheServerStreamOnlyUnderReplyBypass) {
  Flow f;
  TrackTcp(f, Segment(kSynAck, 4999, 1001), false);
  TrackTcp(f, Segment(kAck, 1001, 9000), true);
  EXPECT_EQ(f.server_stream.next_seq, 5000u);
  f.reply_bypass = true;
  TrackTcp(f, Segment(kAck, 1001, 9000), true);
  EXPECT_EQ(f.server_stream.next_seq, 9000u);
  // Never backwards.
  TrackTcp(f, Segment(kAck, 1001, 8000), true);
  EXPECT_EQ(f.server_stream.next_seq, 9000u);
}

TEST(TcpTrackerTest, ClientPayloadIsLeftToTheCaller) {
  Flow f;
  TrackTcp(f, Segment(kSyn, 1000, 0), true);
  const TcpStep s = TrackTcp(f, Segment(kAck, 1001, 5001, "GET /"), true);
  EXPECT_TRUE(s.server.fresh.empty());
  EXPECT_EQ(f.client_stream.next_seq, 1001u);  // the engine takes it (TakeClientSegment)
}

}  // namespace
}  // namespace flightwall
