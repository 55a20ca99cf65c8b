// ParseDnsMessage / DnsTcpReassembler on bytes a real resolver produced, so
// the parser is checked against a compressor we did not write.
//
// How the bytes were produced (dnsmasq 2.90, DiG 9.18, on loopback only):
//   dnsmasq --no-daemon --port 5399 --listen-address=127.0.0.1 --bind-interfaces
//     --no-resolv --no-hosts --local-ttl=300
//     --address=/tiles.example/198.51.100.10
//     --host-record=edge.cdn.example,203.0.113.7,2001:db8::7
//     --cname=Maps.Example,cdn.example --cname=cdn.example,edge.cdn.example
//   (one command line)
//   tcpdump -i lo -w dns.pcap 'port 5399'
//   dig @127.0.0.1 -p 5399 +noedns tiles.example A
//   dig @127.0.0.1 -p 5399 +noedns MAPS.example AAAA
//   dig @127.0.0.1 -p 5399 +tcp +noedns maps.example A
//   dig @127.0.0.1 -p 5399 +noedns nothere.invalid A
// then the UDP/TCP payloads were copied out of dns.pcap as hex.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "proto/dns_parser.h"

namespace flightwall {
namespace {

std::vector<std::uint8_t> FromHex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  auto nibble = [](char c) { return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

// dig tiles.example A: query, then the answer with one compressed A record.
constexpr std::string_view kTilesQuery =
    "4537012000010000000000000574696c6573076578616d706c650000010001";
constexpr std::string_view kTilesResponse =
    "4537858000010001000000000574696c6573076578616d706c650000010001c00c0001"
    "00010000012c0004c633640a";
// dig MAPS.example AAAA: the query keeps dig's upper case; dnsmasq answers
// with a two-step CNAME chain (targets written uncompressed, owners as
// pointers) ending in an AAAA.
constexpr std::string_view kMapsAaaaResponse =
    "4d0285800001000300000000044d415053076578616d706c6500001c0001c00c000500"
    "010000012c000d0363646e076578616d706c6500c02a000500010000012c0012046564"
    "67650363646e076578616d706c6500c043001c00010000012c001020010db800000000"
    "0000000000000007";
// dig +tcp maps.example A: both directions of the TCP stream, length
// prefixes included.
constexpr std::string_view kTcpQueryStream =
    "001eee2401200001000000000000046d617073076578616d706c650000010001";
constexpr std::string_view kTcpResponseStream =
    "0065ee2485800001000300000000046d617073076578616d706c650000010001c00c00"
    "0500010000012c000d0363646e076578616d706c6500c02a000500010000012c001204"
    "656467650363646e076578616d706c6500c043000100010000012c0004cb007107";
// dig nothere.invalid A: REFUSED, no answers.
constexpr std::string_view kRefusedResponse =
    "7e7581850001000000000000076e6f746865726507696e76616c69640000010001";

TEST(DnsCapturedMessagesTest, Query) {
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(FromHex(kTilesQuery), &m), ParseStatus::kOk);
  EXPECT_EQ(m.id, 0x4537);
  EXPECT_FALSE(m.is_response);
  ASSERT_EQ(m.questions_stored, 1u);
  EXPECT_EQ(m.questions[0].name.View(), "tiles.example");
  EXPECT_EQ(m.questions[0].qtype, dns_type::kA);
}

TEST(DnsCapturedMessagesTest, SingleAddressAnswer) {
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(FromHex(kTilesResponse), &m), ParseStatus::kOk);
  EXPECT_TRUE(m.is_response);
  ASSERT_EQ(m.answers_stored, 1u);
  EXPECT_EQ(m.answers[0].owner.View(), "tiles.example");
  EXPECT_EQ(m.answers[0].ttl, 300u);
  EXPECT_EQ(m.answers[0].address, *IpAddress::Parse("198.51.100.10"));
}

TEST(DnsCapturedMessagesTest, CnameChainToAaaaWithUpperCaseQuestion) {
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(FromHex(kMapsAaaaResponse), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.View(), "maps.example");
  ASSERT_EQ(m.answers_stored, 3u);
  EXPECT_EQ(m.answers[0].owner.View(), "maps.example");  // pointer to "MAPS.example"
  EXPECT_EQ(m.answers[0].cname_target.View(), "cdn.example");
  EXPECT_EQ(m.answers[1].owner.View(), "cdn.example");
  EXPECT_EQ(m.answers[1].cname_target.View(), "edge.cdn.example");
  EXPECT_EQ(m.answers[2].owner.View(), "edge.cdn.example");
  EXPECT_EQ(m.answers[2].type, dns_type::kAaaa);
  EXPECT_EQ(m.answers[2].address, *IpAddress::Parse("2001:db8::7"));
}

TEST(DnsCapturedMessagesTest, RefusedHasNoAnswers) {
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(FromHex(kRefusedResponse), &m), ParseStatus::kOk);
  EXPECT_EQ(m.rcode, 5);
  EXPECT_EQ(m.answers_stored, 0u);
  EXPECT_EQ(m.questions[0].name.View(), "nothere.invalid");
}

TEST(DnsCapturedMessagesTest, TcpStreamsThroughReassembler) {
  auto reassembler = std::make_unique<DnsTcpReassembler>();
  std::span<const std::uint8_t> message;
  DnsMessage m;

  const auto query = FromHex(kTcpQueryStream);
  ASSERT_TRUE(reassembler->Append(query));
  ASSERT_TRUE(reassembler->Next(&message));
  ASSERT_EQ(ParseDnsMessage(message, &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.View(), "maps.example");
  EXPECT_FALSE(reassembler->Next(&message));

  // The response direction, delivered in two segments cut mid-record.
  auto response_reassembler = std::make_unique<DnsTcpReassembler>();
  const auto response = FromHex(kTcpResponseStream);
  const std::span<const std::uint8_t> bytes(response);
  ASSERT_TRUE(response_reassembler->Append(bytes.first(50)));
  EXPECT_FALSE(response_reassembler->Next(&message));
  ASSERT_TRUE(response_reassembler->Append(bytes.subspan(50)));
  ASSERT_TRUE(response_reassembler->Next(&message));
  ASSERT_EQ(ParseDnsMessage(message, &m), ParseStatus::kOk);
  ASSERT_EQ(m.answers_stored, 3u);
  EXPECT_EQ(m.answers[2].address, *IpAddress::Parse("203.0.113.7"));
}

TEST(DnsCapturedMessagesTest, EveryTruncationOfRealResponsesIsRejected) {
  for (const std::string_view hex : {kTilesResponse, kMapsAaaaResponse, kRefusedResponse}) {
    const auto whole = FromHex(hex);
    for (std::size_t n = 0; n < whole.size(); ++n) {
      const std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + static_cast<long>(n));
      DnsMessage m;
      EXPECT_EQ(ParseDnsMessage(cut, &m), n < 12 ? ParseStatus::kNotMine : ParseStatus::kMalformed)
          << hex << " cut at " << n;
    }
  }
}

}  // namespace
}  // namespace flightwall
