// Builders for hand-made frames in decode tests: each returns the bytes of
// one header with its payload appended, so tests read like the stack they
// build (Ethernet(Ipv4(Udp(...)))). Test-only; no validation on purpose, so
// tests can build broken headers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ip_address.h"

namespace flightwall::testing {

using Bytes = std::vector<std::uint8_t>;

inline void Put16(Bytes* b, std::uint16_t v) {
  b->push_back(static_cast<std::uint8_t>(v >> 8));
  b->push_back(static_cast<std::uint8_t>(v));
}
inline void Put32(Bytes* b, std::uint32_t v) {
  Put16(b, static_cast<std::uint16_t>(v >> 16));
  Put16(b, static_cast<std::uint16_t>(v));
}
inline void Append(Bytes* b, const Bytes& tail) { b->insert(b->end(), tail.begin(), tail.end()); }
inline Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline IpAddress Addr(std::string_view text) { return *IpAddress::Parse(text); }

struct Ipv4Options {
  std::uint16_t id = 0x1234;
  bool more_fragments = false;
  std::uint32_t fragment_offset = 0;  // bytes, multiple of 8
  std::uint8_t ttl = 64;
  Bytes options;          // appended after the 20-byte header (pad to 4 yourself)
  int total_length = -1;  // override; -1 computes it

  // Chainable setters: designated initializers trip -Wmissing-field-initializers.
  Ipv4Options& Id(std::uint16_t v) {
    id = v;
    return *this;
  }
  Ipv4Options& More(bool v = true) {
    more_fragments = v;
    return *this;
  }
  Ipv4Options& Offset(std::uint32_t v) {
    fragment_offset = v;
    return *this;
  }
  Ipv4Options& Ttl(std::uint8_t v) {
    ttl = v;
    return *this;
  }
  Ipv4Options& Options(Bytes v) {
    options = std::move(v);
    return *this;
  }
  Ipv4Options& TotalLength(int v) {
    total_length = v;
    return *this;
  }
};

inline Bytes Ipv4(std::string_view src, std::string_view dst, std::uint8_t protocol,
                  const Bytes& payload, const Ipv4Options& o = {}) {
  Bytes b;
  const std::size_t header = 20 + o.options.size();
  b.reserve(header + payload.size());  // one allocation: engine_fuzz builds thousands a second
  b.push_back(static_cast<std::uint8_t>(0x40 | (header / 4)));
  b.push_back(0);
  Put16(&b, o.total_length >= 0 ? static_cast<std::uint16_t>(o.total_length)
                                : static_cast<std::uint16_t>(header + payload.size()));
  Put16(&b, o.id);
  Put16(&b, static_cast<std::uint16_t>((o.more_fragments ? 0x2000 : 0) | (o.fragment_offset / 8)));
  b.push_back(o.ttl);
  b.push_back(protocol);
  Put16(&b, 0);
  const auto s = Addr(src).Bytes();
  const auto d = Addr(dst).Bytes();
  b.insert(b.end(), s.begin(), s.begin() + 4);
  b.insert(b.end(), d.begin(), d.begin() + 4);
  Append(&b, o.options);
  Append(&b, payload);
  return b;
}

// `payload` includes any extension headers; `next_header` names the first.
inline Bytes Ipv6(std::string_view src, std::string_view dst, std::uint8_t next_header,
                  const Bytes& payload, std::uint8_t hop_limit = 64, int payload_length = -1) {
  Bytes b;
  b.reserve(40 + payload.size());
  Put32(&b, 0x60000000);
  Put16(&b, payload_length >= 0 ? static_cast<std::uint16_t>(payload_length)
                                : static_cast<std::uint16_t>(payload.size()));
  b.push_back(next_header);
  b.push_back(hop_limit);
  const auto s = Addr(src).Bytes();
  const auto d = Addr(dst).Bytes();
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), d.begin(), d.end());
  Append(&b, payload);
  return b;
}

// Hop-by-hop / routing / destination options / mobility: 8 * (len + 1) bytes.
// Sized once, then filled: growing a 2-byte vector by resize and insert draws a
// false -Warray-bounds from GCC 12 at -O3 (GCC bug 107852).
inline Bytes Ipv6Ext(std::uint8_t next_header, std::uint8_t length_units, const Bytes& payload) {
  const std::size_t header = 8 * (length_units + 1u);
  Bytes b(header + payload.size(), 0);
  b[0] = next_header;
  b[1] = length_units;
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<std::ptrdiff_t>(header));
  return b;
}

inline Bytes Ipv6Fragment(std::uint8_t next_header, std::uint32_t offset, bool more,
                          std::uint32_t id, const Bytes& payload) {
  Bytes b{next_header, 0};
  Put16(&b, static_cast<std::uint16_t>(offset | (more ? 1 : 0)));
  Put32(&b, id);
  Append(&b, payload);
  return b;
}

inline Bytes Tcp(std::uint16_t src_port, std::uint16_t dst_port, std::uint8_t flags,
                 const Bytes& payload = {}, std::uint32_t seq = 1000, std::uint32_t ack = 0,
                 const Bytes& options = {}) {
  Bytes b;
  b.reserve(20 + options.size() + payload.size());
  Put16(&b, src_port);
  Put16(&b, dst_port);
  Put32(&b, seq);
  Put32(&b, ack);
  b.push_back(static_cast<std::uint8_t>(((20 + options.size()) / 4) << 4));
  b.push_back(flags);
  Put16(&b, 65535);
  Put32(&b, 0);
  Append(&b, options);
  Append(&b, payload);
  return b;
}

inline Bytes Udp(std::uint16_t src_port, std::uint16_t dst_port, const Bytes& payload,
                 int length = -1) {
  Bytes b;
  b.reserve(8 + payload.size());
  Put16(&b, src_port);
  Put16(&b, dst_port);
  Put16(&b, length >= 0 ? static_cast<std::uint16_t>(length)
                        : static_cast<std::uint16_t>(8 + payload.size()));
  Put16(&b, 0);
  Append(&b, payload);
  return b;
}

inline Bytes Icmp(std::uint8_t type, std::uint8_t code, std::uint16_t id, std::uint16_t seq,
                  const Bytes& payload = {}) {
  Bytes b{type, code, 0, 0};
  Put16(&b, id);
  Put16(&b, seq);
  Append(&b, payload);
  return b;
}

// Ethernet II; `tags` are (TPID, VLAN id) pairs outermost first.
inline Bytes Ethernet(std::uint16_t ether_type, const Bytes& payload,
                      std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> tags = {}) {
  Bytes b{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  for (const auto& [tpid, vid] : tags) {
    Put16(&b, tpid);
    Put16(&b, vid);
  }
  Put16(&b, ether_type);
  Append(&b, payload);
  return b;
}

inline Bytes Sll(std::uint16_t protocol, const Bytes& payload) {
  Bytes b{0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 1, 0, 0};
  Put16(&b, protocol);
  Append(&b, payload);
  return b;
}

inline Bytes Sll2(std::uint16_t protocol, const Bytes& payload) {
  Bytes b;
  Put16(&b, protocol);
  Put16(&b, 0);
  Put32(&b, 2);    // ifindex
  Put16(&b, 1);    // ARPHRD_ETHER
  b.push_back(0);  // packet type
  b.push_back(6);  // address length
  Append(&b, Bytes{2, 0, 0, 0, 0, 1, 0, 0});
  Append(&b, payload);
  return b;
}

// The BSD loopback header, sized once like Ipv6Ext (GCC bug 107852).
inline Bytes NullLittleEndian(std::uint32_t family, const Bytes& payload) {
  Bytes b(4 + payload.size());
  for (std::size_t i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(family >> (8 * i));
  std::copy(payload.begin(), payload.end(), b.begin() + 4);
  return b;
}

inline Bytes BigEndianFamily(std::uint32_t family, const Bytes& payload) {
  Bytes b(4 + payload.size());
  for (std::size_t i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(family >> (8 * (3 - i)));
  std::copy(payload.begin(), payload.end(), b.begin() + 4);
  return b;
}

}  // namespace flightwall::testing
