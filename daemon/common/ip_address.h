// IpAddress and Cidr: value types for IPv4/IPv6 addresses and prefixes.
//
// An IpAddress stores 16 bytes; IPv4 addresses keep their 4 bytes at the
// front and a family flag (they are not v4-mapped), so that printing and
// matching stay exact. Trivially copyable, hashable, no allocation except in
// ToString(). Parse functions never throw.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace flightwall {

class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress V4(std::span<const std::uint8_t> four);
  static IpAddress V4(std::uint32_t host_order);
  static IpAddress V6(std::span<const std::uint8_t> sixteen);
  // Accepts dotted quad or any RFC 4291 text form; nullopt otherwise.
  static std::optional<IpAddress> Parse(std::string_view text);

  bool IsV6() const { return v6_; }
  bool IsSet() const { return set_; }
  std::size_t Length() const { return v6_ ? 16 : 4; }
  const std::array<std::uint8_t, 16>& Bytes() const { return bytes_; }
  std::string ToString() const;
  std::size_t Hash() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) = default;
  friend auto operator<=>(const IpAddress& a,
                          const IpAddress& b) = default;  // NOLINT(modernize-use-nullptr)

 private:
  std::array<std::uint8_t, 16> bytes_{};
  bool v6_ = false;
  bool set_ = false;
};

class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddress base, int prefix_len);
  // "192.0.2.0/24", "2001:db8::/32", or a bare address (full-length prefix).
  // Rejects host bits set beyond the prefix so typos are caught; the error's
  // message says what is wrong (the policy loader puts the entry and its
  // line in front).
  static Result<Cidr> Parse(std::string_view text);

  bool Contains(const IpAddress& addr) const;
  const IpAddress& Base() const { return base_; }
  int PrefixLength() const { return prefix_len_; }
  std::string ToString() const;

  friend bool operator==(const Cidr& a, const Cidr& b) = default;

 private:
  IpAddress base_;
  int prefix_len_ = 0;
};

}  // namespace flightwall
