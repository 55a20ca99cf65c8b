// RawPacket: one frame as a source (pcap file, live capture, NFQUEUE) hands it
// to the engine. The bytes are borrowed from the source and valid only until
// the source is asked for the next packet.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/timestamp.h"

namespace flightwall {

// Link types use the pcap LINKTYPE_* numbers (tcpdump.org/linktypes.html).
enum class LinkType : std::uint16_t {
  kNull = 0,        // BSD loopback: 4-byte host-order address family
  kEthernet = 1,    // Ethernet II, with optional 802.1Q / 802.1ad (QinQ) tags
  kRaw = 101,       // raw IPv4/IPv6, version from the first nibble (NFQUEUE too)
  kLoop = 108,      // OpenBSD loopback: 4-byte network-order address family
  kLinuxSll = 113,  // Linux cooked capture v1
  kIpv4 = 228,
  kIpv6 = 229,
  kLinuxSll2 = 276,  // Linux cooked capture v2
};

struct RawPacket {
  std::uint64_t number = 0;  // 1-based, as Wireshark counts, across all inputs
  Timestamp time = 0;
  // When a live source received it, on CLOCK_MONOTONIC (microseconds; 0 when
  // not known): timeouts use it, so a wall-clock step (NTP or GPS setting
  // the clock after boot) neither expires nor prolongs them.
  Timestamp monotonic = 0;
  LinkType link = LinkType::kRaw;
  std::uint32_t wire_length = 0;       // original length on the wire
  std::span<const std::uint8_t> data;  // captured bytes (may be shorter)
  std::uint32_t input_index = 0;       // which input file the packet came from
  // What NFQUEUE knows beyond the bytes (empty / -1 for captures): selectors
  // of flight apps that a capture cannot show.
  std::string_view in_interface;
  std::int64_t uid = -1;
  int marked_app = -1;  // flight app index the kernel rules put in the mark
};

}  // namespace flightwall
