// QuicInitialParser with ClientHellos that span many Initial packets:
// post-quantum key shares make them kilobytes long, padding or hostile
// clients up to the 64 KiB the parser reassembles, and past that kTooLarge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "proto/quic_initial.h"
#include "proto_test_builders.h"

namespace flightwall {
namespace {

using testing::Bytes;
using testing::CryptoFrame;
using testing::InitialSpec;
using testing::SealInitial;

// A ClientHello handshake message whose body is exactly `body_length` bytes
// (a padding extension makes up the difference).
Bytes HelloWithBody(std::size_t body_length, const std::string& sni) {
  testing::ClientHelloSpec spec;
  spec.sni = sni;
  spec.alpn = {"h3"};
  spec.quic_transport_parameters = true;
  const std::size_t bare = testing::BuildClientHello(spec).size() - 4;
  spec.padding = body_length - bare - 4;  // the extension's own header is 4 bytes
  Bytes hello = testing::BuildClientHello(spec);
  EXPECT_EQ(hello.size(), 4 + body_length);
  return hello;
}

struct Piece {
  std::size_t offset;
  std::size_t length;
};

// Cuts [0, size) into pieces of `piece` bytes.
std::vector<Piece> Cut(std::size_t size, std::size_t piece) {
  std::vector<Piece> pieces;
  for (std::size_t at = 0; at < size; at += piece)
    pieces.push_back({at, std::min(piece, size - at)});
  return pieces;
}

// One Initial per group of `per_packet` pieces, each piece its own CRYPTO
// frame (in reverse order inside the packet), packet numbers in send order.
std::vector<Bytes> Packetize(const Bytes& hello, const std::vector<Piece>& pieces,
                             std::size_t per_packet, std::size_t pad_to) {
  std::vector<Bytes> packets;
  for (std::size_t i = 0; i < pieces.size(); i += per_packet) {
    Bytes frames;
    const std::size_t end = std::min(pieces.size(), i + per_packet);
    for (std::size_t j = end; j > i; --j) {
      const Piece& p = pieces[j - 1];
      testing::PutBytes(frames,
                        CryptoFrame(p.offset, std::span(hello).subspan(p.offset, p.length)));
      frames.push_back(0x01);  // PING between frames, Chromium-style
    }
    InitialSpec spec;
    spec.packet_number = packets.size();
    spec.pad_to = pad_to;
    packets.push_back(SealInitial(spec, frames));
  }
  return packets;
}

TEST(QuicLargeHelloTest, TwentyKilobytesInShuffledPacketsAndFrames) {
  const Bytes hello = HelloWithBody(20000, "large.example");
  std::vector<Piece> pieces = Cut(hello.size(), 330);
  std::vector<Bytes> packets = Packetize(hello, pieces, 3, 1200);
  ASSERT_GT(packets.size(), 16u);
  const Bytes head = packets.front();  // the packet holding offset 0
  std::mt19937 rng(20240601);          // fixed: the test must be repeatable
  std::shuffle(packets.begin(), packets.end(), rng);
  // The head arrives last, so nothing completes early.
  const auto at = std::find(packets.begin(), packets.end(), head);
  ASSERT_NE(at, packets.end());
  std::rotate(at, at + 1, packets.end());

  QuicInitialParser parser;
  for (std::size_t i = 0; i + 1 < packets.size(); ++i) {
    ASSERT_EQ(parser.Feed(packets[i]), ParseStatus::kNeedMore) << i;
  }
  ASSERT_EQ(parser.Feed(packets.back()), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "large.example");
  EXPECT_EQ(parser.Stats().initials_decrypted, packets.size());
  EXPECT_EQ(parser.Stats().crypto_bytes_dropped, 0u);
}

TEST(QuicLargeHelloTest, LargestReassembledBodyParses) {
  const Bytes hello = HelloWithBody(65536, "max.example");
  ASSERT_EQ(hello.size(), QuicInitialParser::kMaxCryptoBytes);
  // Big packets (Length is a 2-byte varint in the sealer), in reverse order.
  std::vector<Bytes> packets = Packetize(hello, Cut(hello.size(), 8000), 1, 0);
  std::reverse(packets.begin(), packets.end());
  QuicInitialParser parser;
  for (std::size_t i = 0; i + 1 < packets.size(); ++i) {
    ASSERT_EQ(parser.Feed(packets[i]), ParseStatus::kNeedMore) << i;
  }
  ASSERT_EQ(parser.Feed(packets.back()), ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "max.example");
}

TEST(QuicLargeHelloTest, LongerHandshakeLengthIsTooLarge) {
  // The length field alone decides, as soon as the first 4 bytes are in.
  QuicInitialParser parser;
  const Bytes header = {0x01, 0x01, 0x00, 0x01, 0x03, 0x03};  // body of 65537 bytes
  EXPECT_EQ(parser.Feed(SealInitial(InitialSpec{}, CryptoFrame(0, header))),
            ParseStatus::kTooLarge);
  EXPECT_EQ(parser.Feed(SealInitial(InitialSpec{}, CryptoFrame(0, header))),
            ParseStatus::kTooLarge);  // sticky
  EXPECT_FALSE(parser.Result().has_sni);

  // A real hello one byte too long, whose first packet carries the header.
  const Bytes hello = HelloWithBody(65537, "over.example");
  QuicInitialParser second;
  EXPECT_EQ(second.Feed(SealInitial(InitialSpec{}, CryptoFrame(0, std::span(hello).first(1100)))),
            ParseStatus::kTooLarge);
}

TEST(QuicLargeHelloTest, PreviousLimitIsNoLongerMalformed) {
  // A 16 KiB handshake length was kMalformed with the 8 KiB buffer.
  QuicInitialParser parser;
  const Bytes header = {0x01, 0x00, 0x40, 0x00, 0x03, 0x03};
  EXPECT_EQ(parser.Feed(SealInitial(InitialSpec{}, CryptoFrame(0, header))),
            ParseStatus::kNeedMore);
}

TEST(QuicLargeHelloTest, FinelyScatteredHelloStillReassembles) {
  // A client (perhaps one that hopes to slip past inspection) sends 300
  // one-byte CRYPTO frames of its ClientHello, every other byte, then the
  // rest in pieces, tail first: hundreds of gaps at once. All of it is kept.
  const Bytes hello = HelloWithBody(3000, "scattered.example");
  Bytes scattered;
  for (std::size_t i = 0; i < 300; ++i) {
    testing::PutBytes(scattered, CryptoFrame(2 * i, std::span(hello).subspan(2 * i, 1)));
  }
  InitialSpec first;
  first.pad_to = 0;
  QuicInitialParser parser;
  EXPECT_EQ(parser.Feed(SealInitial(first, scattered)), ParseStatus::kNeedMore);

  const std::vector<Piece> pieces = Cut(hello.size(), 1100);
  ASSERT_EQ(pieces.size(), 3u);
  std::uint64_t packet_number = 1;
  for (std::size_t i : {2, 0}) {
    InitialSpec spec;
    spec.packet_number = packet_number++;
    const Piece p = pieces[i];
    EXPECT_EQ(parser.Feed(SealInitial(
                  spec, CryptoFrame(p.offset, std::span(hello).subspan(p.offset, p.length)))),
              ParseStatus::kNeedMore);
  }
  InitialSpec last;
  last.packet_number = packet_number;
  ASSERT_EQ(parser.Feed(SealInitial(
                last, CryptoFrame(pieces[1].offset,
                                  std::span(hello).subspan(pieces[1].offset, pieces[1].length)))),
            ParseStatus::kOk);
  EXPECT_EQ(parser.Result().sni.View(), "scattered.example");
  EXPECT_EQ(parser.Stats().crypto_bytes_dropped, 0u);
}

}  // namespace
}  // namespace flightwall
