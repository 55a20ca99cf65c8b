#include "service/held_packets.h"

#include <gtest/gtest.h>

#include <vector>

namespace flightwall {
namespace {

HeldPacket Packet(std::uint16_t port, std::uint32_t id, Timestamp at) {
  HeldPacket p;
  p.flow.port_a = port;
  p.flow.protocol = 6;
  p.packet_id = id;
  p.held_at = at;
  return p;
}

TEST(HeldPacketsTest, ReleasesEveryPacketOfTheFlowInOrder) {
  HeldPackets held(8);
  HeldPacket dropped;
  EXPECT_FALSE(held.Hold(Packet(1, 10, 100), &dropped));
  EXPECT_FALSE(held.Hold(Packet(2, 20, 110), &dropped));
  EXPECT_FALSE(held.Hold(Packet(1, 11, 120), &dropped));
  std::vector<HeldPacket> out;
  EXPECT_EQ(held.Release(Packet(1, 0, 0).flow, &out), 2u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].packet_id, 10u);
  EXPECT_EQ(out[1].packet_id, 11u);
  EXPECT_EQ(held.Size(), 1u);
}

TEST(HeldPacketsTest, WhenFullTheOldestIsHandedBackToDrop) {
  HeldPackets held(2);
  HeldPacket dropped;
  held.Hold(Packet(1, 10, 100), &dropped);
  held.Hold(Packet(2, 20, 110), &dropped);
  EXPECT_TRUE(held.Hold(Packet(3, 30, 120), &dropped));
  EXPECT_EQ(dropped.packet_id, 10u);
  EXPECT_EQ(held.Size(), 2u);
}

TEST(HeldPacketsTest, ExpiresOnlyWhatWasHeldBeforeTheDeadline) {
  HeldPackets held(4);
  HeldPacket dropped;
  held.Hold(Packet(1, 10, 100), &dropped);
  held.Hold(Packet(2, 20, 200), &dropped);
  std::vector<HeldPacket> out;
  EXPECT_EQ(held.Expire(150, &out), 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].packet_id, 10u);
  EXPECT_EQ(held.Size(), 1u);
}

TEST(HeldPacketsTest, SlotsFreedAtTheOldEndAreReusedWithoutCompacting) {
  // Many short holds through a small ring: each released flow's slot is
  // given back, so the ring never fills with freed slots and nothing live
  // is ever evicted.
  HeldPackets held(4);
  HeldPacket dropped;
  std::vector<HeldPacket> out;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    const auto port = static_cast<std::uint16_t>(i % 500 + 1);
    EXPECT_FALSE(held.Hold(Packet(port, i, i), &dropped)) << i;
    out.clear();
    EXPECT_EQ(held.Release(Packet(port, 0, 0).flow, &out), 1u);
  }
  EXPECT_EQ(held.Size(), 0u);
  out.clear();
  EXPECT_EQ(held.Release(Packet(1, 0, 0).flow, &out), 0u);  // nothing held: nothing walked
}

}  // namespace
}  // namespace flightwall
