#include "engine/flow_carrier.h"

#include <gtest/gtest.h>

namespace flightwall {
namespace {

// The engine settles flows and the enforcer acts on packets with the same
// carrier: a stream, datagrams, or single packets final at once.
TEST(FlowCarrierTest, TcpIsAStreamUdpDatagramsTheRestSinglePackets) {
  EXPECT_EQ(CarrierOf(FlowKind::kTcp), FlowCarrier::kTcp);
  EXPECT_EQ(CarrierOf(FlowKind::kUdp), FlowCarrier::kUdp);
  for (FlowKind kind :
       {FlowKind::kIcmpEcho, FlowKind::kIcmpError, FlowKind::kIcmpOther, FlowKind::kOther}) {
    EXPECT_EQ(CarrierOf(kind), FlowCarrier::kSingle) << static_cast<int>(kind);
  }
}

}  // namespace
}  // namespace flightwall
