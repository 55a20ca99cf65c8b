// DecodeTransport: TCP, UDP, ICMP and ICMPv6 on top of a decoded IP
// datagram, including the header quoted by ICMP errors. Internal to the
// decode stage; stateless and thread-safe. Returns nullptr on success or a
// static description of what is wrong; never reads outside `data`. Other IP
// protocols are accepted as they are: ports stay 0 and the payload is the
// whole IP payload, so the flow stage still sees the traffic.
#pragma once

#include <cstdint>
#include <span>

#include "decode/decoded_packet.h"

namespace flightwall {

// `out` already carries the addresses and protocol; `data` is the IP payload.
const char* DecodeTransport(std::span<const std::uint8_t> data, DecodedPacket* out);

}  // namespace flightwall
