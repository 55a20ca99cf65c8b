// PacketInjector: sends the reply datagrams built by reply/reply_builder.h
// with raw sockets (IPPROTO_RAW for both families, which implies
// IP(V6)_HDRINCL on Linux: the whole datagram is sent, spoofed source
// included), in the network namespace the daemon runs in.
//
// Send() touches nothing but its own sockets, so it may be called from any
// thread; the daemon still opens one per worker, and each worker counts its
// own failed sends (EnforcerStats::inject_failures).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"

namespace flightwall {

class PacketInjector {
 public:
  // socket_mark != 0 sets SO_MARK on the injected packets so that the
  // daemon's own rules can recognise (and never queue) them. The error says
  // which capability is missing.
  static Result<std::unique_ptr<PacketInjector>> Open(std::uint32_t socket_mark = 0);
  ~PacketInjector();
  PacketInjector(const PacketInjector&) = delete;
  PacketInjector& operator=(const PacketInjector&) = delete;
  // Sends a full IPv4 or IPv6 datagram; false when it was not sent whole
  // (or is neither, or its family has no socket: IPv6 disabled on the host).
  bool Send(std::span<const std::uint8_t> datagram);

 private:
  PacketInjector() = default;
  int fd4_ = -1;
  int fd6_ = -1;
};

}  // namespace flightwall
