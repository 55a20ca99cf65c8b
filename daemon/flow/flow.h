// Flow: everything the engine knows about one bidirectional conversation.
//
// A flow is oriented: `client` is the side that started it (the flight app,
// for governed traffic). The flow table (flow_table.h) owns Flow values;
// pointers to them stay valid until the flow leaves the table (evicted,
// expired, finished). Plain data, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/fixed_string.h"
#include "common/ip_address.h"
#include "common/timestamp.h"
#include "common/verdict.h"
#include "flow/client_stream.h"

namespace flightwall {

// Canonical 5-tuple: endpoint A sorts before endpoint B, so both directions
// of a conversation find the same key. For ICMP echo the "ports" are the
// echo identifier; for other ICMP the type and code.
struct FlowKey {
  IpAddress a;
  IpAddress b;
  std::uint16_t port_a = 0;
  std::uint16_t port_b = 0;
  std::uint8_t protocol = 0;
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

struct FlowKeyHash {
  std::size_t operator()(const FlowKey& k) const {
    std::size_t h = k.a.Hash() * 31 + k.b.Hash();
    h = h * 131 + (std::size_t{k.port_a} << 16 | k.port_b);
    return h * 7 + k.protocol;
  }
};

// Builds the canonical key; *src_is_a tells which side src is.
FlowKey MakeFlowKey(const IpAddress& src, std::uint16_t src_port, const IpAddress& dst,
                    std::uint16_t dst_port, std::uint8_t protocol, bool* src_is_a);

enum class TcpState : std::uint8_t {
  kNone,
  kSynSent,
  kSynReceived,
  kEstablished,
  kClosing,
  kClosed,
  kReset
};

const char* TcpStateName(TcpState s);

struct DirectionStats {
  std::uint64_t packets = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t ip_bytes = 0;
};

// In-order position of the server's TCP direction (DNS answers over TCP).
struct StreamPosition {
  bool known = false;
  bool gap = false;  // a segment was missing: stream inspection stopped
  std::uint32_t next_seq = 0;
};

enum class FlowKind : std::uint8_t { kTcp, kUdp, kIcmpEcho, kIcmpError, kIcmpOther, kOther };

struct Flow {
  // Identity
  IpAddress client;
  IpAddress server;
  std::uint16_t client_port = 0;
  std::uint16_t server_port = 0;
  std::uint8_t protocol = 0;
  FlowKind kind = FlowKind::kOther;
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;

  Timestamp first_time = 0;
  Timestamp last_time = 0;
  std::uint64_t first_packet = 0;
  std::uint64_t last_packet = 0;
  DirectionStats to_server;
  DirectionStats to_client;
  TcpState tcp_state = TcpState::kNone;
  bool client_fin = false;
  bool server_fin = false;

  // Names: `hostname` is what reports show; `name_source` how it was learned.
  HostName hostname;
  NameSource name_source = NameSource::kNone;
  std::uint64_t name_packet = 0;  // packet that revealed the name (0 for dns)
  HostName dns_name;              // what DNS called the destination when the flow began

  // Inspection state (indices into engine-owned pools; kNoSlot when none)
  static constexpr std::uint32_t kNoSlot = 0xffffffffu;
  ClientStream client_stream;  // TCP: the client's bytes as judged
  StreamPosition server_stream;
  std::uint16_t server_window = 0;  // the server's latest TCP window (raw)
  std::uint32_t stream_slot = kNoSlot;
  std::uint32_t quic_slot = kNoSlot;
  std::uint32_t dns_tcp_slot = kNoSlot;
  // How far the name check of the client's payload got (kPending until
  // judged); only a complete inspection can allow payload to pass.
  Inspection inspection = Inspection::kPending;
  bool is_dns = false;                  // DNS messages were seen on this flow
  bool encrypted_client_hello = false;  // ECH/ESNI: the SNI seen is only the outer name
  bool not_tls = false;                 // the client stream is not TLS (HTTP is tried)
  bool http_awaiting = false;           // an HTTP request head is incomplete: hold its bytes
  bool saw_gap = false;                 // a segment came before a hole (refused)
  bool judged_acked = false;            // the server acknowledged every judged byte
  bool quic_rechecking = false;         // a judged QUIC flow reads a new Initial
  bool reply_bypass = false;            // HTTP: the kernel passes the server's data
  std::uint32_t quic_first_packet = 0;  // client datagram count when the parser began
  std::uint16_t http_requests = 0;
  std::uint32_t http_parse_seq = 0;  // where the next HTTP request head starts
  std::uint32_t judged_end_seq = 0;  // TLS: end of the records that carried the ClientHello
  // dns.confirm_revealed_names (engine/name_confirmer.h): the resolver is
  // being asked about `hostname` (its payload is held); it did not confirm
  // (the flow is denied); it confirmed `hostname` for `server`.
  bool confirming = false;
  bool confirm_refuted = false;
  bool name_confirmed = false;

  // Decision
  int app = -1;  // index into Policy::flight_apps, -1 = not governed
  Verdict verdict = Verdict::kNotGoverned;
  Reason reason = Reason::kNotFlightApp;
  int rule = -1;
  std::uint64_t decision_packet = 0;
  bool decision_final = false;     // no later packet can change the verdict
  bool decision_reported = false;  // OnDecision was called

  // Evidence that data left: payload sent, then acknowledged or answered.
  std::uint64_t first_payload_packet = 0;
  Timestamp first_payload_time = 0;
  std::uint32_t first_payload_seq = 0;
  std::uint64_t delivered_packet = 0;  // server packet proving receipt
  Timestamp delivered_time = 0;
};

// The canonical key of a flow's 5-tuple (both directions find it).
FlowKey KeyOf(const Flow& f);

}  // namespace flightwall
