// Fuzzes the reply builders (TCP reset, TCP ACK, ICMP unreachable, DNS
// refusal) on arbitrary datagrams as the decoder sees them, and on decoded
// packets whose lengths were then falsified, with caller buffers of every
// size, checking the invariants PacketInjector::Send relies on: never more
// than the buffer or kMaxInjectedPacket, a reply of the offending packet's IP
// version, with lengths that agree with what was returned and a valid IPv4
// header checksum. Out-of-range reads are caught by the sanitizers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "decode/packet_decoder.h"
#include "reply/reply_builder.h"

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

void CheckReply(const flightwall::DecodedPacket& pkt, const std::uint8_t* out, std::size_t n,
                std::size_t capacity) {
  Check(n <= capacity && n <= flightwall::kMaxInjectedPacket);
  if (n == 0) return;
  Check((out[0] >> 4) == (pkt.src.IsV6() ? 6 : 4));
  if ((out[0] >> 4) == 4) {
    Check(n >= 28 && n <= 576);
    Check(static_cast<std::size_t>(out[2] << 8 | out[3]) == n);
    Check(HeaderSum(out, 20) == 0xffff);
  } else {
    Check(n >= 48 && n <= 1280);
    Check(static_cast<std::size_t>(out[4] << 8 | out[5]) + 40 == n);
  }
}

void BuildAll(const flightwall::DecodedPacket& pkt, std::span<const std::uint8_t> datagram,
              std::uint8_t selector, std::span<std::uint8_t> buffer) {
  const std::uint8_t* out = buffer.data();
  CheckReply(pkt, out, flightwall::BuildTcpReset(pkt, buffer), buffer.size());
  CheckReply(pkt, out, flightwall::BuildTcpAck(pkt, 7, 512, buffer), buffer.size());
  CheckReply(pkt, out, flightwall::BuildIcmpUnreachable(pkt, datagram, buffer), buffer.size());
  CheckReply(pkt, out, flightwall::BuildDnsRefusal(pkt, selector & 0x0f, buffer), buffer.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte picks the output buffer size and how the decoded packet
  // is falsified; the rest is the datagram.
  static std::uint8_t out[flightwall::kMaxInjectedPacket + 64];
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::size_t capacity = (selector * 7u) % (sizeof out + 1);
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  const std::span<std::uint8_t> buffer(out, capacity);
  static flightwall::PacketDecoder decoder;  // fragments may complete across inputs
  flightwall::RawPacket raw;
  raw.link = flightwall::LinkType::kRaw;
  raw.data = in;
  raw.wire_length = static_cast<std::uint32_t>(in.size());
  flightwall::DecodedPacket pkt;
  if (decoder.Decode(raw, &pkt) != flightwall::DecodeStatus::kOk) return 0;
  BuildAll(pkt, in, selector, buffer);
  // A decoded packet that does not match its datagram (a caller's mistake)
  // must still never make a builder read or write out of range.
  pkt.ip_length = (pkt.ip_length * (selector | 1u)) & 0x1ffff;
  pkt.transport_offset = (pkt.transport_offset + selector) & 0xff;
  pkt.payload_length ^= static_cast<std::uint32_t>(selector) << 8;
  pkt.truncated = (selector & 0x40) != 0;
  BuildAll(pkt, in.first(in.size() / ((selector & 3u) + 1)), selector, buffer);
  return 0;
}
