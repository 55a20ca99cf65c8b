// ParseIpv4 / ParseIpv6: the network-layer header parsers of the decode
// stage, also used on the header quoted inside ICMP errors. Internal to the
// decode stage; stateless and thread-safe. They return nullptr on success or
// a static description of what is wrong, and never read outside `data`.
#pragma once

#include <cstdint>
#include <span>

#include "common/ip_address.h"

namespace flightwall {

struct Ipv4Header {
  IpAddress src;
  IpAddress dst;
  std::uint8_t protocol = 0;
  std::uint8_t ttl = 0;
  std::uint16_t id = 0;
  bool more_fragments = false;
  std::uint32_t fragment_offset = 0;  // in bytes
  std::uint32_t header_length = 0;    // IHL * 4, options included
  std::uint32_t total_length = 0;     // as the header says (after the TSO fix-up)
  // The bytes after the header, cut to the total length so Ethernet padding
  // never becomes payload; shorter when the capture was cut (truncated).
  std::span<const std::uint8_t> payload;
  bool truncated = false;

  bool IsFragment() const { return more_fragments || fragment_offset != 0; }
};

const char* ParseIpv4(std::span<const std::uint8_t> data, Ipv4Header* out);

}  // namespace flightwall
