#include "policy/decide.h"

#include <algorithm>

namespace flightwall {
namespace {

bool RuleMatchesHost(const AllowRule& rule, std::string_view host) {
  return std::any_of(rule.hosts.begin(), rule.hosts.end(),
                     [&](const HostPattern& p) { return p.Matches(host); });
}

bool RuleAllowsEndpoint(const AllowRule& rule, Transport t, std::uint16_t port) {
  return rule.AllowsTransport(t) && rule.AllowsPort(port);
}

// First rule that allows `host` on this transport/port, or -1; *host_known is
// set when some rule names the host at all (so the port is what is wrong).
int FindRuleForHost(const Policy& policy, std::string_view host, Transport t, std::uint16_t port,
                    bool* host_known) {
  for (std::size_t i = 0; i < policy.allow.size(); ++i) {
    const AllowRule& rule = policy.allow[i];
    if (!RuleMatchesHost(rule, host)) continue;
    *host_known = true;
    if (RuleAllowsEndpoint(rule, t, port)) return static_cast<int>(i);
  }
  return -1;
}

// Is there an allow rule naming hosts that covers this transport and port
// (dns.confirm_revealed_names lets such a handshake through)?
bool NamedRuleCoversEndpoint(const Policy& policy, Transport t, std::uint16_t port) {
  return std::any_of(policy.allow.begin(), policy.allow.end(), [&](const AllowRule& r) {
    return !r.hosts.empty() && RuleAllowsEndpoint(r, t, port);
  });
}

Decision Allow(Reason reason, int rule) { return {Verdict::kAllow, reason, rule}; }
Decision Deny(Reason reason) { return {Verdict::kDeny, reason, -1}; }

}  // namespace

int MatchFlightApp(const Policy& policy, const AppContext& app) {
  if (app.any_source) return policy.flight_apps.empty() ? -1 : 0;
  if (app.marked_app >= 0 && static_cast<std::size_t>(app.marked_app) < policy.flight_apps.size()) {
    return app.marked_app;
  }
  for (std::size_t i = 0; i < policy.flight_apps.size(); ++i) {
    const FlightApp& fa = policy.flight_apps[i];
    const bool by_source = std::any_of(fa.sources.begin(), fa.sources.end(),
                                       [&](const Cidr& c) { return c.Contains(app.source); });
    const bool by_interface =
        !app.in_interface.empty() && std::find(fa.interfaces.begin(), fa.interfaces.end(),
                                               app.in_interface) != fa.interfaces.end();
    const bool by_uid = app.uid >= 0 && std::any_of(fa.uids.begin(), fa.uids.end(),
                                                    [&](std::uint32_t u) { return u == app.uid; });
    if (by_source || by_interface || by_uid) return static_cast<int>(i);
  }
  return -1;
}

bool IsLocalOnlyDestination(const IpAddress& dst) {
  const auto& b = dst.Bytes();
  if (!dst.IsV6()) {
    if (b[0] >= 224 && b[0] <= 239) return true;                                // multicast
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return true;  // broadcast
    if (b[0] == 169 && b[1] == 254) return true;                                // link-local
    return false;
  }
  if (b[0] == 0xff) return true;                           // multicast
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
  return false;
}

bool BindingAttests(const Policy& policy, const NameBinding& binding, Timestamp now) {
  if (!binding.trusted || binding.answered_at > now) return false;
  const std::uint64_t ttl = std::max(binding.ttl, policy.dns.min_ttl_seconds);
  const Timestamp valid_for =
      static_cast<Timestamp>(ttl + policy.dns.ttl_grace_seconds) * kMicrosPerSecond;
  return now - binding.answered_at <= valid_for;
}

Decision DecideFlow(const Policy& policy, const FlowFacts& f) {
  if (IsLocalOnlyDestination(f.dst)) return {Verdict::kNotGoverned, Reason::kLocalOnly, -1};
  if (CarriesDns(policy, f.transport, f.dst_port)) {
    if (!IsAllowedResolver(policy, f.dst)) return Deny(Reason::kDnsResolverNotAllowed);
    // DNS over TCP whose stream could not be read cannot have its questions
    // judged.
    if (InspectionFailed(f.inspection)) return Deny(ReasonFor(f.inspection));
    return Allow(Reason::kDnsAllowed, -1);
  }
  // Rule 4: literal-IP destinations the policy lists by CIDR.
  for (std::size_t i = 0; i < policy.allow.size(); ++i) {
    const AllowRule& rule = policy.allow[i];
    if (!RuleAllowsEndpoint(rule, f.transport, f.dst_port)) continue;
    for (const Cidr& c : rule.cidrs) {
      if (c.Contains(f.dst)) return Allow(Reason::kAllowedCidr, static_cast<int>(i));
    }
  }
  // Inspection that stopped short: what could not be read is not allowed.
  if (InspectionFailed(f.inspection)) return Deny(ReasonFor(f.inspection));
  // Rule 3: the address must be attested by a fresh, trusted DNS answer.
  bool any_fresh = false;
  bool any_allowed_name = false;
  int attested_rule = -1;
  int nameless_rule = -1;  // an attested rule that allows traffic without a name
  for (const NameBinding& b : f.dst_names) {
    if (!BindingAttests(policy, b, f.now)) continue;
    any_fresh = true;
    bool known = false;
    const int r = FindRuleForHost(policy, b.name.View(), f.transport, f.dst_port, &known);
    any_allowed_name = any_allowed_name || known;
    if (r >= 0 && (attested_rule < 0 || r < attested_rule)) attested_rule = r;
    if (r >= 0 && policy.allow[r].allow_without_name && (nameless_rule < 0 || r < nameless_rule)) {
      nameless_rule = r;
    }
  }
  if (!f.revealed_name.empty()) {
    bool known = false;
    const int r = FindRuleForHost(policy, f.revealed_name, f.transport, f.dst_port, &known);
    if (r < 0) return Deny(known ? Reason::kPortNotAllowed : Reason::kNameNotAllowed);
    const bool ech_denied =
        f.inspection == Inspection::kEncryptedClientHello && !policy.allow[r].trust_ech_outer_name;
    const bool attested =
        f.revealed_confirmed ||
        std::any_of(f.dst_names.begin(), f.dst_names.end(), [&](const auto& b) {
          return b.name.View() == f.revealed_name && BindingAttests(policy, b, f.now);
        });
    // Active attestation only where no answer names the address at all: an
    // address DNS gave for other names is fronting, denied either way.
    if (!attested && !any_fresh && f.may_confirm && !ech_denied) {
      if (f.confirm_refuted) return Deny(Reason::kUnconfirmed);
      return Allow(Reason::kAwaitingConfirmation, r);  // provisional: payload is held
    }
    if (!attested) return Deny(any_fresh ? Reason::kNameNotAttested : Reason::kNoDnsAttestation);
    if (ech_denied) return Deny(Reason::kEncryptedClientHello);
    return Allow(Reason::kAllowedHost, r);
  }
  if (!any_fresh) {
    // The handshake of a not-yet-named flow may pass; its payload is held
    // until it reveals a name (a flow that reveals none is denied below).
    if (f.may_confirm && f.inspection == Inspection::kPending &&
        NamedRuleCoversEndpoint(policy, f.transport, f.dst_port)) {
      return Allow(Reason::kAwaitingConfirmation, -1);
    }
    return Deny(Reason::kNoDnsAttestation);
  }
  if (attested_rule < 0) {
    return Deny(any_allowed_name ? Reason::kPortNotAllowed : Reason::kNameNotAllowed);
  }
  switch (f.inspection) {
    case Inspection::kPending:
      return Allow(Reason::kAllowedHost, attested_rule);  // provisional: payload is held
    case Inspection::kNoName:
    case Inspection::kUnrecognizedProtocol:
      if (nameless_rule >= 0) return Allow(Reason::kAllowedWithoutName, nameless_rule);
      return Deny(ReasonFor(f.inspection));
    case Inspection::kEncryptedClientHello:  // ECH without an outer name
      return Deny(Reason::kEncryptedClientHello);
    default:
      // kComplete always reveals a name; anything else failed above.
      return Deny(f.inspection == Inspection::kComplete ? Reason::kNoNameRevealed
                                                        : ReasonFor(f.inspection));
  }
}

Decision DecideDnsQuestion(const Policy& policy, const IpAddress& server, std::string_view qname) {
  if (!IsAllowedResolver(policy, server)) return Deny(Reason::kDnsResolverNotAllowed);
  for (std::size_t i = 0; i < policy.allow.size(); ++i) {
    if (RuleMatchesHost(policy.allow[i], qname))
      return Allow(Reason::kDnsAllowed, static_cast<int>(i));
  }
  return Deny(Reason::kDnsNameNotAllowed);
}

Decision DecideIcmpEcho(const Policy& policy, const FlowFacts& f) {
  if (IsLocalOnlyDestination(f.dst)) return {Verdict::kNotGoverned, Reason::kLocalOnly, -1};
  if (!policy.icmp_echo_to_allowed_hosts) return Deny(Reason::kIcmpEchoDenied);
  for (const NameBinding& b : f.dst_names) {
    if (!BindingAttests(policy, b, f.now)) continue;
    for (std::size_t i = 0; i < policy.allow.size(); ++i) {
      if (RuleMatchesHost(policy.allow[i], b.name.View())) {
        return Allow(Reason::kIcmpEchoAllowed, static_cast<int>(i));
      }
    }
  }
  return Deny(Reason::kIcmpEchoDenied);
}

Decision DecideIcmpError(const QuotedFlow& quoted) {
  if (!quoted.known || quoted.decision.verdict == Verdict::kDeny) {
    return Deny(Reason::kIcmpErrorOfDeniedFlow);
  }
  switch (quoted.side) {
    case QuotedFlow::Side::kClientPacket:
      return Allow(Reason::kIcmpErrorOfAllowedFlow, quoted.decision.rule);
    case QuotedFlow::Side::kServerPacket:
      if (quoted.dns) return Deny(Reason::kIcmpErrorOfDns);
      if (quoted.decision.verdict != Verdict::kAllow || !quoted.judged) {
        return Deny(Reason::kIcmpErrorOfDeniedFlow);
      }
      return Allow(Reason::kIcmpErrorOfAllowedFlow, quoted.decision.rule);
    case QuotedFlow::Side::kNeither:
      break;
  }
  return Deny(Reason::kIcmpErrorOfDeniedFlow);
}

Decision DecideIcmpOther(bool v6, std::uint8_t type) {
  // ICMPv6 router/neighbor discovery (133-137) and MLD (130-132, 143) are
  // link-local plumbing; without them IPv6 does not work at all.
  if (v6 && ((type >= 130 && type <= 137) || type == 143)) {
    return {Verdict::kNotGoverned, Reason::kLocalOnly, -1};
  }
  return Deny(Reason::kIcmpNotAllowed);
}

int CatalogIndex(const Policy& policy, std::string_view host) {
  if (host.empty()) return -1;
  for (std::size_t i = 0; i < policy.catalog.size(); ++i) {
    for (const HostPattern& p : policy.catalog[i].hosts) {
      if (p.Matches(host)) return static_cast<int>(i);
    }
  }
  return -1;
}

Decision DecideUnreadableDns() { return Deny(Reason::kDnsMalformed); }

Decision DecideOtherProtocol(const IpAddress& dst) {
  if (IsLocalOnlyDestination(dst)) return {Verdict::kNotGoverned, Reason::kLocalOnly, -1};
  return {Verdict::kDeny, Reason::kProtocolNotAllowed, -1};
}

}  // namespace flightwall
