#include "decode/link_decoder.h"

#include "common/byte_cursor.h"

namespace flightwall {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEther8021ad = 0x88a8;
constexpr std::uint16_t kEtherQinQ = 0x9100;
constexpr std::uint16_t kEtherMplsUnicast = 0x8847;
constexpr std::uint16_t kEtherMplsMulticast = 0x8848;
constexpr std::uint16_t kEtherPppoeSession = 0x8864;
constexpr std::uint16_t kPppIpv4 = 0x0021;
constexpr std::uint16_t kPppIpv6 = 0x0057;

LinkResult Malformed(const char* why) { return {LinkStatus::kMalformed, 0, {}, why}; }

LinkResult Ip(std::uint8_t version, std::span<const std::uint8_t> network) {
  return {LinkStatus::kIp, version, network, nullptr};
}

// Follows VLAN tags from an EtherType at the cursor's position.
LinkResult FromEtherType(std::uint16_t type, ByteCursor* cur) {
  for (int tags = 0; type == kEtherVlan || type == kEther8021ad || type == kEtherQinQ; ++tags) {
    if (tags == kMaxVlanTags) return Malformed("too many VLAN tags");
    cur->Skip(2);  // priority, DEI, VLAN id
    type = cur->U16();
    if (!cur->Ok()) return Malformed("VLAN tag truncated");
  }
  switch (type) {
    case kEtherIpv4:
      return Ip(4, cur->Rest());
    case kEtherIpv6:
      return Ip(6, cur->Rest());
    case kEtherMplsUnicast:
    case kEtherMplsMulticast:
      return {LinkStatus::kUnsupported, 0, {}, "MPLS is not decoded"};
    case kEtherPppoeSession: {
      cur->Skip(6);  // version/type, code, session id, length
      const std::uint16_t ppp_protocol = cur->U16();
      if (!cur->Ok()) return Malformed("PPPoE header truncated");
      if (ppp_protocol == kPppIpv4) return Ip(4, cur->Rest());
      if (ppp_protocol == kPppIpv6) return Ip(6, cur->Rest());
      return {LinkStatus::kNotIp, 0, {}, nullptr};  // LCP, IPCP, ...
    }
    default:
      // ARP, LLDP, 802.3 length fields with LLC, ...
      return {LinkStatus::kNotIp, 0, {}, nullptr};
  }
}

LinkResult FromAddressFamily(std::uint32_t family, std::span<const std::uint8_t> rest) {
  switch (family) {
    case 2:  // AF_INET everywhere
      return Ip(4, rest);
    case 24:  // AF_INET6 on NetBSD, OpenBSD, BSD/OS
    case 28:  // FreeBSD
    case 30:  // Darwin
      return Ip(6, rest);
    default:
      return {LinkStatus::kNotIp, 0, {}, nullptr};
  }
}

LinkResult RawIp(std::span<const std::uint8_t> frame) {
  if (frame.empty()) return Malformed("raw IP packet is empty");
  const std::uint8_t version = frame[0] >> 4;
  if (version != 4 && version != 6) return Malformed("raw IP packet: version is neither 4 nor 6");
  return Ip(version, frame);
}

}  // namespace

LinkResult DecodeLink(LinkType link, std::span<const std::uint8_t> frame) {
  ByteCursor cur(frame);
  switch (link) {
    case LinkType::kEthernet: {
      cur.Skip(12);  // destination and source MAC
      const std::uint16_t type = cur.U16();
      if (!cur.Ok()) return Malformed("Ethernet header truncated");
      return FromEtherType(type, &cur);
    }
    case LinkType::kLinuxSll: {
      cur.Skip(14);  // packet type, ARPHRD, address length, address
      const std::uint16_t protocol = cur.U16();
      if (!cur.Ok()) return Malformed("Linux cooked (SLL) header truncated");
      return FromEtherType(protocol, &cur);
    }
    case LinkType::kLinuxSll2: {
      const std::uint16_t protocol = cur.U16();
      cur.Skip(18);  // reserved, ifindex, ARPHRD, packet type, address length, address
      if (!cur.Ok()) return Malformed("Linux cooked (SLL2) header truncated");
      return FromEtherType(protocol, &cur);
    }
    case LinkType::kNull: {
      // Host byte order of the capturing machine, which may not be ours:
      // families are small numbers, so a value in the upper half is swapped.
      std::uint32_t family = cur.U32Le();
      if (!cur.Ok()) return Malformed("BSD loopback header truncated");
      if ((family & 0xffff0000u) != 0) family = __builtin_bswap32(family);
      return FromAddressFamily(family, cur.Rest());
    }
    case LinkType::kLoop: {
      const std::uint32_t family = cur.U32();
      if (!cur.Ok()) return Malformed("OpenBSD loopback header truncated");
      return FromAddressFamily(family, cur.Rest());
    }
    case LinkType::kRaw:
      return RawIp(frame);
    case LinkType::kIpv4:
      if (frame.empty() || (frame[0] >> 4) != 4)
        return Malformed("IPv4 link type: not an IPv4 packet");
      return Ip(4, frame);
    case LinkType::kIpv6:
      if (frame.empty() || (frame[0] >> 4) != 6)
        return Malformed("IPv6 link type: not an IPv6 packet");
      return Ip(6, frame);
  }
  return {LinkStatus::kUnsupported, 0, {}, "link type not supported"};
}

}  // namespace flightwall
