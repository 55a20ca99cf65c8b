#include "decode/ipv6_decoder.h"

#include "common/byte_cursor.h"

namespace flightwall {
namespace {

constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kAuthentication = 51;
constexpr std::uint8_t kDestinationOptions = 60;
constexpr std::uint8_t kMobility = 135;

}  // namespace

const char* WalkIpv6Extensions(std::uint8_t next_header, std::span<const std::uint8_t> data,
                               Ipv6Chain* out) {
  ByteCursor cur(data);
  for (int count = 0;; ++count) {
    switch (next_header) {
      case kHopByHop:
      case kRouting:
      case kDestinationOptions:
      case kMobility:
      case kAuthentication: {
        if (count == kMaxIpv6ExtensionHeaders) return "too many IPv6 extension headers";
        const std::uint8_t following = cur.U8();
        const std::uint8_t length = cur.U8();
        // AH counts 4-byte words minus 2; the others 8-byte words minus 1.
        const std::size_t size = next_header == kAuthentication ? (std::size_t{length} + 2) * 4
                                                                : (std::size_t{length} + 1) * 8;
        cur.Skip(size - 2);
        if (!cur.Ok()) return "IPv6 extension header truncated";
        next_header = following;
        break;
      }
      case kFragment: {
        if (count == kMaxIpv6ExtensionHeaders) return "too many IPv6 extension headers";
        const std::uint8_t following = cur.U8();
        cur.Skip(1);
        const std::uint16_t offset_flags = cur.U16();
        const std::uint32_t id = cur.U32();
        if (!cur.Ok()) return "IPv6 fragment header truncated";
        out->fragment = true;
        out->fragment_id = id;
        out->fragment_offset = offset_flags & 0xfff8u;
        out->more_fragments = (offset_flags & 1) != 0;
        out->protocol = following;
        out->payload = cur.Rest();
        out->header_length = static_cast<std::uint32_t>(cur.Position());
        if (out->IsRealFragment()) return nullptr;
        // An atomic fragment (RFC 6946) is a whole datagram: keep walking.
        next_header = following;
        break;
      }
      default:  // upper layer, ESP (50) or no next header (59)
        out->protocol = next_header;
        out->payload = cur.Rest();
        out->header_length = static_cast<std::uint32_t>(cur.Position());
        return nullptr;
    }
  }
}

const char* ParseIpv6(std::span<const std::uint8_t> data, Ipv6Header* out) {
  ByteCursor cur(data);
  const std::uint32_t version_class_flow = cur.U32();
  std::uint32_t payload_length = cur.U16();
  const std::uint8_t next_header = cur.U8();
  out->hop_limit = cur.U8();
  const auto src = cur.Bytes(16);
  const auto dst = cur.Bytes(16);
  if (!cur.Ok()) return "IPv6 header truncated";
  if ((version_class_flow >> 28) != 6) return "IPv6 header: version is not 6";
  out->src = IpAddress::V6(src);
  out->dst = IpAddress::V6(dst);
  const std::size_t available = cur.Remaining();
  // A jumbogram (RFC 2675) says 0 here and carries its length in hop-by-hop
  // options; the frame length is as good and cannot be exceeded.
  if (payload_length == 0 && next_header == kHopByHop) {
    payload_length = static_cast<std::uint32_t>(available);
  }
  out->truncated = payload_length > available;
  out->total_length = 40 + payload_length;
  const auto payload = cur.Bytes(out->truncated ? available : payload_length);
  return WalkIpv6Extensions(next_header, payload, &out->chain);
}

}  // namespace flightwall
