// FlowTable: the flows of one engine, keyed by their canonical 5-tuple.
//
// It turns a decoded packet into its flow: the key (TCP/UDP ports; the echo
// identifier for ICMP echo; type and code for other ICMP; no ports for other
// protocols), finding the flow or starting one with its identity and
// orientation (the side that began the conversation is the client), and the
// packet's direction within it. It is bounded: when full, a new flow evicts
// the least recently seen one; idle flows expire oldest first, each kind
// after its own timeout.
//
// Every flow that leaves the table (evicted, replaced by a new connection on
// its 5-tuple, expired, finished) is handed to a FlowEndHandler first: the
// engine finalizes it (inspection slots, reports) and counts it. The table
// knows nothing of policy, sinks or pools; deciding a new flow is the
// caller's (FlowLookup::created).
//
// Flow pointers stay valid until the flow leaves the table. No allocation
// after construction except in FinishAll. Not thread-safe: one per engine.
#pragma once

#include <cstddef>
#include <vector>

#include "common/bounded_table.h"
#include "common/timestamp.h"
#include "decode/decoded_packet.h"
#include "flow/flow.h"

namespace flightwall {

// How long a flow may stay silent before it expires, by kind and state.
struct FlowIdleTimeouts {
  Timestamp tcp_opening = 0;      // SYN seen, not yet established
  Timestamp tcp_established = 0;  // established or closing
  Timestamp tcp_closed = 0;       // both FINs or an RST seen
  Timestamp udp = 0;
  Timestamp dns = 0;   // UDP flows that carried DNS messages
  Timestamp icmp = 0;  // ICMP and other protocols
};

// The idle timeout that applies to f now.
Timestamp IdleTimeout(const Flow& f, const FlowIdleTimeouts& t);

// Why a flow leaves the table.
enum class FlowEnd : std::uint8_t {
  kEvicted,   // the table was full and a new flow needed its entry
  kReused,    // a new TCP connection (SYN) on the 5-tuple of one still held
  kExpired,   // idle longer than its timeout
  kFinished,  // FinishAll: the source ended
};

// Told about each flow as it leaves the table. The flow may be read and
// changed during the call; its entry is reset or erased when it returns.
// The handler may Peek the table, but must not look up or insert.
class FlowEndHandler {
 public:
  virtual ~FlowEndHandler() = default;
  virtual void OnFlowEnd(Flow& f, FlowEnd why) = 0;
};

struct FlowLookup {
  Flow* flow = nullptr;
  bool to_server = true;  // the packet goes from the flow's client to its server
  // A new flow (or a reused 5-tuple started afresh): identity, orientation
  // and first packet are set; nothing is decided yet.
  bool created = false;
};

// Where a decoded packet belongs: its flow's key and kind, and the packet's
// "ports" as the key counts them (the echo identifier for ICMP echo, type
// and code for other ICMP, 0 for other protocols).
struct PacketKey {
  FlowKey key;
  FlowKind kind = FlowKind::kOther;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
};

PacketKey PacketKeyOf(const DecodedPacket& pkt);

class FlowTable {
 public:
  explicit FlowTable(std::size_t capacity);

  // The flow of pkt, found or created, with pkt counted in its direction
  // and the flow marked seen (last_time, last_packet). A full table first
  // evicts its least recently seen flow; a client SYN (no ACK) on the
  // 5-tuple of a flow not in kSynSent ends that flow (kReused) and starts a
  // new one in its entry.
  FlowLookup Lookup(const DecodedPacket& pkt, FlowEndHandler& ended);

  // Ends the flows idle at `now` for longer than their timeout, least
  // recently seen first, stopping at the first one that is not.
  void ExpireIdle(Timestamp now, const FlowIdleTimeouts& timeouts, FlowEndHandler& ended);

  // Ends every flow, in the order they began (first packet), and empties
  // the table.
  void FinishAll(FlowEndHandler& ended);

  // Without marking the flow seen.
  Flow* Peek(const FlowKey& key) { return flows_.Peek(key); }
  const Flow* Peek(const FlowKey& key) const { return flows_.Peek(key); }

  // Calls fn(key, flow) for every flow, in a deterministic order.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    flows_.ForEach(fn);
  }

  std::size_t Size() const { return flows_.Size(); }
  std::size_t Capacity() const { return flows_.Capacity(); }

 private:
  BoundedTable<FlowKey, Flow, FlowKeyHash> flows_;
  std::vector<Flow*> finish_order_;  // reused by FinishAll
};

}  // namespace flightwall
