// The decision functions: the one place a verdict is made.
//
// `flightwall audit` and the daemon call exactly these, so a capture of a
// protected session audits clean with the policy that was enforced. They are
// pure: they read the Policy and the facts the caller gathered (addresses,
// ports, DNS bindings for the destination, a name the flow revealed) and
// return a Decision. No I/O, no allocation, safe to call from any thread
// that holds the Policy.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/ip_address.h"
#include "common/name_binding.h"
#include "common/timestamp.h"
#include "common/verdict.h"
#include "policy/dns_rules.h"
#include "policy/policy.h"

namespace flightwall {

struct Decision {
  Verdict verdict = Verdict::kNotGoverned;
  Reason reason = Reason::kNotFlightApp;
  int rule = -1;  // index into Policy::allow of the rule that allowed, or -1
};

// What identifies a flight app's traffic. A capture only shows addresses;
// the daemon also knows the input interface, in output mode the uid, and
// the app its kernel rules matched (interfaces, sources, uids and cgroups
// alike) from the packet mark.
struct AppContext {
  IpAddress source;
  std::string_view in_interface;  // empty when unknown
  std::int64_t uid = -1;          // -1 when unknown
  int marked_app = -1;            // index the kernel rules gave, -1 when none
  bool any_source = false;        // device vantage: everything is the app's
};

// Index into Policy::flight_apps of the app this traffic belongs to, or -1:
// the marked app when there is one, else the first app whose source,
// interface or uid (FlightApp::uids) matches.
int MatchFlightApp(const Policy& policy, const AppContext& app);

// True for destinations that never leave the local link (multicast,
// broadcast, link-local): local data by definition.
bool IsLocalOnlyDestination(const IpAddress& dst);

// True when DNS answered by `binding` still vouches for its address at `now`
// (trusted resolver, answered no later than now, within TTL + grace).
bool BindingAttests(const Policy& policy, const NameBinding& binding, Timestamp now);

struct FlowFacts {
  Transport transport = Transport::kTcp;
  IpAddress dst;
  std::uint16_t dst_port = 0;
  Timestamp now = 0;
  std::span<const NameBinding> dst_names;  // DNS bindings for dst, any age
  std::string_view revealed_name;          // SNI, Host or QUIC SNI; empty if none yet
  NameSource revealed_source = NameSource::kNone;
  // How far the inspection of the flow's payload got. kPending (no payload
  // yet) gives a provisional answer: the caller holds payload until the
  // outcome is known. Only a complete inspection can allow a named host.
  Inspection inspection = Inspection::kPending;
  // dns.confirm_revealed_names, when the caller can ask the trusted resolver
  // (the daemon; never an audit): a flow to an address no fresh answer
  // attests, on a port an allow rule with hosts covers, is provisionally
  // allowed (kAwaitingConfirmation: only its handshake passes, its payload is
  // held) until the name it reveals is confirmed or refuted.
  bool may_confirm = false;
  bool revealed_confirmed = false;  // the resolver confirmed revealed_name has dst
  bool confirm_refuted = false;     // ... or did not (refuted, timed out, failed)
};

// Rules 1, 3 and 4: a TCP/UDP flow of a flight app. Flows that carry DNS
// (CarriesDns) are judged by resolver here; their questions by
// DecideDnsQuestion. Inspection that stopped short denies with its own
// reason; a flow that revealed no name is allowed only by a rule with
// allow_without_name, an Encrypted ClientHello only by a rule with
// trust_ech_outer_name.
Decision DecideFlow(const Policy& policy, const FlowFacts& facts);

// Rule 2: one DNS question from a flight app to `server`.
Decision DecideDnsQuestion(const Policy& policy, const IpAddress& server, std::string_view qname);
// Bytes on a DNS flow from a flight app that are not a readable DNS
// question cannot be judged by name: denied (a tunnel needs no parser).
Decision DecideUnreadableDns();

// Rule 5: ICMP echo to dst (allowed only to attested, allowed hosts and only
// if the policy enables it), ICMP errors about a flow (pass when that flow
// was allowed), and other ICMP types. Neighbor discovery and MLD are local.
Decision DecideIcmpEcho(const Policy& policy, const FlowFacts& facts);
// The flow an ICMP error quotes, as the engine found it. An error sent by
// the flight app (quoting a packet its peer sent) passes only for an allowed
// flow, and never for DNS, whose quoted bytes would carry a question (maybe
// one the daemon refused locally) to the resolver. An error sent to the app
// (quoting the app's own packet: unreachable, too big) carries none of its
// data and passes unless the flow is denied.
struct QuotedFlow {
  enum class Side : std::uint8_t {
    kNeither,       // the quote does not fit the flow's endpoints
    kServerPacket,  // the app complains about what the server sent it
    kClientPacket,  // someone complains to the app about what it sent
  };
  bool known = false;   // the quoted packet belongs to a flow we track
  Decision decision;    // that flow's decision
  bool judged = false;  // and it is not provisional (payload not yet judged)
  Side side = Side::kNeither;
  bool dns = false;  // the quoted flow is DNS
};
Decision DecideIcmpError(const QuotedFlow& quoted);
Decision DecideIcmpOther(bool v6, std::uint8_t type);
// Any other IP protocol (not TCP, UDP or ICMP) from a flight app: denied,
// unless it stays on the local link.
Decision DecideOtherProtocol(const IpAddress& dst);

// Index into Policy::catalog of the first entry naming host, or -1.
int CatalogIndex(const Policy& policy, std::string_view host);

}  // namespace flightwall
