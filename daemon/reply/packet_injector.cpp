#include "reply/packet_injector.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace flightwall {
namespace {

constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;

}  // namespace

Result<std::unique_ptr<PacketInjector>> PacketInjector::Open(std::uint32_t socket_mark) {
  std::unique_ptr<PacketInjector> injector(new PacketInjector());
  // With IPPROTO_RAW both families imply IP(V6)_HDRINCL on Linux: we send
  // the whole datagram, spoofed source included.
  injector->fd4_ = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (injector->fd4_ < 0) {
    return Status::Error(
        std::string("cannot open a raw IPv4 socket to send resets and ICMP errors: ") +
        std::strerror(errno) + " (run as root or with CAP_NET_RAW)");
  }
  // IPv6 may be disabled on this host; IPv6 replies then fail and are counted.
  injector->fd6_ = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (socket_mark != 0) {
    for (const int fd : {injector->fd4_, injector->fd6_}) {
      if (fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_MARK, &socket_mark, sizeof socket_mark) != 0) {
        return Status::Error(std::string("cannot mark injected packets (SO_MARK): ") +
                             std::strerror(errno) + " (run as root or with CAP_NET_ADMIN)");
      }
    }
  }
  return injector;
}

PacketInjector::~PacketInjector() {
  if (fd4_ >= 0) ::close(fd4_);
  if (fd6_ >= 0) ::close(fd6_);
}

bool PacketInjector::Send(std::span<const std::uint8_t> datagram) {
  ssize_t sent = -1;
  if (datagram.size() >= kIpv4Header && (datagram[0] >> 4) == 4 && fd4_ >= 0) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, datagram.data() + 16, 4);
    sent = ::sendto(fd4_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to);
  } else if (datagram.size() >= kIpv6Header && (datagram[0] >> 4) == 6 && fd6_ >= 0) {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    std::memcpy(&to.sin6_addr, datagram.data() + 24, 16);
    sent = ::sendto(fd6_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to);
  }
  return sent == static_cast<ssize_t>(datagram.size());
}

}  // namespace flightwall
