#include "common/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace flightwall {

IpAddress IpAddress::V4(std::span<const std::uint8_t> four) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), four.data(), 4);
  a.set_ = true;
  return a;
}

IpAddress IpAddress::V4(std::uint32_t host_order) {
  const std::uint8_t b[4] = {
      static_cast<std::uint8_t>(host_order >> 24), static_cast<std::uint8_t>(host_order >> 16),
      static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order)};
  return V4(std::span<const std::uint8_t>(b, 4));
}

IpAddress IpAddress::V6(std::span<const std::uint8_t> sixteen) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), sixteen.data(), 16);
  a.v6_ = true;
  a.set_ = true;
  return a;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1] = {};
  std::memcpy(buf, text.data(), text.size());
  std::uint8_t out[16];
  if (inet_pton(AF_INET, buf, out) == 1) return V4(std::span<const std::uint8_t>(out, 4));
  if (inet_pton(AF_INET6, buf, out) == 1) return V6(std::span<const std::uint8_t>(out, 16));
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  if (!set_) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buf, sizeof(buf));
  return buf;
}

std::size_t IpAddress::Hash() const {
  // FNV-1a over the significant bytes: cheap, stable across runs.
  std::uint64_t h = 1469598103934665603ULL ^ (v6_ ? 6 : 4);
  for (std::size_t i = 0; i < Length(); ++i) {
    h ^= bytes_[i];
    h *= 1099511628211ULL;
  }
  return static_cast<std::size_t>(h);
}

Cidr::Cidr(IpAddress base, int prefix_len) : base_(base), prefix_len_(prefix_len) {}

Result<Cidr> Cidr::Parse(std::string_view text) {
  auto fail = [](const char* msg) { return Status::Error(msg); };
  const auto slash = text.find('/');
  const auto addr = IpAddress::Parse(text.substr(0, slash));
  if (!addr) return fail("not an IPv4 or IPv6 address");
  const int max_len = addr->IsV6() ? 128 : 32;
  int len = max_len;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return fail("prefix length must be a number");
    len = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return fail("prefix length must be a number");
      len = len * 10 + (c - '0');
    }
    if (len > max_len)
      return fail(addr->IsV6() ? "IPv6 prefix length is at most 128"
                               : "IPv4 prefix length is at most 32");
  }
  const auto& b = addr->Bytes();
  for (int bit = len; bit < max_len; ++bit) {
    if (b[bit / 8] & (0x80 >> (bit % 8))) {
      return fail("address has bits set past the prefix length; write the network address");
    }
  }
  return Cidr(*addr, len);
}

bool Cidr::Contains(const IpAddress& addr) const {
  if (!addr.IsSet() || addr.IsV6() != base_.IsV6()) return false;
  const auto& a = addr.Bytes();
  const auto& b = base_.Bytes();
  const int full = prefix_len_ / 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  const int rest = prefix_len_ % 8;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

std::string Cidr::ToString() const { return base_.ToString() + "/" + std::to_string(prefix_len_); }

}  // namespace flightwall
