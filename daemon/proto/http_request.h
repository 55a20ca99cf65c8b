// HTTP/1.x request-head parser: method, target and Host header.
//
// ParseHttpRequestHead reads one request head from the start of `stream`
// (request line + headers up to the empty line). It returns kNeedMore when the
// head is incomplete (a segment split mid-header), kNotMine when the bytes do
// not start with an HTTP method token, and sets *head_length so the caller can
// skip the head and, with Content-Length, the body to reach a pipelined
// request. Heads longer than kMaxHeadBytes are kMalformed.
//
// Lines may end in CRLF or a bare LF; obs-fold continuation lines are
// tolerated. The known methods are the RFC 9110 ones plus WebDAV and PURGE;
// anything else is kNotMine, so that binary protocols on port 80 are not
// mistaken for HTTP. Ambiguities a server would reject with 400 and that
// could hide the real destination (two different Host values, two different
// Content-Length values, a header without ':', space before ':') are
// kMalformed so policy can treat them as such.
// Stateless; the result lives in caller-owned storage, no allocation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/fixed_string.h"
#include "proto/parse_status.h"

namespace flightwall {

struct HttpRequestInfo {
  static constexpr std::size_t kMaxHeadBytes = 16 * 1024;

  FixedString<16> method;
  FixedString<256> target;  // truncated if longer
  // Lower-cased, port, IPv6 brackets and a trailing dot removed; empty if
  // absent. Taken from the Host header, or, when there is none (or it is
  // empty), from an absolute-form target ("http://host/...") or a CONNECT
  // authority.
  HostName host;
  bool has_host = false;          // host is non-empty
  bool host_from_target = false;  // host came from the request target
  std::uint64_t content_length = 0;
  bool chunked = false;         // Transfer-Encoding: chunked (content_length ignored)
  std::size_t head_length = 0;  // bytes up to and including the empty line
};

ParseStatus ParseHttpRequestHead(std::span<const std::uint8_t> stream, HttpRequestInfo* out);

// The outcome of walking pipelined requests with ForEachHttpRequest.
struct HttpPipelineWalk {
  std::size_t requests = 0;  // complete heads handed to the callback
  // Stream offset where the next request head starts. It may lie beyond the
  // span when a body continues past it: the caller then skips
  // next_offset - stream.size() bytes of later stream data.
  std::size_t next_offset = 0;
  // Status of the last parse: kNeedMore when the span ended at a request
  // boundary or inside a head (buffer stream[next_offset..] and retry with
  // more bytes), otherwise the kNotMine/kMalformed that stopped the walk.
  ParseStatus status = ParseStatus::kNeedMore;
  // The last request has a chunked body; the next head cannot be located
  // without decoding chunks, so the walk stopped after it.
  bool stopped_at_chunked_body = false;
};

// Calls on_request(const HttpRequestInfo&) for each complete request head in
// `stream` (pipelining: head_length + content_length leads to the next one).
template <typename OnRequest>
HttpPipelineWalk ForEachHttpRequest(std::span<const std::uint8_t> stream, OnRequest&& on_request) {
  HttpPipelineWalk walk;
  HttpRequestInfo info;
  while (walk.next_offset <= stream.size()) {
    walk.status = ParseHttpRequestHead(stream.subspan(walk.next_offset), &info);
    if (walk.status != ParseStatus::kOk) break;
    ++walk.requests;
    on_request(static_cast<const HttpRequestInfo&>(info));
    walk.next_offset += info.head_length;
    if (info.chunked) {
      walk.stopped_at_chunked_body = true;
      break;
    }
    const std::size_t left = stream.size() - walk.next_offset;
    if (info.content_length > left) {
      // Saturates instead of wrapping for absurd Content-Length values.
      const std::uint64_t room = SIZE_MAX - walk.next_offset;
      walk.next_offset +=
          static_cast<std::size_t>(std::min<std::uint64_t>(info.content_length, room));
      walk.status = ParseStatus::kNeedMore;
      break;
    }
    walk.next_offset += static_cast<std::size_t>(info.content_length);
  }
  return walk;
}

}  // namespace flightwall
