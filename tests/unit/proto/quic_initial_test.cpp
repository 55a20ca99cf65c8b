#include "proto/quic_initial.h"

#include <gtest/gtest.h>

#include "proto/quic_frames.h"
#include "proto_test_builders.h"
#include "quic_rfc_vectors.h"

namespace flightwall {
namespace {

using testing::Bytes;
using testing::ClientHelloSpec;
using testing::CryptoFrame;
using testing::FromHex;
using testing::InitialSpec;
using testing::SealInitial;

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes QuicHello(const std::string& sni = "flight.example") {
  ClientHelloSpec spec;
  spec.sni = sni;
  spec.alpn = {"h3"};
  spec.quic_transport_parameters = true;
  return testing::BuildClientHello(spec);
}

TEST(QuicInitialTest, Rfc9001ClientInitialDecryptsToExampleCom) {
  const Bytes packet = FromHex(testing::kRfc9001ClientInitialHex);
  ASSERT_EQ(packet.size(), 1200u);
  EXPECT_TRUE(QuicInitialParser::LooksLikeInitial(packet));
  QuicInitialParser parser;
  ASSERT_EQ(parser.Feed(packet), ParseStatus::kOk);
  EXPECT_EQ(parser.Version(), QuicVersionKind::kV1);
  EXPECT_EQ(parser.Result().sni.View(), "example.com");
  EXPECT_TRUE(parser.Result().has_sni);
  ASSERT_EQ(parser.Result().alpn_count, 1u);
  EXPECT_EQ(parser.Result().alpn[0].View(), "alpn");
  EXPECT_TRUE(parser.Result().has_quic_transport_parameters);
  EXPECT_EQ(parser.Stats().initials_decrypted, 1u);
  EXPECT_EQ(parser.Stats().decrypt_failures, 0u);
  EXPECT_EQ(parser.Feed(packet), ParseStatus::kOk);  // sticky
}

TEST(QuicInitialTest, Rfc9369V2ClientInitialDecryptsToExampleCom) {
  const Bytes packet = FromHex(testing::kRfc9369ClientInitialHex);
  EXPECT_TRUE(QuicInitialParser::LooksLikeInitial(packet));
  QuicInitialParser parser;
  ASSERT_EQ(parser.Feed(packet), ParseStatus::kOk);
  EXPECT_EQ(parser.Version(), QuicVersionKind::kV2);
  EXPECT_EQ(parser.Result().sni.View(), "example.com");
}

TEST(QuicInitialTest, BuilderReproducesRfc9001Packet) {
  // Validates the test-side sealer used below against the RFC bytes.
  InitialSpec spec;
  spec.packet_number = 2;
  const Bytes sealed = SealInitial(spec, FromHex(testing::kRfcCryptoFrameHex));
  EXPECT_EQ(testing::ToHex(sealed), testing::kRfc9001ClientInitialHex);
}

TEST(QuicInitialTest, EveryTruncationIsRejectedWithoutCrash) {
  const Bytes packet = FromHex(testing::kRfc9001ClientInitialHex);
  for (std::size_t n = 0; n < packet.size(); ++n) {
    QuicInitialParser parser;
    const Bytes prefix(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(n));
    const ParseStatus status = parser.Feed(prefix);
    // The Length field overruns a truncated datagram, so nothing is read.
    EXPECT_EQ(status, ParseStatus::kNotMine) << n;
  }
}

TEST(QuicInitialTest, BadTagIsCountedAndIgnored) {
  Bytes packet = FromHex(testing::kRfc9001ClientInitialHex);
  Bytes corrupt = packet;
  corrupt[600] ^= 0x01;
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(corrupt), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.Stats().decrypt_failures, 1u);
  EXPECT_EQ(parser.Stats().initials_decrypted, 0u);
  EXPECT_FALSE(parser.Result().has_sni);
  // The genuine packet still gets through afterwards.
  EXPECT_EQ(parser.Feed(packet), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "example.com");
}

TEST(QuicInitialTest, ShortHeaderAndUnknownVersionAreNotMine) {
  QuicInitialParser parser;
  Bytes short_header(1200, 0x55);
  short_header[0] = 0x43;
  EXPECT_FALSE(QuicInitialParser::LooksLikeInitial(short_header));
  EXPECT_EQ(parser.Feed(short_header), ParseStatus::kNotMine);
  EXPECT_FALSE(parser.SawUnknownVersion());

  Bytes unknown = FromHex(testing::kRfc9001ClientInitialHex);
  unknown[1] = 0x0a;  // version 0x0a00000a
  unknown[4] = 0x0a;
  EXPECT_FALSE(QuicInitialParser::LooksLikeInitial(unknown));
  EXPECT_EQ(parser.Feed(unknown), ParseStatus::kNotMine);

  Bytes negotiation = FromHex(testing::kRfc9001ClientInitialHex);
  negotiation[4] = 0x00;  // version 0
  EXPECT_EQ(parser.Feed(negotiation), ParseStatus::kNotMine);
  EXPECT_EQ(parser.Feed({}), ParseStatus::kNotMine);
  EXPECT_EQ(parser.Stats().packets_seen, 0u);
  // Not silent: the flow showed QUIC of a version we cannot read.
  EXPECT_TRUE(parser.SawUnknownVersion());
  EXPECT_EQ(parser.WireVersion(), 0x0a00000au);  // the first one seen
  EXPECT_EQ(parser.Version(), QuicVersionKind::kUnknown);
}

TEST(QuicInitialTest, CryptoFramesInTwoPacketsInReverseOrder) {
  const Bytes hello = QuicHello();
  const std::size_t half = hello.size() / 2;
  InitialSpec first;
  first.packet_number = 0;
  InitialSpec second;
  second.packet_number = 1;
  const Bytes p0 = SealInitial(first, CryptoFrame(0, std::span(hello).first(half)));
  const Bytes p1 = SealInitial(second, CryptoFrame(half, std::span(hello).subspan(half)));
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(p1), ParseStatus::kNeedMore);
  EXPECT_FALSE(parser.Result().has_sni);
  EXPECT_EQ(parser.Feed(p0), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "flight.example");
  EXPECT_EQ(parser.Stats().initials_decrypted, 2u);
}

TEST(QuicInitialTest, ShuffledOverlappingFramesInOnePacket) {
  // Chrome-style: many small CRYPTO frames, out of order, some overlapping,
  // with PING and PADDING between them.
  const Bytes hello = QuicHello("shuffled.example");
  const std::size_t n = hello.size();
  const Bytes frames = Concat({CryptoFrame(n / 2, std::span(hello).subspan(n / 2)),
                               {0x01, 0x00},
                               CryptoFrame(10, std::span(hello).subspan(10, n / 2)),
                               CryptoFrame(0, std::span(hello).first(20))});
  QuicInitialParser parser;
  ASSERT_EQ(parser.Feed(SealInitial(InitialSpec{}, frames)), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "shuffled.example");
}

TEST(QuicInitialTest, AckFramesAreSkipped) {
  const Bytes hello = QuicHello();
  // ACK: largest 5, delay 0, 2 ranges, first 1, (gap 0, len 0) x2; then
  // ACK_ECN with one range and three counts.
  const Bytes frames = Concat({{0x02, 0x05, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00},
                               {0x03, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x08, 0x09},
                               CryptoFrame(0, hello)});
  QuicInitialParser parser;
  ASSERT_EQ(parser.Feed(SealInitial(InitialSpec{}, frames)), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "flight.example");
}

TEST(QuicInitialTest, HostileAckRangeCountIsMalformed) {
  const Bytes frames = {0x02, 0x05, 0x00, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(InitialSpec{}, frames)), ParseStatus::kMalformed);
  EXPECT_EQ(parser.Feed(FromHex(testing::kRfc9001ClientInitialHex)), ParseStatus::kMalformed);
}

TEST(QuicInitialTest, FrameNotAllowedInInitialIsMalformed) {
  const Bytes frames = {0x08, 0x00, 0x01, 0x02};  // STREAM
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(InitialSpec{}, frames)), ParseStatus::kMalformed);
  EXPECT_EQ(parser.Stats().initials_decrypted, 1u);
  EXPECT_FALSE(parser.Result().has_sni);
}

TEST(QuicInitialTest, ConnectionCloseStopsTheWalk) {
  const Bytes hello = QuicHello();
  const Bytes frames = Concat({{0x1c, 0x00, 0x00, 0x00}, CryptoFrame(0, hello)});
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(InitialSpec{}, frames)), ParseStatus::kNeedMore);
  EXPECT_FALSE(parser.Result().has_sni);
}

TEST(QuicInitialTest, NonClientHelloHandshakeIsMalformed) {
  const Bytes frames = CryptoFrame(0, Bytes{0x02, 0x00, 0x00, 0x01, 0x00});  // ServerHello
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(InitialSpec{}, frames)), ParseStatus::kMalformed);
}

TEST(QuicInitialTest, CoalescedPacketsAreWalkedByLength) {
  const Bytes hello = QuicHello("coalesced.example");
  // A 0-RTT packet (type 01, no token) ahead of the Initial: skipped by its
  // Length field. Then the Initial, then zero padding to the datagram end.
  Bytes zero_rtt = {0xd0, 0x00, 0x00, 0x00, 0x01, 0x08};
  testing::PutBytes(zero_rtt, FromHex(testing::kRfcDcidHex));
  zero_rtt.push_back(0);
  testing::PutVarInt(zero_rtt, 30);
  zero_rtt.resize(zero_rtt.size() + 30, 0xee);
  InitialSpec spec;
  spec.pad_to = 0;
  const Bytes datagram = Concat({zero_rtt, SealInitial(spec, CryptoFrame(0, hello)), Bytes(64, 0)});
  QuicInitialParser parser;
  ASSERT_EQ(parser.Feed(datagram), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "coalesced.example");
  EXPECT_EQ(parser.Stats().packets_seen, 2u);
}

TEST(QuicInitialTest, InitialAfterServerChosenDcidKeepsOriginalKeys) {
  const Bytes hello = QuicHello("rekey.example");
  const std::size_t half = hello.size() / 2;
  InitialSpec first;
  InitialSpec second;
  second.packet_number = 1;
  second.dcid = FromHex("aabbccddeeff0011");        // the server's SCID
  second.key_dcid = FromHex(testing::kRfcDcidHex);  // keys stay with the first DCID
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(first, CryptoFrame(0, std::span(hello).first(half)))),
            ParseStatus::kNeedMore);
  EXPECT_EQ(parser.Feed(SealInitial(second, CryptoFrame(half, std::span(hello).subspan(half)))),
            ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "rekey.example");
  EXPECT_EQ(parser.Stats().decrypt_failures, 0u);
}

TEST(QuicInitialTest, InitialAfterRetryUsesNewDcidKeys) {
  // The first Initial is lost to us (or junk); after a Retry the client keys
  // its Initials from the new DCID. The parser falls back to that DCID.
  Bytes junk = FromHex(testing::kRfc9001ClientInitialHex);
  junk[700] ^= 0xff;
  InitialSpec retried;
  retried.dcid = FromHex("0102030405060708090a");
  retried.token = Bytes(40, 0x77);
  retried.packet_number = 1;
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(junk), ParseStatus::kNeedMore);
  ASSERT_EQ(parser.Feed(SealInitial(retried, CryptoFrame(0, QuicHello("retry.example")))),
            ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "retry.example");
  EXPECT_EQ(parser.Stats().decrypt_failures, 1u);
}

TEST(QuicInitialTest, ConflictingCryptoResendIsMalformed) {
  // Most of a ClientHello naming one host, then the same span naming
  // another (same length): a server keeps the first copy, so reading on would
  // judge a name other than the one served, or depend on which copy we kept.
  const Bytes first_hello = QuicHello("aaaa.example");
  const Bytes second_hello = QuicHello("bbbb.example");
  ASSERT_EQ(first_hello.size(), second_hello.size());
  const std::size_t head = first_hello.size() - 8;  // holds the SNI
  InitialSpec p0;
  InitialSpec p1;
  p1.packet_number = 1;
  InitialSpec p2;
  p2.packet_number = 2;
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(p0, CryptoFrame(0, std::span(first_hello).first(head)))),
            ParseStatus::kNeedMore);
  EXPECT_EQ(parser.Feed(SealInitial(p1, CryptoFrame(0, std::span(second_hello).first(head)))),
            ParseStatus::kMalformed);
  EXPECT_EQ(parser.Stats().crypto_conflicts, 1u);
  EXPECT_EQ(parser.Feed(SealInitial(p2, CryptoFrame(head, std::span(first_hello).subspan(head)))),
            ParseStatus::kMalformed);  // sticky
  EXPECT_FALSE(parser.Result().has_sni);
}

TEST(QuicInitialTest, NewConnectionOnTheSameFlowStartsOver) {
  // An abandoned attempt (half a ClientHello), then a new connection from
  // the same port: new DCID, new keys, a different ClientHello. The server
  // sees two connections; the CRYPTO stream starts afresh and does not
  // conflict with the old one.
  const Bytes old_hello = QuicHello("old.example");
  const Bytes new_hello = QuicHello("new.example");
  InitialSpec first;
  InitialSpec second;
  second.dcid = FromHex("1112131415161718");
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(
                first, CryptoFrame(0, std::span(old_hello).first(old_hello.size() / 2)))),
            ParseStatus::kNeedMore);
  ASSERT_EQ(parser.Feed(SealInitial(second, CryptoFrame(0, new_hello))), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "new.example");
  EXPECT_EQ(parser.Stats().crypto_conflicts, 0u);
}

TEST(QuicInitialTest, RekeyAttemptsAreBounded) {
  QuicInitialParser parser;
  for (int i = 0; i < 10; ++i) {
    InitialSpec spec;
    spec.dcid = Bytes(8, static_cast<std::uint8_t>(i));
    spec.key_dcid = Bytes(8, 0xfe);  // nobody's keys
    EXPECT_EQ(parser.Feed(SealInitial(spec, CryptoFrame(0, QuicHello()))), ParseStatus::kNeedMore);
  }
  EXPECT_EQ(parser.Stats().decrypt_failures, 10u);
  EXPECT_EQ(parser.Stats().initials_decrypted, 0u);
}

TEST(QuicInitialTest, ResetForgetsTheFlow) {
  QuicInitialParser parser;
  Bytes unknown = FromHex(testing::kRfc9001ClientInitialHex);
  unknown[1] = 0x3a;  // version 0x3a000001
  EXPECT_EQ(parser.Feed(unknown), ParseStatus::kNotMine);
  EXPECT_TRUE(parser.SawUnknownVersion());
  ASSERT_EQ(parser.Feed(FromHex(testing::kRfc9001ClientInitialHex)), ParseStatus::kOk);
  parser.Reset();
  EXPECT_FALSE(parser.Result().has_sni);
  EXPECT_EQ(parser.Version(), QuicVersionKind::kUnknown);
  EXPECT_EQ(parser.WireVersion(), 0u);
  EXPECT_FALSE(parser.SawUnknownVersion());
  EXPECT_EQ(parser.Stats().initials_decrypted, 0u);
  ASSERT_EQ(parser.Feed(FromHex(testing::kRfc9369ClientInitialHex)), ParseStatus::kOk);
  EXPECT_EQ(parser.Version(), QuicVersionKind::kV2);
}

}  // namespace
}  // namespace flightwall
