// Building and sending the packets that make denied traffic fail fast:
// a TCP reset to the client, an ICMP/ICMPv6 destination-unreachable for
// denied UDP, and a local DNS answer (REFUSED or NXDOMAIN) to a question for
// a denied name, spoofed from the resolver it was sent to; and the ACK that
// keeps a client sending a large ClientHello while it is held.
//
// The Build* functions are pure (no I/O): they take the offending packet's
// IP datagram and write the reply datagram into a caller buffer, returning
// its length (0 if the offending packet is not suitable, e.g. a RST is never
// answered). PacketInjector sends them with raw sockets (IPPROTO_RAW for both
// families, which implies IP(V6)_HDRINCL on Linux), in the network namespace
// the daemon runs in. Replies are never built for fragments past the first
// (no transport header), multicast/broadcast/unspecified addresses, resets,
// or ICMP errors; ICMP errors quote at most 576 (v4, RFC 1812) / 1280 (v6,
// RFC 4443) bytes in total. Build* functions are thread-safe; each daemon
// worker opens its own PacketInjector and uses it from its thread only (its
// failure counter is plain).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace flightwall {

constexpr std::size_t kMaxInjectedPacket = 1280;

// TCP RST from the destination to the source of `datagram` (RFC 9293
// 3.10.7.1): seq = the segment's ACK when it has one, else seq 0 with
// RST|ACK acknowledging the segment (payload, +1 for SYN and for FIN).
std::size_t BuildTcpReset(std::span<const std::uint8_t> datagram, std::span<std::uint8_t> out);
// A pure ACK from the destination of the TCP data segment in `datagram`,
// acknowledging all of it, with the given sequence number and window. The
// daemon sends it on the server's behalf while it holds a ClientHello larger
// than the client's initial congestion window: without it the client would
// wait for an acknowledgement that cannot come before the name is judged.
std::size_t BuildTcpAck(std::span<const std::uint8_t> datagram, std::uint32_t server_seq,
                        std::uint16_t window, std::span<std::uint8_t> out);
// ICMP port/admin-prohibited unreachable (v4 type 3 code 13, v6 type 1 code 1)
// quoting the start of `datagram`, sent from `datagram`'s destination.
std::size_t BuildIcmpUnreachable(std::span<const std::uint8_t> datagram,
                                 std::span<std::uint8_t> out);
// A DNS response to the UDP DNS query in `datagram` with the given rcode
// (3 NXDOMAIN, 5 REFUSED), echoing the question, from the queried server.
// Only plain queries with exactly one uncompressed question are answered;
// id, opcode, RD and CD are echoed, RA = RD, no answer/authority/additional.
std::size_t BuildDnsRefusal(std::span<const std::uint8_t> datagram, std::uint8_t rcode,
                            std::span<std::uint8_t> out);

class PacketInjector {
 public:
  // socket_mark != 0 sets SO_MARK on the injected packets so that the
  // daemon's own rules can recognise (and never queue) them.
  static std::unique_ptr<PacketInjector> Open(std::string* error, std::uint32_t socket_mark = 0);
  ~PacketInjector();
  PacketInjector(const PacketInjector&) = delete;
  PacketInjector& operator=(const PacketInjector&) = delete;
  // Sends a full IPv4 or IPv6 datagram; false (and counted) on failure.
  bool Send(std::span<const std::uint8_t> datagram);
  std::uint64_t Failures() const { return failures_; }

 private:
  PacketInjector() = default;
  int fd4_ = -1;
  int fd6_ = -1;
  std::uint64_t failures_ = 0;
};

}  // namespace flightwall
