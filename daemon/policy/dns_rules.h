// DNS rules: the one definition of which flows carry DNS and which servers a
// flight app may ask. decide.cpp judges flows and questions with them, and
// the engine uses the same answers to choose what it parses as DNS, which
// answers it trusts and which packets an enforcer treats as DNS. Pure
// functions of the Policy; safe to call from any thread that holds it.
#pragma once

#include <cstdint>

#include "common/ip_address.h"
#include "policy/policy.h"

namespace flightwall {

// May a flight app send DNS to `server`: only to one of dns.resolvers. An
// answer from any other server attests no address.
bool IsAllowedResolver(const Policy& policy, const IpAddress& server);

// True when `port` is one of the policy's dns.ports, the ports the kernel
// rules treat as DNS. CarriesDns is the wider question every judgement asks.
bool IsDnsPort(const Policy& policy, std::uint16_t port);

// Does a flow to `server_port` carry DNS: the policy's DNS ports, and 53
// (and mDNS, 5353 over UDP) whatever the policy lists, so a resolver is
// never reached without its questions being read and judged. Such a flow is
// judged by resolver, its questions one by one, and it is never bypassed.
bool CarriesDns(const Policy& policy, Transport transport, std::uint16_t server_port);

}  // namespace flightwall
