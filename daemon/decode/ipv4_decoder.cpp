#include "decode/ipv4_decoder.h"

#include "common/byte_cursor.h"

namespace flightwall {

const char* ParseIpv4(std::span<const std::uint8_t> data, Ipv4Header* out) {
  ByteCursor cur(data);
  const std::uint8_t version_ihl = cur.U8();
  cur.Skip(1);  // DSCP / ECN
  std::uint32_t total_length = cur.U16();
  out->id = cur.U16();
  const std::uint16_t flags_offset = cur.U16();
  out->ttl = cur.U8();
  out->protocol = cur.U8();
  cur.Skip(2);  // checksum: offload makes it unreliable in captures
  const auto src = cur.Bytes(4);
  const auto dst = cur.Bytes(4);
  if (!cur.Ok()) return "IPv4 header truncated";
  if ((version_ihl >> 4) != 4) return "IPv4 header: version is not 4";
  const std::uint32_t header_length = (version_ihl & 0x0fu) * 4;
  if (header_length < 20) return "IPv4 header length (IHL) is below 20 bytes";
  if (header_length > data.size()) return "IPv4 options truncated";
  // Captures taken on a host with TCP segmentation offload show 0 here; the
  // frame length is then the only length there is.
  if (total_length == 0) total_length = static_cast<std::uint32_t>(data.size());
  if (total_length < header_length) return "IPv4 total length is shorter than its header";
  out->src = IpAddress::V4(src);
  out->dst = IpAddress::V4(dst);
  out->header_length = header_length;
  out->total_length = total_length;
  out->more_fragments = (flags_offset & 0x2000) != 0;
  out->fragment_offset = std::uint32_t{flags_offset & 0x1fffu} * 8;
  const std::size_t available = data.size() - header_length;
  const std::size_t wanted = total_length - header_length;
  out->truncated = wanted > available;
  out->payload = data.subspan(header_length, out->truncated ? available : wanted);
  return nullptr;
}

}  // namespace flightwall
