// Delivery: a flow's data counts as delivered only when the peer proves it
// received it.
#include "flow/delivery.h"

#include <gtest/gtest.h>

#include <string>

namespace flightwall {
namespace {

const std::string kData = "payload";

DecodedPacket Packet(std::uint64_t number, bool with_payload) {
  DecodedPacket p;
  p.number = number;
  p.time = static_cast<Timestamp>(number) * 1000;
  if (with_payload) {
    p.payload = {reinterpret_cast<const std::uint8_t*>(kData.data()), kData.size()};
  }
  return p;
}

TEST(DeliveryTest, TcpIsDeliveredWhenTheServerAcknowledgesTheFirstPayload) {
  Flow f;
  f.kind = FlowKind::kTcp;
  DecodedPacket ack = Packet(1, false);  // a bare ACK carries no data
  ack.tcp_flags_value = tcp_flags::kAck;
  TrackDelivery(f, ack, true);
  EXPECT_EQ(f.first_payload_packet, 0u);

  DecodedPacket data = Packet(2, true);
  data.tcp_seq = 1001;
  TrackDelivery(f, data, true);
  EXPECT_EQ(f.first_payload_packet, 2u);
  EXPECT_EQ(f.first_payload_time, 2000);
  EXPECT_EQ(f.first_payload_seq, 1001u);
  DecodedPacket more = Packet(3, true);
  more.tcp_seq = 1008;
  TrackDelivery(f, more, true);
  EXPECT_EQ(f.first_payload_packet, 2u);  // the first stays

  // An acknowledgement up to the first byte only: not received yet.
  DecodedPacket old = Packet(4, false);
  old.tcp_flags_value = tcp_flags::kAck;
  old.tcp_ack = 1001;
  TrackDelivery(f, old, false);
  EXPECT_EQ(f.delivered_packet, 0u);
  // No ACK flag: the number means nothing.
  DecodedPacket no_flag = Packet(5, false);
  no_flag.tcp_ack = 2000;
  TrackDelivery(f, no_flag, false);
  EXPECT_EQ(f.delivered_packet, 0u);

  DecodedPacket got = Packet(6, false);
  got.tcp_flags_value = tcp_flags::kAck;
  got.tcp_ack = 1002;
  TrackDelivery(f, got, false);
  EXPECT_EQ(f.delivered_packet, 6u);
  EXPECT_EQ(f.delivered_time, 6000);
  DecodedPacket later = got;
  later.number = 7;
  TrackDelivery(f, later, false);
  EXPECT_EQ(f.delivered_packet, 6u);  // the first proof stays
}

TEST(DeliveryTest, NothingBackBeforeDataIsNoDelivery) {
  Flow f;
  f.kind = FlowKind::kUdp;
  TrackDelivery(f, Packet(1, true), false);  // the server spoke first
  EXPECT_EQ(f.delivered_packet, 0u);
  TrackDelivery(f, Packet(2, true), true);
  TrackDelivery(f, Packet(3, false), false);  // any answer after data
  EXPECT_EQ(f.delivered_packet, 3u);
}

TEST(DeliveryTest, EchoIsDeliveredByAReply) {
  Flow f;
  f.kind = FlowKind::kIcmpEcho;
  TrackDelivery(f, Packet(1, false), true);  // an echo request is data itself
  EXPECT_EQ(f.first_payload_packet, 1u);
  DecodedPacket unreachable = Packet(2, false);
  TrackDelivery(f, unreachable, false);
  EXPECT_EQ(f.delivered_packet, 0u);
  DecodedPacket reply = Packet(3, false);
  reply.icmp_is_echo_reply = true;
  TrackDelivery(f, reply, false);
  EXPECT_EQ(f.delivered_packet, 3u);
}

}  // namespace
}  // namespace flightwall
