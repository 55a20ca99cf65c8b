// Fuzzes ParseHttpRequestHead and ForEachHttpRequest, checking that a head
// that parses is also reported as kNeedMore when cut one byte short (so a
// segment split never changes the verdict) and that lengths stay in bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/http_request.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using flightwall::HttpRequestInfo;
  using flightwall::ParseStatus;
  const std::span<const std::uint8_t> input(data, size);

  HttpRequestInfo info;
  const ParseStatus status = flightwall::ParseHttpRequestHead(input, &info);
  if (status == ParseStatus::kOk) {
    Check(info.head_length > 0 && info.head_length <= size);
    Check(info.head_length <= HttpRequestInfo::kMaxHeadBytes);
    Check(info.has_host == !info.host.Empty());
    HttpRequestInfo again;
    Check(flightwall::ParseHttpRequestHead(input.first(info.head_length), &again) ==
          ParseStatus::kOk);
    Check(again.host == info.host && again.target == info.target &&
          again.head_length == info.head_length && again.chunked == info.chunked &&
          again.content_length == info.content_length);
    Check(flightwall::ParseHttpRequestHead(input.first(info.head_length - 1), &again) ==
          ParseStatus::kNeedMore);
  }

  std::size_t seen = 0;
  const flightwall::HttpPipelineWalk walk =
      flightwall::ForEachHttpRequest(input, [&seen](const HttpRequestInfo& request) {
        Check(request.head_length > 0);
        ++seen;
      });
  Check(walk.requests == seen);
  Check(walk.requests > 0 || walk.next_offset == 0);
  Check((status == ParseStatus::kOk) == (walk.requests > 0));
  return 0;
}
