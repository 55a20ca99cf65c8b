// CarrierOf: how a flow of a given kind carries data, in the terms the
// policy's settling step uses (policy/verdict_steps.h). Here, in the engine,
// because the engine is where flows (flow/) meet the policy (policy/): the
// policy's steps take facts, not flows, and flow/ knows nothing of policy/.
// The engine and the enforcer both fill their facts from it.
#pragma once

#include "flow/flow.h"
#include "policy/verdict_steps.h"

namespace flightwall {

// TCP is a stream, UDP datagrams; ICMP and every other protocol are single
// packets, final at once.
inline FlowCarrier CarrierOf(FlowKind kind) {
  switch (kind) {
    case FlowKind::kTcp:
      return FlowCarrier::kTcp;
    case FlowKind::kUdp:
      return FlowCarrier::kUdp;
    case FlowKind::kIcmpEcho:
    case FlowKind::kIcmpError:
    case FlowKind::kIcmpOther:
    case FlowKind::kOther:
      return FlowCarrier::kSingle;
  }
  return FlowCarrier::kSingle;
}

}  // namespace flightwall
