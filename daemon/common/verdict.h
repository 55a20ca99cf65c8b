// Verdict vocabulary shared by every stage: what was decided, why, and how a
// flow's host name was learned. Kept in common/ so the flow table can store a
// decision without depending on the policy stage that makes it.
#pragma once

#include <cstdint>
#include <string_view>

namespace flightwall {

enum class Verdict : std::uint8_t {
  kNotGoverned,  // not flight-app traffic: the policy does not look at it
  kAllow,
  kDeny,
};

enum class Reason : std::uint8_t {
  kNotFlightApp,
  kPending,                // no decision yet (e.g. waiting for the first payload)
  kAllowedHost,            // destination attested by DNS for an allowed name
  kAllowedCidr,            // literal-IP destination inside an allowed CIDR
  kDnsAllowed,             // DNS question for an allowed name to an allowed resolver
  kDnsResolverNotAllowed,  // DNS to a server not in dns.resolvers
  kDnsNameNotAllowed,      // question for a name no allow rule matches
  kNoDnsAttestation,       // destination never named by DNS: a hard-coded IP
  kNameNotAllowed,         // the (attested or revealed) name matches no allow rule
  kNameNotAttested,        // allowed name revealed for an address DNS gave another name: fronting
  kPortNotAllowed,         // allowed name, but not on this port/transport
  kIcmpEchoDenied,
  kIcmpEchoAllowed,
  kIcmpErrorOfAllowedFlow,
  kIcmpErrorOfDeniedFlow,
  kIcmpNotAllowed,      // other ICMP types from a flight app
  kProtocolNotAllowed,  // IP protocols other than TCP/UDP/ICMP
  kLocalOnly,           // multicast, broadcast or link-local: never routed off the LAN
  kDnsMalformed,        // bytes to a DNS port that are not a DNS question
  // Inspection that stopped short (see Inspection below): never an allow.
  kNoNameRevealed,        // TLS without SNI, HTTP without Host (allow_without_name opts in)
  kPoolExhausted,         // no inspection slot was free for this flow
  kTooLarge,              // more bytes than flightwall reassembles before the name
  kMalformed,             // the protocol's bytes are inconsistent
  kGap,                   // bytes missing, or the stream's start was never seen
  kUnknownVersion,        // a QUIC version flightwall cannot decrypt
  kEncryptedClientHello,  // ECH: the SNI seen is only the outer name
  kOverlapConflict,       // a retransmission whose bytes differ from those judged
  kUnrecognizedProtocol,  // payload that reveals no name in any protocol flightwall reads
  kAllowedWithoutName,    // attested allowed host; the rule says allow_without_name
  kIcmpErrorOfDns,        // ICMP error quoting DNS (would carry a question's bytes)
  // dns.confirm_revealed_names: an unattested address on an allowed port.
  kAwaitingConfirmation,  // provisional: handshake passes, payload held until confirmed
  kUnconfirmed,           // the trusted resolver did not confirm the revealed name's address
};

// How far the inspection of a flow's first payload got. Only kComplete (and
// kNoName, kUnrecognizedProtocol or kEncryptedClientHello where an allow rule
// opts in) can lead to an allow; every other outcome is denied with its own
// Reason.
enum class Inspection : std::uint8_t {
  kPending,  // no payload judged yet
  kComplete,
  kNoName,
  kPoolExhausted,
  kTooLarge,
  kMalformed,
  kGap,
  kUnknownVersion,
  kEncryptedClientHello,
  kOverlapConflict,
  kUnrecognizedProtocol,
};

constexpr Reason ReasonFor(Inspection i) {
  switch (i) {
    case Inspection::kPending:
    case Inspection::kComplete:
      return Reason::kPending;
    case Inspection::kNoName:
      return Reason::kNoNameRevealed;
    case Inspection::kPoolExhausted:
      return Reason::kPoolExhausted;
    case Inspection::kTooLarge:
      return Reason::kTooLarge;
    case Inspection::kMalformed:
      return Reason::kMalformed;
    case Inspection::kGap:
      return Reason::kGap;
    case Inspection::kUnknownVersion:
      return Reason::kUnknownVersion;
    case Inspection::kEncryptedClientHello:
      return Reason::kEncryptedClientHello;
    case Inspection::kOverlapConflict:
      return Reason::kOverlapConflict;
    case Inspection::kUnrecognizedProtocol:
      return Reason::kUnrecognizedProtocol;
  }
  return Reason::kPending;
}

// True for outcomes no rule can allow. A flow that revealed no name (or
// spoke a protocol flightwall does not read) and an Encrypted ClientHello are
// denied too, unless an allow rule opts in (policy/decide.h).
constexpr bool InspectionFailed(Inspection i) {
  return i != Inspection::kPending && i != Inspection::kComplete && i != Inspection::kNoName &&
         i != Inspection::kEncryptedClientHello && i != Inspection::kUnrecognizedProtocol;
}

constexpr std::string_view InspectionName(Inspection i) {
  switch (i) {
    case Inspection::kPending:
      return "pending";
    case Inspection::kComplete:
      return "complete";
    case Inspection::kNoName:
      return "no-name-revealed";
    case Inspection::kPoolExhausted:
      return "pool-exhausted";
    case Inspection::kTooLarge:
      return "too-large";
    case Inspection::kMalformed:
      return "malformed";
    case Inspection::kGap:
      return "gap";
    case Inspection::kUnknownVersion:
      return "unknown-version";
    case Inspection::kEncryptedClientHello:
      return "encrypted-client-hello";
    case Inspection::kOverlapConflict:
      return "overlap-conflict";
    case Inspection::kUnrecognizedProtocol:
      return "unrecognized-protocol";
  }
  return "pending";
}

enum class NameSource : std::uint8_t { kNone, kDns, kSni, kHttpHost, kQuicSni };

constexpr std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kNotGoverned:
      return "not-governed";
    case Verdict::kAllow:
      return "allow";
    case Verdict::kDeny:
      return "deny";
  }
  return "unknown";
}

constexpr std::string_view ReasonName(Reason r) {
  switch (r) {
    case Reason::kNotFlightApp:
      return "not-flight-app";
    case Reason::kPending:
      return "pending";
    case Reason::kAllowedHost:
      return "allowed-host";
    case Reason::kAllowedCidr:
      return "allowed-cidr";
    case Reason::kDnsAllowed:
      return "dns-allowed";
    case Reason::kDnsResolverNotAllowed:
      return "dns-resolver-not-allowed";
    case Reason::kDnsNameNotAllowed:
      return "dns-name-not-allowed";
    case Reason::kNoDnsAttestation:
      return "no-dns-attestation";
    case Reason::kNameNotAllowed:
      return "name-not-allowed";
    case Reason::kNameNotAttested:
      return "name-not-attested-for-address";
    case Reason::kPortNotAllowed:
      return "port-not-allowed";
    case Reason::kIcmpEchoDenied:
      return "icmp-echo-denied";
    case Reason::kIcmpEchoAllowed:
      return "icmp-echo-allowed";
    case Reason::kIcmpErrorOfAllowedFlow:
      return "icmp-error-of-allowed-flow";
    case Reason::kIcmpErrorOfDeniedFlow:
      return "icmp-error-of-denied-flow";
    case Reason::kIcmpNotAllowed:
      return "icmp-not-allowed";
    case Reason::kProtocolNotAllowed:
      return "protocol-not-allowed";
    case Reason::kLocalOnly:
      return "local-only";
    case Reason::kDnsMalformed:
      return "dns-malformed";
    case Reason::kNoNameRevealed:
      return "no-name-revealed";
    case Reason::kPoolExhausted:
      return "pool-exhausted";
    case Reason::kTooLarge:
      return "too-large";
    case Reason::kMalformed:
      return "malformed";
    case Reason::kGap:
      return "gap";
    case Reason::kUnknownVersion:
      return "unknown-version";
    case Reason::kEncryptedClientHello:
      return "encrypted-client-hello";
    case Reason::kOverlapConflict:
      return "overlap-conflict";
    case Reason::kUnrecognizedProtocol:
      return "unrecognized-protocol";
    case Reason::kAllowedWithoutName:
      return "allowed-host-without-name";
    case Reason::kIcmpErrorOfDns:
      return "icmp-error-of-dns";
    case Reason::kAwaitingConfirmation:
      return "awaiting-confirmation";
    case Reason::kUnconfirmed:
      return "unconfirmed";
  }
  return "unknown";
}

// A person-readable sentence for reports.
constexpr std::string_view ReasonExplanation(Reason r) {
  switch (r) {
    case Reason::kNotFlightApp:
      return "traffic of no flight app; the policy does not govern it";
    case Reason::kPending:
      return "no decision was reached";
    case Reason::kAllowedHost:
      return "destination attested by DNS for an allowed map-tile host";
    case Reason::kAllowedCidr:
      return "literal-IP destination inside a CIDR the policy allows";
    case Reason::kDnsAllowed:
      return "DNS question for an allowed name to an allowed resolver";
    case Reason::kDnsResolverNotAllowed:
      return "DNS sent to a server that is not an allowed resolver";
    case Reason::kDnsNameNotAllowed:
      return "DNS question for a name no allow rule matches (DNS carries data)";
    case Reason::kNoDnsAttestation:
      return "destination address was never named by an allowed DNS answer (hard-coded IP)";
    case Reason::kNameNotAllowed:
      return "host name matches no allow rule";
    case Reason::kNameNotAttested:
      return "allowed name sent to an address DNS gave only for other names (domain fronting)";
    case Reason::kPortNotAllowed:
      return "allowed host, but not on this port or transport";
    case Reason::kIcmpEchoDenied:
      return "ICMP echo to a destination the policy does not allow";
    case Reason::kIcmpEchoAllowed:
      return "ICMP echo to an allowed host";
    case Reason::kIcmpErrorOfAllowedFlow:
      return "ICMP error about an allowed flow";
    case Reason::kIcmpErrorOfDeniedFlow:
      return "ICMP error about a flow that is not allowed";
    case Reason::kIcmpNotAllowed:
      return "ICMP message type a flight app may not send";
    case Reason::kProtocolNotAllowed:
      return "IP protocol other than TCP, UDP and ICMP";
    case Reason::kLocalOnly:
      return "multicast, broadcast or link-local traffic that never leaves the LAN";
    case Reason::kDnsMalformed:
      return "bytes sent to a DNS port that are not a DNS question";
    case Reason::kNoNameRevealed:
      return "TLS without SNI or HTTP without Host: the host the data was for cannot be checked";
    case Reason::kPoolExhausted:
      return "no inspection slot was free: flightwall denies what it has no room to inspect";
    case Reason::kTooLarge:
      return "more bytes before the host name than flightwall reassembles";
    case Reason::kMalformed:
      return "the protocol's bytes are inconsistent; the name could not be read";
    case Reason::kGap:
      return "bytes were missing or the connection's start was not seen; the name could not be "
             "read";
    case Reason::kUnknownVersion:
      return "QUIC version flightwall cannot decrypt; clients fall back to TCP";
    case Reason::kEncryptedClientHello:
      return "TLS Encrypted ClientHello: the real host name is hidden";
    case Reason::kOverlapConflict:
      return "retransmitted bytes differ from the bytes that were judged (evasion)";
    case Reason::kUnrecognizedProtocol:
      return "payload in no protocol flightwall reads names from";
    case Reason::kAllowedWithoutName:
      return "destination attested for an allowed host whose rule allows traffic without a name";
    case Reason::kIcmpErrorOfDns:
      return "ICMP error quoting DNS (it would carry a question's bytes to the resolver)";
    case Reason::kAwaitingConfirmation:
      return "unattested address on an allowed port: payload held until the trusted resolver "
             "confirms the name it reveals";
    case Reason::kUnconfirmed:
      return "the trusted resolver did not confirm that the revealed name has this address "
             "(refuted, timed out, rate-limited or failed)";
  }
  return "unknown";
}

constexpr std::string_view NameSourceName(NameSource s) {
  switch (s) {
    case NameSource::kNone:
      return "none";
    case NameSource::kDns:
      return "dns";
    case NameSource::kSni:
      return "sni";
    case NameSource::kHttpHost:
      return "http-host";
    case NameSource::kQuicSni:
      return "quic-sni";
  }
  return "none";
}

}  // namespace flightwall
