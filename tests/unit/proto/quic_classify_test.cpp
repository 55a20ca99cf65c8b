// QuicInitialParser::ClassifyDatagram: what the first packet of a UDP payload
// is, from its cleartext header alone.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>

#include "proto/quic_initial.h"
#include "proto_test_builders.h"
#include "quic_rfc_vectors.h"

namespace flightwall {
namespace {

using testing::Bytes;
using testing::FromHex;
using Kind = QuicLongHeaderKind;

// A long header: first byte, version, DCID, SCID, then `rest` verbatim.
Bytes LongHeader(std::uint8_t first_byte, std::uint32_t version, std::size_t dcid_length,
                 std::size_t scid_length, std::initializer_list<std::uint8_t> rest = {}) {
  Bytes b = {first_byte};
  b.push_back(static_cast<std::uint8_t>(version >> 24));
  testing::PutU24(b, version & 0xffffff);
  b.push_back(static_cast<std::uint8_t>(dcid_length));
  b.insert(b.end(), dcid_length, 0xd0);
  b.push_back(static_cast<std::uint8_t>(scid_length));
  b.insert(b.end(), scid_length, 0x5c);
  b.insert(b.end(), rest);
  return b;
}

// A long header of a supported version with a Length field covering
// `payload` bytes of filler (no token: not for Initials).
Bytes WithLength(std::uint8_t first_byte, std::uint32_t version, std::size_t payload) {
  Bytes b = LongHeader(first_byte, version, 8, 8);
  testing::PutVarInt(b, payload);
  b.insert(b.end(), payload, 0xee);
  return b;
}

Kind Classify(const Bytes& b) {
  const Kind kind = QuicInitialParser::ClassifyDatagram(b);
  EXPECT_EQ(QuicInitialParser::LooksLikeInitial(b), kind == Kind::kSupportedInitial);
  return kind;
}

TEST(QuicClassifyTest, SupportedInitials) {
  EXPECT_EQ(Classify(FromHex(testing::kRfc9001ClientInitialHex)), Kind::kSupportedInitial);
  EXPECT_EQ(Classify(FromHex(testing::kRfc9369ClientInitialHex)), Kind::kSupportedInitial);
  EXPECT_EQ(Classify(FromHex(testing::kDraft23ClientInitialHex)), Kind::kSupportedInitial);
  EXPECT_EQ(Classify(FromHex(testing::kDraft32ClientInitialHex)), Kind::kSupportedInitial);
  // An Initial whose token and Length fit, with nothing sealed: the header
  // alone decides.
  Bytes initial = LongHeader(0xc0, 0xfaceb001, 8, 0, {0x00});
  testing::PutVarInt(initial, 30);
  initial.resize(initial.size() + 30, 0);
  EXPECT_EQ(Classify(initial), Kind::kSupportedInitial);
}

TEST(QuicClassifyTest, SupportedNonInitials) {
  EXPECT_EQ(Classify(WithLength(0xd0, 1, 40)), Kind::kSupportedOther);           // v1 0-RTT
  EXPECT_EQ(Classify(WithLength(0xe0, 0xff00001d, 40)), Kind::kSupportedOther);  // Handshake
  EXPECT_EQ(Classify(WithLength(0xe0, 0x6b3343cf, 40)), Kind::kSupportedOther);  // v2 0-RTT
  EXPECT_EQ(Classify(WithLength(0xf0, 0x6b3343cf, 40)), Kind::kSupportedOther);  // v2 Handshake
  // Retry has no Length: the header up to the SCID is enough.
  EXPECT_EQ(Classify(LongHeader(0xf0, 1, 8, 8, {0x01, 0x02})), Kind::kSupportedOther);
  EXPECT_EQ(Classify(LongHeader(0xc0, 0x6b3343cf, 8, 8)), Kind::kSupportedOther);  // v2 Retry
  // v2's Initial bits (01) mean 0-RTT in v1, and the other way round.
  Bytes v2_initial = LongHeader(0xd0, 0x6b3343cf, 8, 0, {0x00});
  testing::PutVarInt(v2_initial, 20);
  v2_initial.resize(v2_initial.size() + 20, 0);
  EXPECT_EQ(Classify(v2_initial), Kind::kSupportedInitial);
  v2_initial[1] = 0x00;  // relabelled v1 (0x00000001)
  v2_initial[2] = 0x00;
  v2_initial[3] = 0x00;
  v2_initial[4] = 0x01;
  EXPECT_EQ(Classify(v2_initial), Kind::kSupportedOther);  // v1 0-RTT
}

TEST(QuicClassifyTest, UnknownVersions) {
  // Greased (RFC 9000 15: 0x?a?a?a?a), version negotiation (0), gQUIC Q050,
  // a future version: invariants only, nothing after the SCID is needed.
  for (std::uint32_t version : {0x0a0a0a0aU, 0xdadadadaU, 0x00000000U, 0x51303530U, 0x00000003U}) {
    EXPECT_EQ(Classify(LongHeader(0xc0, version, 8, 8, {0x00, 0x00, 0x00, 0x01})),
              Kind::kUnknownVersion)
        << std::hex << version;
    EXPECT_EQ(Classify(LongHeader(0xc0, version, 0, 0)), Kind::kUnknownVersion) << version;
    EXPECT_EQ(Classify(LongHeader(0xff, version, 20, 20)), Kind::kUnknownVersion) << version;
  }
}

TEST(QuicClassifyTest, NotLongHeaders) {
  EXPECT_EQ(Classify({}), Kind::kNotQuicLongHeader);
  Bytes short_header(1200, 0x55);
  short_header[0] = 0x43;
  EXPECT_EQ(Classify(short_header), Kind::kNotQuicLongHeader);
  EXPECT_EQ(Classify(Bytes(1200, 0)), Kind::kNotQuicLongHeader);
  // Unknown versions must look like RFC 8999 long headers.
  EXPECT_EQ(Classify(LongHeader(0x80, 0x0a0a0a0a, 8, 8)),
            Kind::kNotQuicLongHeader);  // no fixed bit
  EXPECT_EQ(Classify(LongHeader(0xc0, 0x0a0a0a0a, 21, 8)), Kind::kNotQuicLongHeader);
  EXPECT_EQ(Classify(LongHeader(0xc0, 0x0a0a0a0a, 8, 21)), Kind::kNotQuicLongHeader);
  EXPECT_EQ(Classify(LongHeader(0xc0, 1, 21, 0)), Kind::kNotQuicLongHeader);
  // Supported versions must have a Length that fits.
  Bytes overrun = WithLength(0xd0, 1, 40);
  overrun.pop_back();
  EXPECT_EQ(Classify(overrun), Kind::kNotQuicLongHeader);
}

TEST(QuicClassifyTest, EveryPrefixIsSafe) {
  const Bytes initial = FromHex(testing::kRfc9001ClientInitialHex);
  const Bytes unknown = LongHeader(0xc0, 0x1a2a3a4a, 8, 8);
  for (std::size_t n = 0; n < initial.size(); ++n) {
    EXPECT_EQ(Classify(Bytes(initial.begin(), initial.begin() + static_cast<std::ptrdiff_t>(n))),
              Kind::kNotQuicLongHeader)
        << n;
  }
  for (std::size_t n = 0; n < unknown.size(); ++n) {
    EXPECT_EQ(Classify(Bytes(unknown.begin(), unknown.begin() + static_cast<std::ptrdiff_t>(n))),
              Kind::kNotQuicLongHeader)
        << n;
  }
  EXPECT_EQ(Classify(unknown), Kind::kUnknownVersion);
}

}  // namespace
}  // namespace flightwall
