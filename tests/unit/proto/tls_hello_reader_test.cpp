#include "proto/tls_hello_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto_test_builders.h"

namespace flightwall {
namespace {

using testing::BuildClientHello;
using testing::Bytes;
using testing::ClientHelloSpec;
using testing::WrapInRecords;

constexpr std::string_view kSni = "telemetry.dji.example";

// An exact-size copy, so AddressSanitizer flags any read past the prefix.
Bytes Prefix(const Bytes& bytes, std::size_t n) {
  return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

// About 600 bytes, SNI first.
Bytes MediumHello() {
  ClientHelloSpec spec;
  spec.sni = "Telemetry.DJI.example";
  spec.alpn = {"h2", "http/1.1"};
  spec.padding = 430;
  return BuildClientHello(spec);
}

// Feeds `stream` one more byte per call (each call sees an exact-size copy
// of the prefix) and returns the length at which Feed first returned
// something other than kNeedMore, or stream.size() + 1 if it never did.
std::size_t FeedByteByByte(const Bytes& stream, TlsHelloReader* reader, ClientHelloInfo* info,
                           ParseStatus* status) {
  for (std::size_t n = 0; n <= stream.size(); ++n) {
    *status = reader->Feed(Prefix(stream, n), info);
    if (*status != ParseStatus::kNeedMore) return n;
  }
  return stream.size() + 1;
}

TEST(TlsHelloReaderTest, OneByteSegmentsNeedMoreUntilTheLastByte) {
  const Bytes hello = MediumHello();
  ASSERT_GT(hello.size(), 550u);
  ASSERT_LT(hello.size(), 650u);
  for (const std::vector<std::size_t>& fragments :
       {std::vector<std::size_t>{}, std::vector<std::size_t>{50},
        std::vector<std::size_t>{2, 300}}) {
    const Bytes stream = WrapInRecords(hello, fragments);
    TlsHelloReader reader;
    ClientHelloInfo info;
    ParseStatus status = ParseStatus::kNeedMore;
    EXPECT_EQ(FeedByteByByte(stream, &reader, &info, &status), stream.size());
    ASSERT_EQ(status, ParseStatus::kOk);
    EXPECT_EQ(info.sni.View(), kSni);
    EXPECT_EQ(reader.ConsumedBytes(), stream.size());
  }
}

TEST(TlsHelloReaderTest, OneByteRecordsFedOneByteAtATime) {
  const Bytes hello = MediumHello();
  const Bytes stream = WrapInRecords(hello, std::vector<std::size_t>(hello.size(), 1));
  ASSERT_EQ(stream.size(), hello.size() * 6);
  TlsHelloReader reader;
  ClientHelloInfo info;
  ParseStatus status = ParseStatus::kNeedMore;
  EXPECT_EQ(FeedByteByByte(stream, &reader, &info, &status), stream.size());
  ASSERT_EQ(status, ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), kSni);
  EXPECT_EQ(info.alpn_count, 2u);
  EXPECT_EQ(reader.ConsumedBytes(), stream.size());
}

TEST(TlsHelloReaderTest, LargestHelloInOneByteRecordsIsLinear) {
  // 64 KiB of body in 1-byte records is 393 KB of stream. Fed a byte at a
  // time, rereading from the start would take ~10^11 steps; the reader walks
  // each byte once, so this finishes in milliseconds.
  ClientHelloSpec spec;
  spec.sni = "Telemetry.DJI.example";
  spec.extra_extensions = {{0x7a7a, Bytes(60000, 0xee)}};
  const Bytes hello = BuildClientHello(spec);
  const Bytes stream = WrapInRecords(hello, std::vector<std::size_t>(hello.size(), 1));
  const std::span<const std::uint8_t> whole(stream);
  TlsHelloReader reader;
  ClientHelloInfo info;
  for (std::size_t n = 0; n < stream.size(); ++n) {
    ASSERT_EQ(reader.Feed(whole.first(n), &info), ParseStatus::kNeedMore) << n;
  }
  ASSERT_EQ(reader.Feed(whole, &info), ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), kSni);
}

TEST(TlsHelloReaderTest, HandshakeHeaderSplitAcrossRecords) {
  const Bytes hello = MediumHello();
  for (const std::vector<std::size_t>& fragments :
       {std::vector<std::size_t>{1}, std::vector<std::size_t>{2}, std::vector<std::size_t>{3},
        std::vector<std::size_t>{1, 1, 1, 1}, std::vector<std::size_t>{1, 2, 1}}) {
    const Bytes stream = WrapInRecords(hello, fragments);
    TlsHelloReader reader;
    ClientHelloInfo info;
    ASSERT_EQ(reader.Feed(stream, &info), ParseStatus::kOk);
    EXPECT_EQ(info.sni.View(), kSni);
  }
}

TEST(TlsHelloReaderTest, RecordHeaderSplitAcrossCalls) {
  const Bytes hello = MediumHello();
  const Bytes stream = WrapInRecords(hello, {100});
  for (std::size_t cut = 105; cut <= 110; ++cut) {  // inside the second header
    TlsHelloReader reader;
    ClientHelloInfo info;
    ASSERT_EQ(reader.Feed(Prefix(stream, cut), &info), ParseStatus::kNeedMore) << cut;
    ASSERT_EQ(reader.Feed(Prefix(stream, cut), &info), ParseStatus::kNeedMore) << cut;
    ASSERT_EQ(reader.Feed(stream, &info), ParseStatus::kOk) << cut;
    EXPECT_EQ(info.sni.View(), kSni);
  }
}

TEST(TlsHelloReaderTest, ZeroLengthRecordIsMalformed) {
  TlsHelloReader reader;
  ClientHelloInfo info;
  EXPECT_EQ(reader.Feed(Bytes{0x16, 0x03, 0x01, 0x00, 0x00}, &info), ParseStatus::kMalformed);

  const Bytes hello = MediumHello();
  Bytes stream = WrapInRecords(std::span(hello).first(40));
  const Bytes empty = {0x16, 0x03, 0x01, 0x00, 0x00};
  stream.insert(stream.end(), empty.begin(), empty.end());
  reader.Reset();
  EXPECT_EQ(reader.Feed(stream, &info), ParseStatus::kMalformed);
}

TEST(TlsHelloReaderTest, OversizedRecordIsMalformed) {
  TlsHelloReader reader;
  ClientHelloInfo info;
  // 2^14 + 2048 is allowed, one more is not.
  EXPECT_EQ(reader.Feed(Bytes{0x16, 0x03, 0x01, 0x48, 0x00, 0x01}, &info), ParseStatus::kNeedMore);
  reader.Reset();
  EXPECT_EQ(reader.Feed(Bytes{0x16, 0x03, 0x01, 0x48, 0x01, 0x01}, &info), ParseStatus::kMalformed);
}

TEST(TlsHelloReaderTest, NonHandshakeRecordAfterFirstFragmentIsMalformed) {
  const Bytes hello = MediumHello();
  Bytes stream = WrapInRecords(std::span(hello).first(40));
  const Bytes ccs = {20, 3, 3, 0, 1, 1};
  stream.insert(stream.end(), ccs.begin(), ccs.end());
  TlsHelloReader reader;
  ClientHelloInfo info;
  EXPECT_EQ(reader.Feed(Prefix(stream, 45), &info), ParseStatus::kNeedMore);
  // Judged from the record's first byte, and sticky.
  EXPECT_EQ(reader.Feed(Prefix(stream, 46), &info), ParseStatus::kMalformed);
  EXPECT_EQ(reader.Feed(stream, &info), ParseStatus::kMalformed);

  // A handshake record with a non-3.x version after the first is as bad.
  Bytes bad_version = WrapInRecords(std::span(hello).first(40));
  const Bytes header = {22, 4, 1, 0, 10};
  bad_version.insert(bad_version.end(), header.begin(), header.end());
  reader.Reset();
  EXPECT_EQ(reader.Feed(Prefix(bad_version, 46), &info), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.Feed(Prefix(bad_version, 47), &info), ParseStatus::kMalformed);
}

TEST(TlsHelloReaderTest, NotTlsIsDecidedFromTheFirstBytes) {
  ClientHelloInfo info;
  TlsHelloReader reader;
  EXPECT_EQ(reader.Feed(Bytes{}, &info), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.Feed(Bytes{'G'}, &info), ParseStatus::kNotMine);
  EXPECT_EQ(reader.Feed(Bytes{'G', 'E', 'T'}, &info), ParseStatus::kNotMine);  // sticky

  reader.Reset();
  EXPECT_EQ(reader.Feed(Bytes{0x16}, &info), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.Feed(Bytes{0x16, 0x02}, &info), ParseStatus::kNotMine);

  // A handshake record carrying a ServerHello, decided from its first byte.
  reader.Reset();
  EXPECT_EQ(reader.Feed(Bytes{0x16, 0x03, 0x03, 0x00, 0x04}, &info), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.Feed(Bytes{0x16, 0x03, 0x03, 0x00, 0x04, 0x02}, &info), ParseStatus::kNotMine);
  EXPECT_EQ(reader.ConsumedBytes(), 0u);
}

TEST(TlsHelloReaderTest, TooLargeFromTheHandshakeHeader) {
  TlsHelloReader reader;
  ClientHelloInfo info;
  const Bytes stream = {0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x01};
  EXPECT_EQ(reader.Feed(Prefix(stream, 8), &info), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.Feed(stream, &info), ParseStatus::kTooLarge);
  EXPECT_EQ(reader.Feed(stream, &info), ParseStatus::kTooLarge);
  // The header split over records is judged the same once its fourth byte arrives.
  reader.Reset();
  const Bytes split = {0x16, 0x03, 0x01, 0x00, 0x02, 0x01, 0x01,
                       0x16, 0x03, 0x01, 0x00, 0x09, 0x00, 0x01};
  EXPECT_EQ(reader.Feed(Prefix(split, 13), &info), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.Feed(split, &info), ParseStatus::kTooLarge);
}

TEST(TlsHelloReaderTest, ConsumedBytesEndsAtTheLastRecordOfTheHello) {
  const Bytes hello = MediumHello();
  ClientHelloInfo info;

  // Two records followed by a ChangeCipherSpec: only the records count.
  Bytes stream = WrapInRecords(hello, {200});
  const std::size_t records = stream.size();
  const Bytes ccs = {20, 3, 3, 0, 1, 1};
  stream.insert(stream.end(), ccs.begin(), ccs.end());
  TlsHelloReader reader;
  EXPECT_EQ(reader.ConsumedBytes(), 0u);
  ASSERT_EQ(reader.Feed(Prefix(stream, records - 1), &info), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.ConsumedBytes(), 0u);
  ASSERT_EQ(reader.Feed(stream, &info), ParseStatus::kOk);
  EXPECT_EQ(reader.ConsumedBytes(), records);

  // A last record longer than the hello: its end counts, even before all of
  // its bytes have arrived.
  Bytes more = hello;
  more.insert(more.end(), {0x0f, 0x00, 0x00, 0x00});  // a following (empty) handshake message
  const Bytes longer = WrapInRecords(more, {300});
  reader.Reset();
  ASSERT_EQ(reader.Feed(Prefix(longer, 5 + hello.size() + 5), &info), ParseStatus::kOk);
  EXPECT_EQ(reader.ConsumedBytes(), longer.size());
  EXPECT_EQ(info.sni.View(), kSni);
}

TEST(TlsHelloReaderTest, FeedIsIdempotentAfterTheResult) {
  const Bytes hello = MediumHello();
  Bytes stream = WrapInRecords(hello, {100, 100});
  TlsHelloReader reader;
  ClientHelloInfo info;
  ASSERT_EQ(reader.Feed(stream, &info), ParseStatus::kOk);
  const std::size_t consumed = reader.ConsumedBytes();
  stream.insert(stream.end(), {23, 3, 3, 0, 1, 0});
  ClientHelloInfo again;
  ASSERT_EQ(reader.Feed(stream, &again), ParseStatus::kOk);
  EXPECT_EQ(again.sni.View(), kSni);
  EXPECT_EQ(reader.ConsumedBytes(), consumed);
}

TEST(TlsHelloReaderTest, BrokenBodyKeepsWhatWasRead) {
  ClientHelloSpec spec;
  spec.sni = "first.example";
  spec.alpn = {"h2"};
  Bytes hello = BuildClientHello(spec);
  hello[hello.size() - 1 - 7 - 3] += 1;  // the ALPN list length (before supported_versions)
  TlsHelloReader reader;
  ClientHelloInfo info;
  ASSERT_EQ(reader.Feed(WrapInRecords(hello, {10}), &info), ParseStatus::kMalformed);
  EXPECT_EQ(info.sni.View(), "first.example");
}

TEST(TlsHelloReaderTest, MatchesTheWholeStreamParser) {
  // Every prefix, fed as a first call, gives what the stateless parser gives.
  const Bytes stream = WrapInRecords(MediumHello(), {3, 40, 1});
  for (std::size_t n = 0; n <= stream.size(); ++n) {
    const Bytes prefix = Prefix(stream, n);
    TlsHelloReader reader;
    ClientHelloInfo a;
    ClientHelloInfo b;
    EXPECT_EQ(reader.Feed(prefix, &a), ParseTlsClientHelloRecords(prefix, &b)) << n;
  }
}

}  // namespace
}  // namespace flightwall
