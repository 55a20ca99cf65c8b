// Fuzzes the reply builders (TCP reset, ICMP unreachable, DNS refusal) on
// arbitrary datagrams and caller buffers of every size, checking the
// invariants PacketInjector::Send relies on: never more than the buffer or
// kMaxInjectedPacket, a reply of the offending packet's IP version, with
// lengths that agree with what was returned and a valid IPv4 header checksum.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "source/packet_injector.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

std::uint32_t HeaderSum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

void CheckReply(std::span<const std::uint8_t> in, const std::uint8_t* out, std::size_t n,
                std::size_t capacity) {
  Check(n <= capacity && n <= flightwall::kMaxInjectedPacket);
  if (n == 0) return;
  Check(!in.empty() && (out[0] >> 4) == (in[0] >> 4));
  if ((out[0] >> 4) == 4) {
    Check(n >= 28 && n <= 576);
    Check(static_cast<std::size_t>(out[2] << 8 | out[3]) == n);
    Check(HeaderSum(out, 20) == 0xffff);
  } else {
    Check((out[0] >> 4) == 6 && n >= 48 && n <= 1280);
    Check(static_cast<std::size_t>(out[4] << 8 | out[5]) + 40 == n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte picks the output buffer size; the rest is the datagram.
  static std::uint8_t out[flightwall::kMaxInjectedPacket + 64];
  if (size == 0) return 0;
  const std::size_t capacity = (data[0] * 7u) % (sizeof out + 1);
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  const std::span<std::uint8_t> buffer(out, capacity);
  CheckReply(in, out, flightwall::BuildTcpReset(in, buffer), capacity);
  CheckReply(in, out, flightwall::BuildIcmpUnreachable(in, buffer), capacity);
  CheckReply(in, out, flightwall::BuildDnsRefusal(in, data[0] & 0x0f, buffer), capacity);
  return 0;
}
