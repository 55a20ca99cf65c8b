#include "proto/http_request.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flightwall {
namespace {

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

ParseStatus Parse(std::string_view s, HttpRequestInfo* info) {
  // A heap copy of exactly the bytes, so ASan catches any read past them.
  const std::vector<std::uint8_t> copy(s.begin(), s.end());
  return ParseHttpRequestHead(copy, info);
}

constexpr std::string_view kGet =
    "GET /tiles/12/2048/1361.png?key=abc HTTP/1.1\r\n"
    "Host: Tiles.Example:8080\r\n"
    "User-Agent: DroneApp/4.2\r\n"
    "Accept: */*\r\n"
    "\r\n";

TEST(HttpRequestTest, SimpleGet) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse(kGet, &info), ParseStatus::kOk);
  EXPECT_EQ(info.method.View(), "GET");
  EXPECT_EQ(info.target.View(), "/tiles/12/2048/1361.png?key=abc");
  EXPECT_EQ(info.host.View(), "tiles.example");
  EXPECT_TRUE(info.has_host);
  EXPECT_FALSE(info.host_from_target);
  EXPECT_EQ(info.content_length, 0u);
  EXPECT_FALSE(info.chunked);
  EXPECT_EQ(info.head_length, kGet.size());
}

TEST(HttpRequestTest, SplitAtEveryOffsetNeedsMoreThenSameResult) {
  HttpRequestInfo whole;
  ASSERT_EQ(Parse(kGet, &whole), ParseStatus::kOk);
  for (std::size_t n = 0; n < kGet.size(); ++n) {
    HttpRequestInfo part;
    EXPECT_EQ(Parse(kGet.substr(0, n), &part), ParseStatus::kNeedMore) << n;
  }
  // Bytes of a body or a pipelined request after the head change nothing.
  HttpRequestInfo more;
  ASSERT_EQ(Parse(std::string(kGet) + "GET / HTTP/1.1\r\n", &more), ParseStatus::kOk);
  EXPECT_EQ(more.host, whole.host);
  EXPECT_EQ(more.target, whole.target);
  EXPECT_EQ(more.head_length, whole.head_length);
}

TEST(HttpRequestTest, NoHost) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_FALSE(info.has_host);
  EXPECT_TRUE(info.host.Empty());
}

TEST(HttpRequestTest, HeaderNameIsCaseInsensitiveAndValueTrimmed) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHOST: \t API.Tiles.EXAMPLE \t\r\n\r\n", &info),
            ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "api.tiles.example");
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nhOsT:x.example\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "x.example");
}

TEST(HttpRequestTest, Ipv6LiteralHost) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "2001:db8::1");
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: [2001:db8::2]\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "2001:db8::2");
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: [2001:db8::2\r\n\r\n", &info), ParseStatus::kMalformed);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", &info), ParseStatus::kMalformed);
}

TEST(HttpRequestTest, TrailingDotIsDropped) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: Tiles.Example.:443\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "tiles.example");
}

TEST(HttpRequestTest, Ipv4HostWithPort) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: 192.0.2.7:80\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "192.0.2.7");
}

TEST(HttpRequestTest, AbsoluteFormTargetGivesHostWhenHeaderMissing) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET HTTP://user:pw@Tiles.Example:8080/a?b HTTP/1.1\r\n\r\n", &info),
            ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "tiles.example");
  EXPECT_TRUE(info.has_host);
  EXPECT_TRUE(info.host_from_target);

  ASSERT_EQ(Parse("GET https://[2001:db8::5]/ HTTP/1.1\r\nHost:\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "2001:db8::5");
  EXPECT_TRUE(info.host_from_target);
}

TEST(HttpRequestTest, HostHeaderWinsOverAbsoluteTarget) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", &info),
            ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "b.example");
  EXPECT_FALSE(info.host_from_target);
}

TEST(HttpRequestTest, LongAbsoluteTargetIsTruncatedButHostIsFound) {
  const std::string target = "http://maps.example/" + std::string(400, 'p');
  HttpRequestInfo info;
  ASSERT_EQ(Parse("GET " + target + " HTTP/1.1\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.target.Size(), info.target.Capacity());
  EXPECT_EQ(info.host.View(), "maps.example");
}

TEST(HttpRequestTest, ConnectAuthority) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("CONNECT Upload.Example:443 HTTP/1.1\r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.method.View(), "CONNECT");
  EXPECT_EQ(info.host.View(), "upload.example");
  EXPECT_TRUE(info.host_from_target);
}

TEST(HttpRequestTest, OtherMethods) {
  HttpRequestInfo info;
  for (const std::string_view method : {"POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH",
                                        "TRACE", "PROPFIND", "MKCOL", "PURGE"}) {
    const std::string request = std::string(method) + " / HTTP/1.1\r\nHost: h\r\n\r\n";
    ASSERT_EQ(Parse(request, &info), ParseStatus::kOk) << method;
    EXPECT_EQ(info.method.View(), method);
  }
}

TEST(HttpRequestTest, MethodPrefixesNeedMoreAndStrangersAreNotMine) {
  HttpRequestInfo info;
  EXPECT_EQ(Parse("", &info), ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("G", &info), ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("GE", &info), ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("GET", &info), ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("PROPPAT", &info), ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("GET ", &info), ParseStatus::kNeedMore);
  EXPECT_EQ(Parse("GETS / HTTP/1.1\r\n\r\n", &info), ParseStatus::kNotMine);
  EXPECT_EQ(Parse("get / HTTP/1.1\r\n\r\n", &info), ParseStatus::kNotMine);
  EXPECT_EQ(Parse("GX", &info), ParseStatus::kNotMine);
  EXPECT_EQ(Parse("HTTP/1.1 200 OK\r\n\r\n", &info), ParseStatus::kNotMine);  // a response
  EXPECT_EQ(Parse("SSH-2.0-OpenSSH_9.2\r\n", &info), ParseStatus::kNotMine);
}

TEST(HttpRequestTest, BinaryGarbageIsNotMine) {
  // A TLS ClientHello record header, then pseudo-random bytes.
  std::vector<std::uint8_t> bytes = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
  std::uint32_t x = 12345;
  for (int i = 0; i < 500; ++i) {
    x = x * 1103515245 + 12345;
    bytes.push_back(static_cast<std::uint8_t>(x >> 16));
  }
  HttpRequestInfo info;
  EXPECT_EQ(ParseHttpRequestHead(bytes, &info), ParseStatus::kNotMine);
  bytes.front() = 0x00;
  EXPECT_EQ(ParseHttpRequestHead(bytes, &info), ParseStatus::kNotMine);
}

TEST(HttpRequestTest, OversizedHeadIsMalformed) {
  std::string request = "GET / HTTP/1.1\r\nHost: big.example\r\nX-Pad: ";
  request += std::string(20 * 1024, 'x');
  request += "\r\n\r\n";
  HttpRequestInfo info;
  EXPECT_EQ(Parse(request, &info), ParseStatus::kMalformed);
  // Once kMaxHeadBytes have arrived without an end, waiting is pointless.
  EXPECT_EQ(Parse(std::string_view(request).substr(0, HttpRequestInfo::kMaxHeadBytes), &info),
            ParseStatus::kMalformed);
  EXPECT_EQ(Parse(std::string_view(request).substr(0, HttpRequestInfo::kMaxHeadBytes - 1), &info),
            ParseStatus::kNeedMore);
}

TEST(HttpRequestTest, HeadOfExactlyMaxBytesIsAccepted) {
  const std::string start = "GET / HTTP/1.1\r\nHost: edge.example\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  const std::string request =
      start + std::string(HttpRequestInfo::kMaxHeadBytes - start.size() - end.size(), 'y') + end;
  ASSERT_EQ(request.size(), HttpRequestInfo::kMaxHeadBytes);
  HttpRequestInfo info;
  ASSERT_EQ(Parse(request, &info), ParseStatus::kOk);
  EXPECT_EQ(info.head_length, HttpRequestInfo::kMaxHeadBytes);
  EXPECT_EQ(info.host.View(), "edge.example");
}

TEST(HttpRequestTest, BareLineFeedsAreAccepted) {
  const std::string_view request = "GET /x HTTP/1.1\nHost: lf.example\n\n";
  HttpRequestInfo info;
  ASSERT_EQ(Parse(request, &info), ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "lf.example");
  EXPECT_EQ(info.head_length, request.size());
}

TEST(HttpRequestTest, ObsFoldIsTolerated) {
  HttpRequestInfo info;
  ASSERT_EQ(
      Parse("GET / HTTP/1.1\r\nX-Long: one\r\n  two\r\n\tthree\r\nHost: f.example\r\n\r\n", &info),
      ParseStatus::kOk);
  EXPECT_EQ(info.host.View(), "f.example");
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n", &info),
            ParseStatus::kOk);
  EXPECT_TRUE(info.chunked);
  // A continuation with nothing to continue is how request smuggling starts.
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\n Host: f.example\r\n\r\n", &info), ParseStatus::kMalformed);
}

TEST(HttpRequestTest, ContentLengthAndChunked) {
  HttpRequestInfo info;
  ASSERT_EQ(Parse("POST /up HTTP/1.1\r\nContent-Length:  1234 \r\n\r\n", &info), ParseStatus::kOk);
  EXPECT_EQ(info.content_length, 1234u);
  EXPECT_FALSE(info.chunked);
  ASSERT_EQ(Parse("POST /up HTTP/1.1\r\ncontent-length: 7\r\nContent-Length: 7\r\n\r\n", &info),
            ParseStatus::kOk);
  EXPECT_EQ(info.content_length, 7u);
  ASSERT_EQ(Parse("POST /up HTTP/1.1\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", &info),
            ParseStatus::kOk);
  EXPECT_TRUE(info.chunked);
  ASSERT_EQ(Parse("POST /up HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", &info),
            ParseStatus::kOk);
  EXPECT_FALSE(info.chunked);
}

TEST(HttpRequestTest, AmbiguousHeadersAreMalformed) {
  HttpRequestInfo info;
  const std::string_view bad[] = {
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : a.example\r\n\r\n",
      "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
  };
  for (const std::string_view request : bad) {
    EXPECT_EQ(Parse(request, &info), ParseStatus::kMalformed) << request;
  }
  // The same Host twice (after normalisation) is harmless.
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: A.example\r\nHost: a.example:80\r\n\r\n", &info),
            ParseStatus::kOk);
}

TEST(HttpRequestTest, BadRequestLinesAreMalformed) {
  HttpRequestInfo info;
  for (const std::string_view request : {
           "GET /\r\n\r\n",                 // HTTP/0.9
           "GET  / HTTP/1.1\r\n\r\n",       // empty target
           "GET / FTP/1.0\r\n\r\n",         // not HTTP
           "GET / HTTP/1.1 extra\r\n\r\n",  // trailing junk
           "GET \r\n\r\n",
       }) {
    EXPECT_EQ(Parse(request, &info), ParseStatus::kMalformed) << request;
  }
}

TEST(HttpRequestTest, OverlongHostIsMalformed) {
  HttpRequestInfo info;
  const std::string request = "GET / HTTP/1.1\r\nHost: " + std::string(300, 'h') + "\r\n\r\n";
  EXPECT_EQ(Parse(request, &info), ParseStatus::kMalformed);
}

// --- Pipelining ---------------------------------------------------------

TEST(HttpPipelineTest, TwoGetsInOneSegmentThenSplitOne) {
  const std::string first = "GET /a HTTP/1.1\r\nHost: one.example\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: two.example\r\n\r\n";
  const std::string stream = first + second + first;  // third request split below
  const std::size_t cut = first.size() + second.size() + 20;

  std::vector<std::string> hosts;
  auto collect = [&hosts](const HttpRequestInfo& info) { hosts.push_back(info.host.Str()); };
  const HttpPipelineWalk walk =
      ForEachHttpRequest(Bytes(std::string_view(stream).substr(0, cut)), collect);
  EXPECT_EQ(walk.requests, 2u);
  EXPECT_EQ(walk.status, ParseStatus::kNeedMore);
  EXPECT_EQ(walk.next_offset, first.size() + second.size());

  // The caller keeps stream[next_offset..] and retries once more bytes came.
  const HttpPipelineWalk rest =
      ForEachHttpRequest(Bytes(std::string_view(stream).substr(walk.next_offset)), collect);
  EXPECT_EQ(rest.requests, 1u);
  EXPECT_EQ(rest.status, ParseStatus::kNeedMore);  // ended on a boundary
  EXPECT_EQ(rest.next_offset, first.size());
  EXPECT_EQ(hosts, (std::vector<std::string>{"one.example", "two.example", "one.example"}));
}

TEST(HttpPipelineTest, BodiesAreSkippedByContentLength) {
  const std::string stream =
      "POST /log HTTP/1.1\r\nHost: a.example\r\nContent-Length: 12\r\n\r\nGET / HTTP/x"
      "GET /next HTTP/1.1\r\nHost: b.example\r\n\r\n";
  std::vector<std::string> targets;
  const HttpPipelineWalk walk = ForEachHttpRequest(
      Bytes(stream), [&](const HttpRequestInfo& info) { targets.push_back(info.target.Str()); });
  EXPECT_EQ(walk.requests, 2u);
  EXPECT_EQ(walk.next_offset, stream.size());
  EXPECT_EQ(targets, (std::vector<std::string>{"/log", "/next"}));
}

TEST(HttpPipelineTest, BodyLongerThanSegmentPointsPastTheEnd) {
  const std::string head = "PUT /f HTTP/1.1\r\nHost: a.example\r\nContent-Length: 1000\r\n\r\n";
  const std::string stream = head + std::string(100, 'b');
  const HttpPipelineWalk walk = ForEachHttpRequest(Bytes(stream), [](const HttpRequestInfo&) {});
  EXPECT_EQ(walk.requests, 1u);
  EXPECT_EQ(walk.status, ParseStatus::kNeedMore);
  EXPECT_EQ(walk.next_offset, head.size() + 1000);  // 900 bytes still to skip
}

TEST(HttpPipelineTest, ChunkedBodyStopsTheWalk) {
  const std::string stream =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  const HttpPipelineWalk walk = ForEachHttpRequest(Bytes(stream), [](const HttpRequestInfo&) {});
  EXPECT_EQ(walk.requests, 1u);
  EXPECT_TRUE(walk.stopped_at_chunked_body);
  EXPECT_EQ(walk.status, ParseStatus::kOk);
}

TEST(HttpPipelineTest, GarbageAfterARequestStopsWithNotMine) {
  const std::string stream = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n\x16\x03\x01junk";
  const HttpPipelineWalk walk = ForEachHttpRequest(Bytes(stream), [](const HttpRequestInfo&) {});
  EXPECT_EQ(walk.requests, 1u);
  EXPECT_EQ(walk.status, ParseStatus::kNotMine);
}

TEST(HttpPipelineTest, HugeContentLengthSaturates) {
  const std::string stream = "POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n";
  const HttpPipelineWalk walk = ForEachHttpRequest(Bytes(stream), [](const HttpRequestInfo&) {});
  EXPECT_EQ(walk.requests, 1u);
  EXPECT_EQ(walk.next_offset, stream.size() + 999999999999999999ull);
}

}  // namespace
}  // namespace flightwall
