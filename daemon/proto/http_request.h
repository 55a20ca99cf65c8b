// HTTP/1.x request-head parser: method, target and Host header.
//
// ParseHttpRequestHead reads one request head from the start of `stream`
// (request line + headers up to the empty line). It returns kNeedMore when the
// head is incomplete (a segment split mid-header), kNotMine when the bytes do
// not start with an HTTP method token, and sets *head_length so the caller can
// skip the head and, with Content-Length, the body to reach a pipelined
// request. Heads longer than kMaxHeadBytes are kMalformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/fixed_string.h"
#include "proto/parse_status.h"

namespace flightwall {

struct HttpRequestInfo {
  static constexpr std::size_t kMaxHeadBytes = 16 * 1024;

  FixedString<16> method;
  FixedString<256> target;   // truncated if longer
  HostName host;             // lower-cased, port removed; empty if absent
  bool has_host = false;
  std::uint64_t content_length = 0;
  bool chunked = false;
  std::size_t head_length = 0;  // bytes up to and including the empty line
};

ParseStatus ParseHttpRequestHead(std::span<const std::uint8_t> stream, HttpRequestInfo* out);

}  // namespace flightwall
