#include "proto/tls_client_hello.h"

#include <gtest/gtest.h>

#include <string>

#include "proto_test_builders.h"

namespace flightwall {
namespace {

using testing::BuildClientHello;
using testing::Bytes;
using testing::ClientHelloSpec;
using testing::WrapInRecords;

// An exact-size copy, so AddressSanitizer flags any read past the prefix.
Bytes Prefix(const Bytes& bytes, std::size_t n) {
  return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

ClientHelloSpec FullSpec() {
  ClientHelloSpec spec;
  spec.sni = "Telemetry.DJI.example";
  spec.alpn = {"h2", "http/1.1"};
  return spec;
}

// Offset of the extensions block inside a handshake message built by
// BuildClientHello: header 4, version 2, random 32, session id 1+32,
// cipher suites 2+6, compression 1+1.
constexpr std::size_t kExtensionsOffset = 4 + 2 + 32 + 33 + 8 + 2;

TEST(TlsClientHelloTest, ReadsSniLowerCasedAndAlpn) {
  const Bytes stream = WrapInRecords(BuildClientHello(FullSpec()));
  ClientHelloInfo info;
  ASSERT_EQ(ParseTlsClientHelloRecords(stream, &info), ParseStatus::kOk);
  EXPECT_TRUE(info.has_sni);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
  EXPECT_EQ(info.legacy_version, 0x0303);
  ASSERT_EQ(info.alpn_count, 2u);
  EXPECT_EQ(info.alpn[0].View(), "h2");
  EXPECT_EQ(info.alpn[1].View(), "http/1.1");
  EXPECT_FALSE(info.has_ech);
  EXPECT_FALSE(info.has_esni);
  EXPECT_FALSE(info.has_quic_transport_parameters);
}

TEST(TlsClientHelloTest, NoSni) {
  ClientHelloSpec spec;
  spec.include_sni = false;
  ClientHelloInfo info;
  ASSERT_EQ(ParseTlsClientHelloRecords(WrapInRecords(BuildClientHello(spec)), &info),
            ParseStatus::kOk);
  EXPECT_FALSE(info.has_sni);
  EXPECT_TRUE(info.sni.Empty());
}

TEST(TlsClientHelloTest, NoExtensionsBlockIsValid) {
  ClientHelloSpec spec;
  spec.omit_extensions_block = true;
  ClientHelloInfo info;
  ASSERT_EQ(ParseTlsClientHelloRecords(WrapInRecords(BuildClientHello(spec)), &info),
            ParseStatus::kOk);
  EXPECT_FALSE(info.has_sni);
}

TEST(TlsClientHelloTest, EchEsniAndQuicFlags) {
  ClientHelloSpec spec;
  spec.ech = true;
  spec.esni = true;
  spec.quic_transport_parameters = true;
  ClientHelloInfo info;
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(spec), &info), ParseStatus::kOk);
  EXPECT_TRUE(info.has_ech);
  EXPECT_TRUE(info.has_esni);
  EXPECT_TRUE(info.has_quic_transport_parameters);

  ClientHelloSpec draft;
  draft.extra_extensions = {{0xffa5, Bytes{}}};
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(draft), &info), ParseStatus::kOk);
  EXPECT_TRUE(info.has_quic_transport_parameters);
  EXPECT_FALSE(info.has_ech);
}

TEST(TlsClientHelloTest, SplitAcrossTwoRecords) {
  const Bytes hello = BuildClientHello(FullSpec());
  const Bytes stream = WrapInRecords(hello, {50});
  ASSERT_EQ(stream.size(), hello.size() + 10);
  ClientHelloInfo info;
  ASSERT_EQ(ParseTlsClientHelloRecords(stream, &info), ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
  // Every strict prefix (any TCP segmentation) is a valid beginning.
  for (std::size_t n = 0; n < stream.size(); ++n) {
    EXPECT_EQ(ParseTlsClientHelloRecords(Prefix(stream, n), &info), ParseStatus::kNeedMore) << n;
  }
}

TEST(TlsClientHelloTest, ManyTinyRecordsAndSegments) {
  ClientHelloSpec spec = FullSpec();
  spec.padding = 400;
  const Bytes hello = BuildClientHello(spec);
  const Bytes stream = WrapInRecords(hello, std::vector<std::size_t>(hello.size(), 7));
  ClientHelloInfo info;
  std::size_t first_ok = 0;
  for (std::size_t n = 0; n <= stream.size(); ++n) {
    const ParseStatus status = ParseTlsClientHelloRecords(Prefix(stream, n), &info);
    if (status == ParseStatus::kOk) {
      first_ok = n;
      break;
    }
    ASSERT_EQ(status, ParseStatus::kNeedMore) << n;
  }
  EXPECT_EQ(first_ok, stream.size());
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
}

TEST(TlsClientHelloTest, RecordHeaderAloneNeedsMore) {
  // Found by the fuzzer: a complete header with none of its body yet. The
  // copy ends at the header so nothing past the input can be read.
  const Bytes header_only = {0x16, 0x03, 0x01, 0x02, 0x00};
  ClientHelloInfo info;
  EXPECT_EQ(ParseTlsClientHelloRecords(header_only, &info), ParseStatus::kNeedMore);
  const Bytes hello = BuildClientHello(FullSpec());
  const Bytes two = WrapInRecords(hello, {50});
  const Bytes second_header_only(two.begin(), two.begin() + 5 + 50 + 5);
  EXPECT_EQ(ParseTlsClientHelloRecords(second_header_only, &info), ParseStatus::kNeedMore);
}

TEST(TlsClientHelloTest, TrailingBytesAfterClientHelloAreIgnored) {
  Bytes stream = WrapInRecords(BuildClientHello(FullSpec()));
  const Bytes ccs = {20, 3, 3, 0, 1, 1};
  stream.insert(stream.end(), ccs.begin(), ccs.end());
  ClientHelloInfo info;
  EXPECT_EQ(ParseTlsClientHelloRecords(stream, &info), ParseStatus::kOk);
}

TEST(TlsClientHelloTest, NotTls) {
  ClientHelloInfo info;
  const std::string http = "GET / HTTP/1.1\r\n";
  EXPECT_EQ(ParseTlsClientHelloRecords(
                {reinterpret_cast<const std::uint8_t*>(http.data()), http.size()}, &info),
            ParseStatus::kNotMine);
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16}, &info), ParseStatus::kNeedMore);
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16, 0x04}, &info), ParseStatus::kNotMine);
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x17, 0x03, 0x03, 0x00, 0x01, 0x00}, &info),
            ParseStatus::kNotMine);
  // A ServerHello (the other direction) is not ours either.
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0, 0, 0}, &info),
            ParseStatus::kNotMine);
  EXPECT_EQ(ParseClientHelloHandshake(Bytes{0x02, 0, 0, 0}, &info), ParseStatus::kNotMine);
  EXPECT_EQ(ParseClientHelloHandshake({}, &info), ParseStatus::kNeedMore);
}

TEST(TlsClientHelloTest, HostileRecordLayer) {
  ClientHelloInfo info;
  // Record longer than 2^14 + 2048.
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16, 0x03, 0x01, 0x48, 0x01, 0x01}, &info),
            ParseStatus::kMalformed);
  // Zero-length handshake record.
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16, 0x03, 0x01, 0x00, 0x00}, &info),
            ParseStatus::kMalformed);
  // Handshake message claiming more than the 64 KiB we reassemble: too large,
  // known from the handshake header alone.
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x01},
                                       &info),
            ParseStatus::kTooLarge);
  // Exactly 64 KiB is a valid beginning.
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00},
                                       &info),
            ParseStatus::kNeedMore);
  // An alert in the middle of a fragmented ClientHello.
  const Bytes hello = BuildClientHello(FullSpec());
  Bytes stream = WrapInRecords(std::span(hello).first(40));
  const Bytes alert = {21, 3, 3, 0, 2, 2, 40};
  stream.insert(stream.end(), alert.begin(), alert.end());
  EXPECT_EQ(ParseTlsClientHelloRecords(stream, &info), ParseStatus::kMalformed);
}

TEST(TlsClientHelloTest, HostileHandshakeLengths) {
  const Bytes good = BuildClientHello(FullSpec());
  ClientHelloInfo info;

  Bytes session = good;
  session[4 + 2 + 32] = 33;  // session id > 32
  EXPECT_EQ(ParseClientHelloHandshake(session, &info), ParseStatus::kMalformed);
  EXPECT_EQ(info.legacy_version, 0x0303);  // read before the problem

  Bytes odd_suites = good;
  odd_suites[4 + 2 + 32 + 33 + 1] = 5;
  EXPECT_EQ(ParseClientHelloHandshake(odd_suites, &info), ParseStatus::kMalformed);

  Bytes ext_overrun = good;
  ext_overrun[kExtensionsOffset] = 0xff;
  EXPECT_EQ(ParseClientHelloHandshake(ext_overrun, &info), ParseStatus::kMalformed);

  // server_name list length larger than the extension.
  Bytes sni_overrun = good;
  sni_overrun[kExtensionsOffset + 2 + 4 + 1] += 1;
  EXPECT_EQ(ParseClientHelloHandshake(sni_overrun, &info), ParseStatus::kMalformed);
  EXPECT_FALSE(info.has_sni);

  // ALPN (after SNI) broken: SNI read before the problem stays.
  Bytes alpn_overrun = good;
  const std::size_t alpn_ext = kExtensionsOffset + 2 + 4 + 2 + 3 + 21;
  ASSERT_EQ(alpn_overrun[alpn_ext + 1], 16);
  alpn_overrun[alpn_ext + 4 + 1] += 1;
  EXPECT_EQ(ParseClientHelloHandshake(alpn_overrun, &info), ParseStatus::kMalformed);
  EXPECT_TRUE(info.has_sni);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
}

TEST(TlsClientHelloTest, TruncatedAtEveryByte) {
  const Bytes good = BuildClientHello(FullSpec());
  ClientHelloInfo info;
  for (std::size_t n = 0; n < good.size(); ++n) {
    // A prefix: the 24-bit length promises more.
    EXPECT_EQ(ParseClientHelloHandshake(Prefix(good, n), &info), ParseStatus::kNeedMore) << n;
    if (n < 4) continue;
    // A consistent header over a cut body: never out of bounds, and only the
    // cut right after the compression methods (no extensions) is valid.
    Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const std::size_t body = n - 4;
    cut[1] = static_cast<std::uint8_t>(body >> 16);
    cut[2] = static_cast<std::uint8_t>(body >> 8);
    cut[3] = static_cast<std::uint8_t>(body);
    const ParseStatus status = ParseClientHelloHandshake(cut, &info);
    if (n == kExtensionsOffset) {
      EXPECT_EQ(status, ParseStatus::kOk);
    } else {
      EXPECT_EQ(status, ParseStatus::kMalformed) << n;
    }
  }
}

TEST(TlsClientHelloTest, LongSniIsBoundedAndBytesKept) {
  ClientHelloSpec spec;
  spec.sni = std::string(300, 'A');
  ClientHelloInfo info;
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(spec), &info), ParseStatus::kOk);
  EXPECT_TRUE(info.has_sni);
  EXPECT_EQ(info.sni.View(), std::string(255, 'a'));

  spec.sni = std::string("evil\0.example", 13);
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(spec), &info), ParseStatus::kOk);
  EXPECT_EQ(info.sni.Size(), 13u);
  EXPECT_EQ(info.sni.View(), spec.sni);
}

TEST(TlsClientHelloTest, EmptyHostNameIsMalformed) {
  ClientHelloSpec spec;
  spec.sni = "";
  ClientHelloInfo info;
  EXPECT_EQ(ParseClientHelloHandshake(BuildClientHello(spec), &info), ParseStatus::kMalformed);
}

TEST(TlsClientHelloTest, FirstHostNameWinsOtherTypesSkipped) {
  Bytes list;
  list.push_back(7);  // unknown name type
  testing::PutU16(list, 3);
  testing::PutString(list, "abc");
  for (std::string_view name : {"first.example", "second.example"}) {
    list.push_back(0);
    testing::PutU16(list, name.size());
    testing::PutString(list, name);
  }
  Bytes ext;
  testing::PutU16(ext, list.size());
  testing::PutBytes(ext, list);
  ClientHelloSpec spec;
  spec.include_sni = false;
  spec.extra_extensions = {{0, ext}};
  ClientHelloInfo info;
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(spec), &info), ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), "first.example");
}

TEST(TlsClientHelloTest, AlpnListIsBounded) {
  ClientHelloSpec spec;
  for (int i = 0; i < 12; ++i) spec.alpn.push_back("proto" + std::to_string(i));
  spec.alpn.push_back(std::string(60, 'x'));
  ClientHelloInfo info;
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(spec), &info), ParseStatus::kOk);
  EXPECT_EQ(info.alpn_count, ClientHelloInfo::kMaxAlpn);
  EXPECT_EQ(info.alpn[7].View(), "proto7");

  ClientHelloSpec long_name;
  long_name.alpn = {std::string(60, 'x')};
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(long_name), &info), ParseStatus::kOk);
  EXPECT_EQ(info.alpn[0].Size(), 32u);

  ClientHelloSpec empty_name;
  empty_name.alpn = {""};
  EXPECT_EQ(ParseClientHelloHandshake(BuildClientHello(empty_name), &info),
            ParseStatus::kMalformed);
}

// A ClientHello (FullSpec, SNI first) whose handshake body is exactly
// `body_size` bytes, grown with unknown extensions of at most 60000 bytes
// each. Past 64 KiB the extensions block length wraps; only the handshake
// header matters there.
Bytes HelloWithBodySize(std::size_t body_size) {
  ClientHelloSpec spec = FullSpec();
  std::size_t grow = body_size - (BuildClientHello(spec).size() - 4);
  while (grow > 0) {
    const std::size_t data = grow <= 4 + 60000 ? grow - 4 : 60000;
    spec.extra_extensions.emplace_back(0x7a7a, Bytes(data, 0xee));
    grow -= 4 + data;
  }
  Bytes hello = BuildClientHello(spec);
  EXPECT_EQ(hello.size(), 4 + body_size);
  return hello;
}

TEST(TlsClientHelloTest, PostQuantumKeyShareSizedHello) {
  // As a 2024 browser sends it: X25519MLKEM768 (1216-byte share) + X25519.
  Bytes shares;
  testing::PutU16(shares, 0x11ec);
  testing::PutU16(shares, 1216);
  shares.insert(shares.end(), 1216, 0x5a);
  testing::PutU16(shares, 0x001d);
  testing::PutU16(shares, 32);
  shares.insert(shares.end(), 32, 0x3c);
  Bytes key_share;
  testing::PutU16(key_share, shares.size());
  testing::PutBytes(key_share, shares);
  ClientHelloSpec spec = FullSpec();
  spec.extra_extensions = {{51, key_share}, {10, Bytes{0x00, 0x04, 0x11, 0xec, 0x00, 0x1d}}};
  spec.padding = 400;
  const Bytes hello = BuildClientHello(spec);
  ASSERT_GT(hello.size(), 1700u);
  ASSERT_LT(hello.size(), 1900u);
  ClientHelloInfo info;
  ASSERT_EQ(ParseTlsClientHelloRecords(WrapInRecords(hello), &info), ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
  ASSERT_EQ(ParseTlsClientHelloRecords(WrapInRecords(hello, {1400}), &info), ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
}

TEST(TlsClientHelloTest, HugeAlpnListAcrossTwoFullRecords) {
  // A hostile client's 18 KB ClientHello: hundreds of ALPN values.
  ClientHelloSpec spec = FullSpec();
  spec.alpn.clear();
  for (int i = 0; i < 620; ++i)
    spec.alpn.push_back("flood-" + std::to_string(100000 + i) + "-xxxxxxxxxxxxxxx");
  const Bytes hello = BuildClientHello(spec);
  ASSERT_GT(hello.size(), 18000u);
  const Bytes stream = WrapInRecords(hello, {16384});
  ASSERT_EQ(stream.size(), hello.size() + 10);
  ClientHelloInfo info;
  ASSERT_EQ(ParseTlsClientHelloRecords(stream, &info), ParseStatus::kOk);
  EXPECT_TRUE(info.has_sni);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
  EXPECT_EQ(info.alpn_count, ClientHelloInfo::kMaxAlpn);
  EXPECT_EQ(info.alpn[0].View(), spec.alpn[0]);
  EXPECT_EQ(ParseTlsClientHelloRecords(Prefix(stream, 16384 + 5), &info), ParseStatus::kNeedMore);
}

TEST(TlsClientHelloTest, SixtyKibHelloParses) {
  const Bytes hello = HelloWithBodySize(60 * 1024);
  ClientHelloInfo info;
  ASSERT_EQ(ParseClientHelloHandshake(hello, &info), ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
  ASSERT_EQ(ParseTlsClientHelloRecords(WrapInRecords(hello, {16384, 16384, 16384}), &info),
            ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");
}

TEST(TlsClientHelloTest, SixtyFourKibIsTheLimit) {
  const Bytes largest = HelloWithBodySize(TlsHelloReader::kMaxClientHelloLength);
  ClientHelloInfo info;
  ASSERT_EQ(ParseClientHelloHandshake(largest, &info), ParseStatus::kOk);
  ASSERT_EQ(ParseTlsClientHelloRecords(WrapInRecords(largest, {16384, 16384, 16384, 16384}), &info),
            ParseStatus::kOk);
  EXPECT_EQ(info.sni.View(), "telemetry.dji.example");

  const Bytes one_more = HelloWithBodySize(TlsHelloReader::kMaxClientHelloLength + 1);
  EXPECT_EQ(ParseClientHelloHandshake(one_more, &info), ParseStatus::kTooLarge);
  EXPECT_EQ(
      ParseTlsClientHelloRecords(WrapInRecords(one_more, {16384, 16384, 16384, 16384}), &info),
      ParseStatus::kTooLarge);
}

TEST(TlsClientHelloTest, SeventyKibHelloIsTooLarge) {
  const Bytes hello = HelloWithBodySize(70 * 1024);
  ClientHelloInfo info;
  EXPECT_EQ(ParseClientHelloHandshake(hello, &info), ParseStatus::kTooLarge);
  // Known from the handshake header: neither the whole hello nor a prefix
  // holding just the header is waited for.
  EXPECT_EQ(ParseClientHelloHandshake(Prefix(hello, 4), &info), ParseStatus::kTooLarge);
  const Bytes stream = WrapInRecords(hello, {16384, 16384, 16384, 16384});
  EXPECT_EQ(ParseTlsClientHelloRecords(stream, &info), ParseStatus::kTooLarge);
  EXPECT_EQ(ParseTlsClientHelloRecords(Prefix(stream, 9), &info), ParseStatus::kTooLarge);
  EXPECT_EQ(ParseTlsClientHelloRecords(Prefix(stream, 8), &info), ParseStatus::kNeedMore);
}

TEST(TlsClientHelloTest, OutputIsResetBetweenCalls) {
  ClientHelloInfo info;
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(FullSpec()), &info), ParseStatus::kOk);
  ClientHelloSpec none;
  none.include_sni = false;
  ASSERT_EQ(ParseClientHelloHandshake(BuildClientHello(none), &info), ParseStatus::kOk);
  EXPECT_FALSE(info.has_sni);
  EXPECT_EQ(info.alpn_count, 0u);
}

}  // namespace
}  // namespace flightwall
