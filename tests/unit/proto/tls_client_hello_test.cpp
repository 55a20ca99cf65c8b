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
  // Handshake message claiming more than the 16 KiB we reassemble.
  EXPECT_EQ(ParseTlsClientHelloRecords(Bytes{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00},
                                       &info),
            ParseStatus::kMalformed);
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
