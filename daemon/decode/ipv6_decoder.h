// ParseIpv6 and WalkIpv6Extensions: the IPv6 header and its extension header
// chain (hop-by-hop, routing, fragment, destination options, AH, mobility).
// Internal to the decode stage; stateless and thread-safe. They return
// nullptr on success or a static description of what is wrong, and never read
// outside `data`.
#pragma once

#include <cstdint>
#include <span>

#include "common/ip_address.h"

namespace flightwall {

// Real stacks send a handful; the bound stops a chain of empty headers from
// costing time on hostile input.
constexpr int kMaxIpv6ExtensionHeaders = 16;

struct Ipv6Chain {
  // The first header that is not an extension header (TCP, UDP, ICMPv6, or
  // ESP / no-next-header, where the walk stops), and the bytes after it.
  std::uint8_t protocol = 0;
  std::span<const std::uint8_t> payload;
  std::uint32_t header_length = 0;  // bytes of extension headers before `payload`
  // A fragment header ends the walk: what follows is fragment data.
  bool fragment = false;
  std::uint32_t fragment_id = 0;
  std::uint32_t fragment_offset = 0;  // bytes
  bool more_fragments = false;
  bool IsRealFragment() const { return fragment && (more_fragments || fragment_offset != 0); }
};

struct Ipv6Header {
  IpAddress src;
  IpAddress dst;
  std::uint8_t hop_limit = 0;
  std::uint32_t total_length = 0;  // 40 + payload length
  bool truncated = false;          // the capture ends before the payload length
  Ipv6Chain chain;
};

const char* WalkIpv6Extensions(std::uint8_t next_header, std::span<const std::uint8_t> data,
                               Ipv6Chain* out);

const char* ParseIpv6(std::span<const std::uint8_t> data, Ipv6Header* out);

}  // namespace flightwall
