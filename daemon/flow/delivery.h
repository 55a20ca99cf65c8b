// Delivery: evidence that a flow's data reached its peer, for reports.
//
// The first packet that carried data to the server (payload; any ICMP echo
// or other-protocol packet) is recorded with its time and TCP sequence
// number; the flow counts as delivered at the first packet back that proves
// receipt: a TCP acknowledgement past that sequence number, an echo reply,
// or for other kinds any answer. Plain function over the flow; no
// allocation.
#pragma once

#include "decode/decoded_packet.h"
#include "flow/flow.h"

namespace flightwall {

void TrackDelivery(Flow& f, const DecodedPacket& pkt, bool to_server);

}  // namespace flightwall
