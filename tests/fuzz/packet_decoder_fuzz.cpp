// Fuzzes PacketDecoder: the first byte picks the link type, the rest is the
// frame. One decoder lives across inputs so fragments from earlier inputs
// meet later ones and the reassembler's state (slots, blocks, eviction,
// timeout) is fuzzed too; small limits make eviction reachable.
#include <cstddef>
#include <cstdint>
#include <span>

#include "decode/packet_decoder.h"

namespace {

constexpr flightwall::LinkType kLinks[] = {
    flightwall::LinkType::kNull, flightwall::LinkType::kEthernet,  flightwall::LinkType::kRaw,
    flightwall::LinkType::kLoop, flightwall::LinkType::kLinuxSll,  flightwall::LinkType::kIpv4,
    flightwall::LinkType::kIpv6, flightwall::LinkType::kLinuxSll2,
};

flightwall::PacketDecoder& Decoder() {
  static auto* decoder = [] {
    flightwall::DecoderLimits limits;
    limits.max_datagrams_in_reassembly = 8;
    limits.max_reassembly_bytes = 128 * 1024;
    limits.fragment_timeout = 1000;
    return new flightwall::PacketDecoder(limits);
  }();
  return *decoder;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static std::uint64_t number = 0;
  flightwall::RawPacket raw;
  raw.number = ++number;
  // Packet time advances slowly so some held datagrams time out and others
  // complete; the top bit of the selector makes time jump backwards too.
  raw.time = static_cast<flightwall::Timestamp>((data[0] & 0x80) ? number / 2 : number * 7);
  raw.link = kLinks[data[0] % (sizeof(kLinks) / sizeof(kLinks[0]))];
  raw.data = std::span<const std::uint8_t>(data + 1, size - 1);
  raw.wire_length = static_cast<std::uint32_t>(size - 1);
  flightwall::DecodedPacket out;
  const auto status = Decoder().Decode(raw, &out);
  if (status == flightwall::DecodeStatus::kOk) {
    // Touch every payload byte so ASan checks the view (it may point into
    // the reassembler's buffer).
    volatile std::uint8_t sink = 0;
    for (std::uint8_t b : out.payload) sink = sink ^ b;
    (void)sink;
  }
  return 0;
}
