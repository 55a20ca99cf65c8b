// TCP tracking of one flow, from its flow and the decoded packet alone: the
// connection's state, where each direction's stream starts, and the
// server's stream in order.
//
// What touches the engine's pools, inspection or DNS stays in
// engine/engine_tcp.cpp and is done from what TrackTcp reports: freeing the
// inspection slots on a reset, taking the client's payload into its stream
// slot (TakeClientPayload), dropping the client bytes the server
// acknowledged (OnServerAck), reading DNS answers from the server's fresh
// bytes, counting gaps. Plain functions over caller-owned data; no
// allocation.
#pragma once

#include <cstdint>
#include <span>

#include "decode/decoded_packet.h"
#include "flow/flow.h"

namespace flightwall {

// The new bytes of one segment of an in-order stream.
struct InOrderBytes {
  std::span<const std::uint8_t> fresh;  // a view into the payload; empty if none
  bool gap = false;  // this segment came after a hole: the stream stops here for good
};

// Takes the segment at `seq` into the stream at `pos`: the bytes after what
// was already seen, or none after a hole (we never guess across one, and a
// stream with a gap yields nothing more). The first segment with payload
// sets the position when the stream's start was not seen.
InOrderBytes ServerInOrder(StreamPosition& pos, std::uint32_t seq,
                           std::span<const std::uint8_t> payload);

// What one TCP packet did to its flow.
struct TcpStep {
  bool reset = false;  // an RST: the connection is gone, its inspection with it
  // Server packets: the server's new in-order bytes (a view into the
  // packet's payload) and whether a hole was found in its stream.
  InOrderBytes server;
};

// Tracks one TCP packet of f going to_server (or back): the client's SYN
// starts its stream; a SYN-ACK starts the server's stream, and the client's
// when its SYN was not seen (a capture that began a moment late); RST
// resets; FINs both ways close. Server packets record the window and yield
// the server's in-order bytes; while the server's data bypasses user space
// (reply_bypass), the client's acknowledgements advance the server's
// stream. The client's payload is left to the caller.
TcpStep TrackTcp(Flow& f, const DecodedPacket& pkt, bool to_server);

}  // namespace flightwall
