// DecodeLink: strips the link-layer header of a frame (Ethernet with VLAN
// tags and PPPoE, Linux cooked v1/v2, BSD null / OpenBSD loop, raw IP) and says where
// the IP datagram starts. Internal to the decode stage; stateless and
// thread-safe. Never reads outside `frame`.
#pragma once

#include <cstdint>
#include <span>

#include "source/raw_packet.h"

namespace flightwall {

enum class LinkStatus : std::uint8_t { kIp, kNotIp, kUnsupported, kMalformed };

struct LinkResult {
  LinkStatus status = LinkStatus::kMalformed;
  std::uint8_t ip_version = 0;            // 4 or 6 when status is kIp
  std::span<const std::uint8_t> network;  // from the IP header to the end of the frame
  const char* error = nullptr;            // static text when not kIp/kNotIp
};

// Most tags seen in the wild are 1 (802.1Q) or 2 (QinQ); more is hostile.
constexpr int kMaxVlanTags = 8;

LinkResult DecodeLink(LinkType link, std::span<const std::uint8_t> frame);

}  // namespace flightwall
