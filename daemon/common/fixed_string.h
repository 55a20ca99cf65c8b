// FixedString<N>: an inline, non-allocating string of at most N bytes.
//
// Used on the hot path for host names learned from packets (DNS names are at
// most 255 bytes on the wire, SNI is bounded the same way by policy), so that
// flow entries and parse results never allocate. Assign() truncates and
// reports it; bytes are stored as they came (no validation), callers decide
// how to print them.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace flightwall {

template <std::size_t N>
class FixedString {
 public:
  FixedString() = default;
  explicit FixedString(std::string_view s) { Assign(s); }

  // Returns false when s was longer than N and had to be truncated.
  bool Assign(std::string_view s) {
    size_ = std::min(s.size(), N);
    std::copy_n(s.data(), size_, buf_.data());
    return size_ == s.size();
  }
  bool Append(char c) {
    if (size_ >= N) return false;
    buf_[size_++] = c;
    return true;
  }
  bool Append(std::string_view s) {
    const std::size_t room = N - size_;
    const std::size_t n = std::min(room, s.size());
    std::copy_n(s.data(), n, buf_.data() + size_);
    size_ += n;
    return n == s.size();
  }
  void Clear() { size_ = 0; }
  bool Empty() const { return size_ == 0; }
  std::size_t Size() const { return size_; }
  static constexpr std::size_t Capacity() { return N; }
  std::string_view View() const { return {buf_.data(), size_}; }
  std::string Str() const { return std::string(View()); }

  friend bool operator==(const FixedString& a, const FixedString& b) {
    return a.View() == b.View();
  }

 private:
  std::array<char, N> buf_{};
  std::size_t size_ = 0;
};

using HostName = FixedString<255>;

}  // namespace flightwall
