// The rules every reply builder keeps: no reply to fragments, reassembled
// datagrams, multicast or empty decoded packets; and on truncated,
// corrupted and random datagrams, only well-formed replies.
#include "reply/reply_builder.h"

#include <gtest/gtest.h>

#include <random>

#include "unit/reply/reply_frames.h"

namespace flightwall::reply_test {
namespace {

TEST(ReplyBuilderTest, NoRepliesForFragmentsOrMulticast) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  Bytes later = Udp(false, 53, DnsQuery());
  Put16(&later, 6, 0x0010);  // fragment offset 128 bytes
  EXPECT_EQ(Unreachable(later, out), 0u);
  EXPECT_EQ(Refusal(later, 5, out), 0u);
  Bytes first = Tcp(false, 0x02, 1, 0, 0);
  Put16(&first, 6, 0x2000);  // MF: the first of several fragments
  EXPECT_EQ(Reset(first, out), 0u);
  // The decoder holds a lone first fragment: there is no decoded packet to
  // answer (RFC 1812 would allow an error for fragment zero; the enforcer
  // drops held fragments without one).
  EXPECT_EQ(Unreachable(first, out), 0u);

  Bytes multicast = Udp(false, 5353, DnsQuery());
  multicast[16] = 224;
  EXPECT_EQ(Unreachable(multicast, out), 0u);
  EXPECT_EQ(Refusal(multicast, 5, out), 0u);
  Bytes v6_multicast = Udp(true, 5353, DnsQuery());
  v6_multicast[24] = 0xff;
  EXPECT_EQ(Unreachable(v6_multicast, out), 0u);
}

// A datagram rebuilt from fragments is not answered: the bytes at hand are
// its last fragment's, which must not be quoted or taken as the first.
TEST(ReplyBuilderTest, NoRepliesForReassembledDatagrams) {
  const Bytes whole = Udp(false, 53, DnsQuery());  // 20 + 8 + 32 bytes
  Bytes first(whole.begin(), whole.begin() + 36);  // IP header + 16 bytes
  Put16(&first, 2, 36);
  Put16(&first, 4, 0x1234);
  Put16(&first, 6, 0x2000);  // MF, offset 0
  Bytes last(whole.begin(), whole.begin() + 20);
  last.insert(last.end(), whole.begin() + 36, whole.end());
  Put16(&last, 2, static_cast<std::uint16_t>(last.size()));
  Put16(&last, 4, 0x1234);
  Put16(&last, 6, 2);  // offset 16 bytes, last fragment
  PacketDecoder decoder;
  RawPacket raw;
  raw.link = LinkType::kRaw;
  DecodedPacket pkt;
  raw.data = first;
  ASSERT_EQ(decoder.Decode(raw, &pkt), DecodeStatus::kHeld);
  raw.data = last;
  ASSERT_EQ(decoder.Decode(raw, &pkt), DecodeStatus::kOk);
  ASSERT_TRUE(pkt.reassembled);
  ASSERT_EQ(pkt.dst_port, 53);
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(BuildDnsRefusal(pkt, 5, out), 0u);
  EXPECT_EQ(BuildIcmpUnreachable(pkt, last, out), 0u);
  pkt.reassembled = false;  // the same packet whole is answered
  EXPECT_GT(BuildDnsRefusal(pkt, 5, out), 0u);
}

TEST(ReplyBuilderTest, EmptyDecodedPacketGetsNoReply) {
  const DecodedPacket none;
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(BuildTcpReset(none, out), 0u);
  EXPECT_EQ(BuildTcpAck(none, 1, 1, out), 0u);
  EXPECT_EQ(BuildIcmpUnreachable(none, {}, out), 0u);
  EXPECT_EQ(BuildDnsRefusal(none, 5, out), 0u);
}

// Every prefix and every single-byte corruption of valid inputs: no crash,
// and whatever is built is a well-formed packet with valid checksums.
TEST(ReplyBuilderTest, TruncatedAndCorruptedInputsAreSafe) {
  std::vector<Bytes> inputs;
  for (const bool v6 : {false, true}) {
    inputs.push_back(Tcp(v6, 0x02, 1, 0, 0));
    inputs.push_back(Tcp(v6, 0x11, 1, 2, 40));
    inputs.push_back(Udp(v6, 53, DnsQuery()));
    inputs.push_back(Udp(v6, 9999, Bytes(700, 'z')));
  }
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  PacketDecoder decoder;  // one for all inputs: a decoder per input is slow
  auto check = [&](const Bytes& in) {
    RawPacket raw;
    raw.link = LinkType::kRaw;
    raw.data = in;
    raw.wire_length = static_cast<std::uint32_t>(in.size());
    DecodedPacket pkt;
    if (decoder.Decode(raw, &pkt) != DecodeStatus::kOk) return;  // dropped, no reply
    for (int kind = 0; kind < 4; ++kind) {
      const std::size_t n = kind == 0   ? BuildTcpReset(pkt, out)
                            : kind == 1 ? BuildIcmpUnreachable(pkt, in, out)
                            : kind == 2 ? BuildDnsRefusal(pkt, 5, out)
                                        : BuildTcpAck(pkt, 9, 1024, out);
      ASSERT_LE(n, out.size());
      if (n == 0) continue;
      const Bytes reply(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
      if ((reply[0] >> 4) == 4) {
        ASSERT_TRUE(Ipv4HeaderChecksumOk(reply));
      }
      ASSERT_TRUE(TransportChecksumOk(reply)) << "kind " << kind;
    }
  };
  for (const Bytes& in : inputs) {
    for (std::size_t len = 0; len <= in.size(); ++len)
      check(Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(len)));
    for (std::size_t i = 0; i < std::min<std::size_t>(in.size(), 120); ++i) {
      for (const std::uint8_t v : {0x00, 0xff, 0x3f, 0xc0}) {
        Bytes bad = in;
        bad[i] = v;
        check(bad);
      }
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng() % 200);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (!junk.empty()) junk[0] = (i % 2 == 0) ? 0x45 : 0x60;
    check(junk);
  }
}

}  // namespace
}  // namespace flightwall::reply_test
