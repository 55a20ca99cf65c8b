// The replies that make denied traffic fail fast, built from the offending
// packet as the decode stage saw it: a TCP reset to the client, an
// ICMP/ICMPv6 destination-unreachable for denied UDP, a local DNS answer
// (REFUSED or NXDOMAIN) to a question for a denied name, spoofed from the
// resolver it was sent to; and the ACK that keeps a client sending a large
// ClientHello while it is held.
//
// Each builder is pure (no I/O, no state, thread-safe): it reads the
// DecodedPacket (addresses, ports, seq/ack, flags, declared payload length,
// DNS question from the payload) and writes the reply datagram into `out`,
// returning its length, or 0 when the packet must not be answered or `out`
// is too small. Only the ICMP error also reads the raw datagram, because it
// quotes it verbatim. Nothing is answered that was rebuilt from fragments,
// or that is to or from a multicast, broadcast or unspecified address; a
// reset is never answered, nor an ICMP error; ICMP errors quote at most 576
// (v4, RFC 1812) / 1280 (v6, RFC 4443) bytes in total. Every read is
// bounded by the spans given, whatever the DecodedPacket claims. Replies are
// sent by PacketInjector (reply/packet_injector.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "decode/decoded_packet.h"

namespace flightwall {

// No reply is larger (the IPv6 ICMP error limit).
constexpr std::size_t kMaxInjectedPacket = 1280;

// TCP RST from the destination to the source of the segment `pkt` (RFC 9293
// 3.10.7.1): seq = the segment's ACK when it has one, else seq 0 with
// RST|ACK acknowledging the segment (declared payload, +1 for SYN and for
// FIN).
std::size_t BuildTcpReset(const DecodedPacket& pkt, std::span<std::uint8_t> out);

// A pure ACK from the destination of the TCP data segment `pkt`,
// acknowledging all of it, with the given sequence number and window. The
// daemon sends it on the server's behalf while it holds a ClientHello larger
// than the client's initial congestion window: without it the client would
// wait for an acknowledgement that cannot come before the name is judged.
std::size_t BuildTcpAck(const DecodedPacket& pkt, std::uint32_t server_seq, std::uint16_t window,
                        std::span<std::uint8_t> out);

// ICMP port/admin-prohibited unreachable (v4 type 3 code 13, v6 type 1 code
// 1) from `pkt`'s destination, quoting the start of `datagram`: the IP
// datagram `pkt` was decoded from (for NFQUEUE, RawPacket::data), cut to
// the length its header declares. The quote must reach 8 bytes past the IP
// headers (RFC 792), or nothing is built. No error about an ICMP error or
// about informational ICMP other than echo/timestamp/info/address requests.
std::size_t BuildIcmpUnreachable(const DecodedPacket& pkt, std::span<const std::uint8_t> datagram,
                                 std::span<std::uint8_t> out);

// A DNS response to the UDP DNS query `pkt` with the given rcode (3
// NXDOMAIN, 5 REFUSED), echoing the question, from the queried server. Only
// whole (not truncated) plain queries with exactly one uncompressed question
// are answered; id, opcode, RD and CD are echoed, RA = RD, no
// answer/authority/additional.
std::size_t BuildDnsRefusal(const DecodedPacket& pkt, std::uint8_t rcode,
                            std::span<std::uint8_t> out);

}  // namespace flightwall
