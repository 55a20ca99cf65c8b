#include "decode/packet_decoder.h"

#include <gtest/gtest.h>

#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;

RawPacket Raw(LinkType link, const Bytes& frame, Timestamp time = 1000, std::uint64_t number = 1) {
  RawPacket raw;
  raw.number = number;
  raw.time = time;
  raw.link = link;
  raw.wire_length = static_cast<std::uint32_t>(frame.size());
  raw.data = frame;
  return raw;
}

Bytes Payload(const DecodedPacket& d) { return Bytes(d.payload.begin(), d.payload.end()); }

TEST(PacketDecoderTest, EthernetVlanIpv4OptionsTcp) {
  const Bytes frame =
      testing::Ethernet(0x0800,
                        testing::Ipv4("192.0.2.10", "198.51.100.20", 6,
                                      testing::Tcp(50000, 443, tcp_flags::kPsh | tcp_flags::kAck,
                                                   testing::Text("GET"), 7, 9, Bytes{1, 1, 1, 0}),
                                      testing::Ipv4Options().Ttl(42).Options(Bytes{1, 1, 1, 0})),
                        {{0x8100, 5}});
  PacketDecoder decoder;
  DecodedPacket d;
  ASSERT_EQ(decoder.Decode(Raw(LinkType::kEthernet, frame, 5555, 17), &d), DecodeStatus::kOk)
      << decoder.LastError();
  EXPECT_EQ(d.number, 17u);
  EXPECT_EQ(d.time, 5555);
  EXPECT_EQ(d.src, testing::Addr("192.0.2.10"));
  EXPECT_EQ(d.dst, testing::Addr("198.51.100.20"));
  EXPECT_EQ(d.protocol, 6);
  EXPECT_EQ(d.ttl, 42);
  EXPECT_EQ(d.ip_length, 24u + 24u + 3u);
  EXPECT_EQ(d.src_port, 50000);
  EXPECT_EQ(d.dst_port, 443);
  EXPECT_EQ(d.tcp_flags_value, tcp_flags::kPsh | tcp_flags::kAck);
  EXPECT_EQ(Payload(d), testing::Text("GET"));
  EXPECT_EQ(d.payload_length, 3u);
  EXPECT_EQ(d.transport_offset, 24u);  // IPv4 header with 4 bytes of options
  EXPECT_FALSE(d.reassembled);
  EXPECT_EQ(decoder.Stats().packets, 1u);
}

// Replies need the declared lengths: a reset acknowledges every byte sent,
// and an ICMP error quotes the headers up to the transport header.
TEST(PacketDecoderTest, CutCaptureKeepsDeclaredPayloadLengthAndTransportOffset) {
  const Bytes tcp = testing::Ipv4("192.0.2.10", "198.51.100.20", 6,
                                  testing::Tcp(50000, 443, tcp_flags::kAck, Bytes(500, 'x')));
  PacketDecoder decoder;
  DecodedPacket d;
  ASSERT_EQ(decoder.Decode(Raw(LinkType::kRaw, Bytes(tcp.begin(), tcp.begin() + 60)), &d),
            DecodeStatus::kOk);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(d.payload.size(), 20u);
  EXPECT_EQ(d.payload_length, 500u);
  EXPECT_EQ(d.transport_offset, 20u);

  const Bytes udp =
      testing::Ipv6("2001:db8::1", "2001:db8::2", 60,
                    testing::Ipv6Ext(17, 0, testing::Udp(40000, 53, Bytes(100, 'q'))));
  ASSERT_EQ(decoder.Decode(Raw(LinkType::kRaw, Bytes(udp.begin(), udp.begin() + 70)), &d),
            DecodeStatus::kOk);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(d.payload.size(), 14u);
  EXPECT_EQ(d.payload_length, 100u);
  EXPECT_EQ(d.transport_offset, 48u);  // IPv6 header and destination options
}

TEST(PacketDecoderTest, EthernetPaddingDoesNotBecomeUdpPayload) {
  Bytes frame = testing::Ethernet(
      0x0800, testing::Ipv4("10.0.0.1", "10.0.0.2", 17, testing::Udp(1, 53, testing::Text("q"))));
  frame.resize(60, 0xaa);
  PacketDecoder decoder;
  DecodedPacket d;
  ASSERT_EQ(decoder.Decode(Raw(LinkType::kEthernet, frame), &d), DecodeStatus::kOk);
  EXPECT_EQ(Payload(d), testing::Text("q"));
}

TEST(PacketDecoderTest, NotIpAndUnsupportedAreCounted) {
  PacketDecoder decoder;
  DecodedPacket d;
  const Bytes arp = testing::Ethernet(0x0806, Bytes(28, 0));
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kEthernet, arp), &d), DecodeStatus::kNotIp);
  const Bytes wifi(40, 0);
  EXPECT_EQ(decoder.Decode(Raw(static_cast<LinkType>(105), wifi), &d), DecodeStatus::kUnsupported);
  EXPECT_EQ(decoder.LastError(), "link type not supported");
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kRaw, Bytes{0x45, 0}), &d), DecodeStatus::kMalformed);
  EXPECT_EQ(decoder.LastError(), "IPv4 header truncated");
  EXPECT_EQ(decoder.Stats().not_ip, 1u);
  EXPECT_EQ(decoder.Stats().unsupported, 1u);
  EXPECT_EQ(decoder.Stats().malformed, 1u);
  EXPECT_EQ(decoder.Stats().packets, 3u);
}

TEST(PacketDecoderTest, Ipv4FragmentsReassembleIntoUdp) {
  const Bytes udp = testing::Udp(4000, 53, Bytes(3000, 0x5a));
  const std::uint32_t cut[] = {0, 1480, 2960, static_cast<std::uint32_t>(udp.size())};
  std::vector<Bytes> frames;
  for (int i = 0; i < 3; ++i) {
    const Bytes piece(udp.begin() + cut[i], udp.begin() + cut[i + 1]);
    frames.push_back(testing::Ethernet(
        0x0800, testing::Ipv4("192.0.2.1", "192.0.2.2", 17, piece,
                              testing::Ipv4Options().Id(99).More(i < 2).Offset(cut[i]).Ttl(
                                  static_cast<std::uint8_t>(60 + i)))));
  }
  PacketDecoder decoder;
  DecodedPacket d;
  // Out of order: last, first, middle.
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kEthernet, frames[2]), &d), DecodeStatus::kHeld);
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kEthernet, frames[0]), &d), DecodeStatus::kHeld);
  ASSERT_EQ(decoder.Decode(Raw(LinkType::kEthernet, frames[1], 2000, 3), &d), DecodeStatus::kOk)
      << decoder.LastError();
  EXPECT_TRUE(d.reassembled);
  EXPECT_EQ(d.number, 3u);
  EXPECT_EQ(d.src_port, 4000);
  EXPECT_EQ(d.dst_port, 53);
  EXPECT_EQ(d.ttl, 60);
  EXPECT_EQ(d.ip_length, 20u + udp.size());
  EXPECT_EQ(Payload(d), Bytes(3000, 0x5a));
  EXPECT_EQ(decoder.Stats().fragments, 3u);
  EXPECT_EQ(decoder.Stats().reassembled, 1u);
}

TEST(PacketDecoderTest, Ipv6FragmentsWithExtensionHeadersAfterTheFragmentHeader) {
  // Fragmentable part: destination options, then UDP.
  const Bytes fragmentable = testing::Ipv6Ext(17, 0, testing::Udp(5353, 5353, Bytes(2000, 3)));
  const std::uint32_t split = 1232;
  const Bytes first(fragmentable.begin(), fragmentable.begin() + split);
  const Bytes second(fragmentable.begin() + split, fragmentable.end());
  auto frame = [&](std::uint32_t offset, bool more, const Bytes& data) {
    // Hop-by-hop before the fragment header belongs to the unfragmentable part.
    return testing::Ethernet(
        0x86dd,
        testing::Ipv6("fe80::1", "ff02::fb", 0,
                      testing::Ipv6Ext(44, 0, testing::Ipv6Fragment(60, offset, more, 0x77, data)),
                      255));
  };
  PacketDecoder decoder;
  DecodedPacket d;
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kEthernet, frame(split, false, second)), &d),
            DecodeStatus::kHeld);
  ASSERT_EQ(decoder.Decode(Raw(LinkType::kEthernet, frame(0, true, first)), &d), DecodeStatus::kOk)
      << decoder.LastError();
  EXPECT_TRUE(d.reassembled);
  EXPECT_EQ(d.protocol, 17);
  EXPECT_EQ(d.src_port, 5353);
  EXPECT_EQ(d.ttl, 255);
  EXPECT_EQ(d.payload.size(), 2000u);
  EXPECT_EQ(d.ip_length, 40u + 8u + 8u + fragmentable.size());
  EXPECT_EQ(d.transport_offset, 40u + 8u + 8u + 8u);  // hop-by-hop, fragment, destination
  EXPECT_EQ(d.payload_length, 2000u);
}

TEST(PacketDecoderTest, ConflictingFragmentsAreMalformedAndCounted) {
  PacketDecoder decoder;
  DecodedPacket d;
  auto frag = [](std::uint8_t fill, std::uint32_t offset, bool more) {
    return testing::Ipv4("192.0.2.1", "192.0.2.2", 17, Bytes(16, fill),
                         testing::Ipv4Options().Id(5).More(more).Offset(offset));
  };
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kRaw, frag(1, 0, true)), &d), DecodeStatus::kHeld);
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kRaw, frag(2, 8, true)), &d), DecodeStatus::kMalformed);
  EXPECT_EQ(decoder.LastError(), "IP fragments overlap with different data");
  EXPECT_EQ(decoder.Stats().fragment_overlaps, 1u);
}

TEST(PacketDecoderTest, PingOfDeathIsMalformed) {
  // Offset 65528 + 8 bytes of data + 20 header bytes > 65535.
  const Bytes f =
      testing::Ipv4("192.0.2.1", "192.0.2.2", 1, Bytes(8, 0), testing::Ipv4Options().Offset(65528));
  PacketDecoder decoder;
  DecodedPacket d;
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kRaw, f), &d), DecodeStatus::kMalformed);
  EXPECT_EQ(decoder.LastError(), "IPv4 fragment ends beyond 65535 bytes");
}

TEST(PacketDecoderTest, FragmentLimitsEvictAndCount) {
  DecoderLimits limits;
  limits.max_datagrams_in_reassembly = 2;
  limits.fragment_timeout = kMicrosPerSecond;
  PacketDecoder decoder(limits);
  DecodedPacket d;
  for (std::uint16_t id = 1; id <= 3; ++id) {
    const Bytes f = testing::Ipv4("192.0.2.1", "192.0.2.2", 17, Bytes(8, 0),
                                  testing::Ipv4Options().Id(id).More());
    EXPECT_EQ(decoder.Decode(Raw(LinkType::kRaw, f, 0), &d), DecodeStatus::kHeld);
  }
  EXPECT_EQ(decoder.Stats().fragment_evictions, 1u);
  const Bytes late =
      testing::Ipv4("192.0.2.1", "192.0.2.2", 17, Bytes(8, 0), testing::Ipv4Options().Id(9).More());
  EXPECT_EQ(decoder.Decode(Raw(LinkType::kRaw, late, 5 * kMicrosPerSecond), &d),
            DecodeStatus::kHeld);
  EXPECT_EQ(decoder.Stats().fragment_evictions, 3u) << "both held datagrams timed out";
}

TEST(PacketDecoderTest, IcmpErrorAboutUdpOverBsdNull) {
  const Bytes quoted =
      testing::Ipv4("10.1.1.1", "8.8.8.8", 17, testing::Udp(33000, 53, Bytes(30, 0)));
  const Bytes frame = testing::NullLittleEndian(
      2, testing::Ipv4("10.1.1.254", "10.1.1.1", 1,
                       testing::Icmp(3, 3, 0, 0, Bytes(quoted.begin(), quoted.begin() + 28))));
  PacketDecoder decoder;
  DecodedPacket d;
  ASSERT_EQ(decoder.Decode(Raw(LinkType::kNull, frame), &d), DecodeStatus::kOk);
  EXPECT_TRUE(d.icmp_is_error);
  EXPECT_EQ(d.icmp_type, 3);
  EXPECT_EQ(d.icmp_code, 3);
  ASSERT_TRUE(d.icmp_quoted.present);
  EXPECT_EQ(d.icmp_quoted.dst, testing::Addr("8.8.8.8"));
  EXPECT_EQ(d.icmp_quoted.dst_port, 53);
}

// For every prefix of a valid frame: no crash, kMalformed while a header is
// cut, then kOk from the first length that holds every header (payload and
// IP length may be short: that is a snap length, not an error).
TEST(PacketDecoderTest, EveryPrefixIsMalformedThenOk) {
  const struct {
    const char* name;
    LinkType link;
    Bytes frame;
    std::size_t headers;
  } cases[] = {
      {"ethernet qinq ipv4 options tcp options", LinkType::kEthernet,
       testing::Ethernet(
           0x0800,
           testing::Ipv4("10.0.0.1", "10.0.0.2", 6,
                         testing::Tcp(1, 2, 0, testing::Text("data"), 0, 0, Bytes{1, 1, 1, 1}),
                         testing::Ipv4Options().Options(Bytes{1, 1, 1, 0})),
           {{0x88a8, 1}, {0x8100, 2}}),
       22 + 24 + 24},
      {"sll2 ipv6 hop-by-hop destination options udp", LinkType::kLinuxSll2,
       testing::Sll2(
           0x86dd,
           testing::Ipv6(
               "2001:db8::1", "2001:db8::2", 0,
               testing::Ipv6Ext(60, 0, testing::Ipv6Ext(17, 1, testing::Udp(1, 2, Bytes(9, 1)))))),
       20 + 40 + 8 + 16 + 8},
      {"sll ipv4 icmp error", LinkType::kLinuxSll,
       testing::Sll(0x0800, testing::Ipv4("10.0.0.1", "10.0.0.2", 1,
                                          testing::Icmp(11, 0, 0, 0,
                                                        testing::Ipv4("10.0.0.2", "1.1.1.1", 6,
                                                                      Bytes(8, 0))))),
       16 + 20 + 8},
      {"raw ipv6 icmpv6 echo", LinkType::kRaw,
       testing::Ipv6("2001:db8::1", "2001:db8::2", 58, testing::Icmp(128, 0, 1, 1, Bytes(20, 0))),
       40 + 8},
      {"loop ipv4 udp", LinkType::kLoop,
       testing::BigEndianFamily(
           2, testing::Ipv4("10.0.0.1", "10.0.0.2", 17, testing::Udp(1, 2, Bytes(5, 0)))),
       4 + 20 + 8},
  };
  for (const auto& c : cases) {
    PacketDecoder decoder;
    DecodedPacket d;
    for (std::size_t n = 0; n <= c.frame.size(); ++n) {
      const Bytes prefix(c.frame.begin(), c.frame.begin() + static_cast<std::ptrdiff_t>(n));
      RawPacket raw = Raw(c.link, prefix);
      raw.wire_length = static_cast<std::uint32_t>(c.frame.size());
      const DecodeStatus status = decoder.Decode(raw, &d);
      const DecodeStatus expected = n < c.headers ? DecodeStatus::kMalformed : DecodeStatus::kOk;
      EXPECT_EQ(status, expected) << c.name << ", prefix " << n << ": " << decoder.LastError();
      if (status == DecodeStatus::kMalformed) {
        EXPECT_FALSE(decoder.LastError().empty());
      }
      if (status == DecodeStatus::kOk) {
        EXPECT_EQ(d.truncated, n < c.frame.size()) << c.name << ", prefix " << n;
      }
    }
  }
}

}  // namespace
}  // namespace flightwall
