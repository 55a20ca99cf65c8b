#include "proto/dns_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// GCC 12 at -O3 reports a false -Wrestrict on `"text" + std::to_string(n)`
// (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace flightwall {
namespace {

// Builds DNS messages byte by byte so each test shows the wire layout it
// exercises (offsets matter for compression pointers).
class DnsBuilder {
 public:
  DnsBuilder& Header(std::uint16_t id, std::uint16_t flags, std::uint16_t qdcount,
                     std::uint16_t ancount) {
    U16(id).U16(flags).U16(qdcount).U16(ancount).U16(0).U16(0);
    return *this;
  }
  DnsBuilder& U8(std::uint8_t v) {
    bytes.push_back(v);
    return *this;
  }
  DnsBuilder& U16(std::uint16_t v) { return U8(static_cast<std::uint8_t>(v >> 8)).U8(v & 0xFF); }
  DnsBuilder& U32(std::uint32_t v) {
    return U16(static_cast<std::uint16_t>(v >> 16)).U16(v & 0xFFFF);
  }
  DnsBuilder& Raw(std::string_view s) {
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  // Labels of a dotted name, without the terminating root label.
  DnsBuilder& Labels(std::string_view name) {
    while (!name.empty()) {
      const std::size_t dot = name.find('.');
      const std::string_view label = name.substr(0, dot);
      U8(static_cast<std::uint8_t>(label.size())).Raw(label);
      if (dot == std::string_view::npos) break;
      name.remove_prefix(dot + 1);
    }
    return *this;
  }
  DnsBuilder& Name(std::string_view name) { return Labels(name).U8(0); }
  DnsBuilder& Pointer(std::size_t offset) {
    return U16(static_cast<std::uint16_t>(0xC000 | offset));
  }
  DnsBuilder& Question(std::string_view name, std::uint16_t qtype) {
    return Name(name).U16(qtype).U16(1);
  }
  // Record fields after the owner name.
  DnsBuilder& RecordHead(std::uint16_t type, std::uint32_t ttl, std::uint16_t rdlength,
                         std::uint16_t rclass = 1) {
    return U16(type).U16(rclass).U32(ttl).U16(rdlength);
  }
  std::size_t Size() const { return bytes.size(); }

  std::vector<std::uint8_t> bytes;
};

constexpr std::uint16_t kQueryFlags = 0x0100;     // RD
constexpr std::uint16_t kResponseFlags = 0x8180;  // QR RD RA

// tiles.example A? -> tiles.example CNAME cdn.tiles.example,
// cdn.tiles.example CNAME edge.cdn.tiles.example, edge... A 198.51.100.10,
// every later name compressed against an earlier one.
DnsBuilder CnameChainResponse() {
  DnsBuilder b;
  b.Header(0xBEEF, kResponseFlags, 1, 3);
  b.Question("Tiles.Example", dns_type::kA);  // name at offset 12
  b.Pointer(12).RecordHead(dns_type::kCname, 300, 6);
  const std::size_t cdn = b.Size();
  b.Labels("cdn").Pointer(12);  // cdn.tiles.example
  b.Pointer(cdn).RecordHead(dns_type::kCname, 300, 7);
  const std::size_t edge = b.Size();
  b.Labels("edge").Pointer(cdn);  // edge.cdn.tiles.example: two hops
  b.Pointer(edge).RecordHead(dns_type::kA, 60, 4).U8(198).U8(51).U8(100).U8(10);
  return b;
}

TEST(DnsParserTest, QueryIsLowerCasedWithoutTrailingDot) {
  DnsBuilder b;
  b.Header(0x1234, kQueryFlags, 1, 0).Question("WWW.Example.COM", dns_type::kAaaa);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_FALSE(m.is_response);
  EXPECT_EQ(m.question_count, 1);
  ASSERT_EQ(m.questions_stored, 1u);
  EXPECT_EQ(m.questions[0].name.View(), "www.example.com");
  EXPECT_EQ(m.questions[0].qtype, dns_type::kAaaa);
  EXPECT_EQ(m.questions[0].qclass, 1);
  EXPECT_EQ(m.answers_stored, 0u);
}

TEST(DnsParserTest, CnameChainWithCompression) {
  const DnsBuilder b = CnameChainResponse();
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_TRUE(m.is_response);
  EXPECT_EQ(m.rcode, 0);
  ASSERT_EQ(m.answers_stored, 3u);
  EXPECT_EQ(m.answers[0].owner.View(), "tiles.example");
  EXPECT_EQ(m.answers[0].type, dns_type::kCname);
  EXPECT_EQ(m.answers[0].cname_target.View(), "cdn.tiles.example");
  EXPECT_EQ(m.answers[1].owner.View(), "cdn.tiles.example");
  EXPECT_EQ(m.answers[1].cname_target.View(), "edge.cdn.tiles.example");
  EXPECT_EQ(m.answers[2].owner.View(), "edge.cdn.tiles.example");
  EXPECT_EQ(m.answers[2].type, dns_type::kA);
  EXPECT_EQ(m.answers[2].ttl, 60u);
  EXPECT_EQ(m.answers[2].address, *IpAddress::Parse("198.51.100.10"));
  EXPECT_EQ(m.malformed_answers, 0u);
}

TEST(DnsParserTest, AaaaAnswer) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 1).Question("v6.example", dns_type::kAaaa);
  b.Pointer(12).RecordHead(dns_type::kAaaa, 120, 16);
  for (const std::uint8_t v : {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}) b.U8(v);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  ASSERT_EQ(m.answers_stored, 1u);
  EXPECT_EQ(m.answers[0].address, *IpAddress::Parse("2001:db8::1"));
  EXPECT_TRUE(m.answers[0].address.IsV6());
  EXPECT_EQ(m.answers[0].ttl, 120u);
}

TEST(DnsParserTest, FlagsRcodeAndTruncationBit) {
  DnsBuilder b;
  b.Header(7, 0x8383, 1, 0).Question("missing.example", dns_type::kA);  // TC, NXDOMAIN
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_TRUE(m.truncated);
  EXPECT_EQ(m.rcode, 3);
  EXPECT_EQ(m.opcode, 0);
}

TEST(DnsParserTest, RootNameIsEmpty) {
  DnsBuilder b;
  b.Header(1, kQueryFlags, 1, 0).U8(0).U16(2).U16(1);  // ". NS"
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  ASSERT_EQ(m.questions_stored, 1u);
  EXPECT_TRUE(m.questions[0].name.Empty());
}

TEST(DnsParserTest, BinaryLabelBytesAreKeptAndOnlyAsciiLowerCased) {
  DnsBuilder b;
  b.Header(1, kQueryFlags, 1, 0);
  b.U8(6).U8(0x00).U8(0xFF).U8('.').U8('A').U8(0xC4).U8('z').Labels("T.example").U8(0);
  b.U16(dns_type::kA).U16(1);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  const std::string expected{'\x00', '\xFF', '.', 'a', '\xC4', 'z', '.', 't',
                             '.',    'e',    'x', 'a', 'm',    'p', 'l', 'e'};
  EXPECT_EQ(m.questions[0].name.Str(), expected);
}

TEST(DnsParserTest, SelfPointerIsMalformed) {
  DnsBuilder b;
  b.Header(1, kQueryFlags, 1, 0).Pointer(12).U16(1).U16(1);
  DnsMessage m;
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed);
  EXPECT_EQ(m.questions_stored, 0u);
}

TEST(DnsParserTest, ForwardPointerIsMalformed) {
  DnsBuilder b;
  b.Header(1, kQueryFlags, 1, 0).Pointer(18).U16(1).U16(1).Name("later.example");
  DnsMessage m;
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed);
}

TEST(DnsParserTest, LabelThenPointerBackToItIsALoop) {
  // "a" at 12, then a pointer at 14 to 12: each pointer goes backwards, yet
  // the walk would repeat forever without the jump cap / length limit.
  DnsBuilder b;
  b.Header(1, kQueryFlags, 1, 0).Labels("a").Pointer(12).U16(1).U16(1);
  DnsMessage m;
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed);
}

TEST(DnsParserTest, CycleThroughTwoLabelsIsALoop) {
  // A TXT record hides "b" "c" and a pointer back to "b"; the next record's
  // owner points into it. Every pointer goes backwards, the walk still cycles.
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 2).Question("q.example", dns_type::kA);
  b.Pointer(12).RecordHead(16, 0, 6);
  const std::size_t p = b.Size();
  b.Labels("b").Labels("c").Pointer(p);
  b.Pointer(p).RecordHead(dns_type::kA, 0, 4).U32(0x01020304);
  DnsMessage m;
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed);
  EXPECT_EQ(m.questions_stored, 1u);
}

TEST(DnsParserTest, LongBackwardPointerChainHitsJumpCap) {
  for (const int hops : {10, 70}) {
    DnsBuilder b;
    b.Header(1, kResponseFlags, 1, 2).Question("q.example", dns_type::kA);
    b.Pointer(12).RecordHead(16, 0, static_cast<std::uint16_t>(2 * hops));  // TXT holding pointers
    std::size_t previous = 12;
    for (int i = 0; i < hops; ++i) {
      const std::size_t here = b.Size();
      b.Pointer(previous);
      previous = here;
    }
    b.Pointer(previous).RecordHead(dns_type::kA, 0, 4).U32(0x01020304);
    DnsMessage m;
    const ParseStatus status = ParseDnsMessage(b.bytes, &m);
    if (hops == 10) {
      ASSERT_EQ(status, ParseStatus::kOk);
      ASSERT_EQ(m.answers_stored, 1u);
      EXPECT_EQ(m.answers[0].owner.View(), "q.example");
    } else {
      EXPECT_EQ(status, ParseStatus::kMalformed);
    }
  }
}

// Wire length of a name with three 63-byte labels and one of `last` bytes:
// 3 * 64 + (last + 1) + 1.
std::vector<std::uint8_t> QueryWithLongName(std::size_t last) {
  DnsBuilder b;
  b.Header(1, kQueryFlags, 1, 0);
  for (int i = 0; i < 3; ++i) b.U8(63).Raw(std::string(63, 'a'));
  b.U8(static_cast<std::uint8_t>(last)).Raw(std::string(last, 'b')).U8(0).U16(1).U16(1);
  return b.bytes;
}

TEST(DnsParserTest, NameOf255BytesIsAcceptedAnd256Rejected) {
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(QueryWithLongName(61), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.Size(), 3u * 64 + 61);
  EXPECT_EQ(ParseDnsMessage(QueryWithLongName(62), &m), ParseStatus::kMalformed);
}

TEST(DnsParserTest, NameLengthCountsAcrossPointers) {
  // 200 wire bytes in the question, then 59 more in front via a pointer.
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 1);
  for (int i = 0; i < 3; ++i) b.U8(63).Raw(std::string(63, 'a'));
  b.U8(6).Raw("tunnel").U8(0).U16(1).U16(1);  // 3*64 + 7 + 1 = 200
  b.U8(58).Raw(std::string(58, 'c')).Pointer(12).RecordHead(dns_type::kA, 0, 4).U32(1);
  DnsMessage m;
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed);  // 259 bytes
  EXPECT_EQ(m.questions_stored, 1u);
}

TEST(DnsParserTest, ReservedLabelTypesAreMalformed) {
  for (const std::uint8_t type : {0x40, 0x80, 0x7F, 0xBF}) {
    DnsBuilder b;
    b.Header(1, kQueryFlags, 1, 0).U8(type).Raw(std::string(70, 'x')).U8(0).U16(1).U16(1);
    DnsMessage m;
    EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed) << int{type};
  }
}

TEST(DnsParserTest, TruncatedAtEveryByteNeverCrashes) {
  const DnsBuilder b = CnameChainResponse();
  const std::size_t question_end = 12 + 15 + 4;
  for (std::size_t n = 0; n < b.Size(); ++n) {
    // A copy of exactly n bytes so ASan sees any read past the end.
    const std::vector<std::uint8_t> cut(b.bytes.begin(), b.bytes.begin() + static_cast<long>(n));
    DnsMessage m;
    const ParseStatus status = ParseDnsMessage(cut, &m);
    EXPECT_EQ(status, n < 12 ? ParseStatus::kNotMine : ParseStatus::kMalformed) << n;
    EXPECT_EQ(m.questions_stored, n >= question_end ? 1u : 0u) << n;
    EXPECT_LE(m.answers_stored, 2u) << n;
  }
}

TEST(DnsParserTest, RdlengthPastEndKeepsQuestion) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 1).Question("q.example", dns_type::kA);
  b.Pointer(12).RecordHead(dns_type::kA, 0, 400).U32(0x01020304);
  DnsMessage m;
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed);
  ASSERT_EQ(m.questions_stored, 1u);
  EXPECT_EQ(m.questions[0].name.View(), "q.example");
  EXPECT_EQ(m.answers_stored, 0u);
}

TEST(DnsParserTest, HugeQuestionCountKeepsWhatWasParsed) {
  DnsBuilder b;
  b.Header(1, kQueryFlags, 0xFFFF, 0xFFFF).Question("one.example", dns_type::kA);
  DnsMessage m;
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kMalformed);
  EXPECT_EQ(m.question_count, 0xFFFF);
  EXPECT_EQ(m.questions_stored, 1u);
}

TEST(DnsParserTest, ManyQuestionsAreWalkedButFewStored) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 6, 1);
  for (int i = 0; i < 6; ++i) b.Question("q" + std::to_string(i) + ".example", dns_type::kA);
  b.Name("a.example").RecordHead(dns_type::kA, 5, 4).U32(0x0A000001);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions_stored, DnsMessage::kMaxQuestions);
  EXPECT_EQ(m.questions[3].name.View(), "q3.example");
  ASSERT_EQ(m.answers_stored, 1u);
  EXPECT_EQ(m.answers[0].owner.View(), "a.example");
}

TEST(DnsParserTest, AnswersBeyondCapacityAreWalkedNotStored) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 40).Question("many.example", dns_type::kA);
  for (std::uint32_t i = 0; i < 40; ++i) b.Pointer(12).RecordHead(dns_type::kA, i, 4).U32(i);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_EQ(m.answer_count, 40);
  EXPECT_EQ(m.answers_stored, DnsMessage::kMaxAnswers);
  EXPECT_EQ(m.answers[31].ttl, 31u);
}

TEST(DnsParserTest, UnknownTypesAndOtherClassesAreSkipped) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 4).Question("mix.example", dns_type::kA);
  b.Pointer(12).RecordHead(16, 10, 5).Raw("\x04text");                    // TXT
  b.Pointer(12).RecordHead(dns_type::kA, 10, 4, 3).U32(0x7F000001);       // class CH
  b.Pointer(12).RecordHead(15, 10, 4).U16(10).Pointer(12);                // MX
  b.Pointer(12).RecordHead(dns_type::kA, 10, 4, 0x8001).U32(0xC0000201);  // mDNS flush
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  ASSERT_EQ(m.answers_stored, 1u);
  EXPECT_EQ(m.answers[0].address, *IpAddress::Parse("192.0.2.1"));
  EXPECT_EQ(m.malformed_answers, 0u);
}

TEST(DnsParserTest, BadRdataIsSkippedAndCounted) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 4).Question("bad.example", dns_type::kA);
  b.Pointer(12).RecordHead(dns_type::kA, 1, 5).U32(0x01020304).U8(5);       // A of 5 bytes
  b.Pointer(12).RecordHead(dns_type::kAaaa, 1, 4).U32(0x01020304);          // AAAA of 4
  b.Pointer(12).RecordHead(dns_type::kCname, 1, 5).Pointer(12).Raw("xyz");  // junk after name
  b.Pointer(12).RecordHead(dns_type::kA, 1, 4).U32(0x01020304);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_EQ(m.malformed_answers, 3u);
  ASSERT_EQ(m.answers_stored, 1u);
  EXPECT_EQ(m.answers[0].address, *IpAddress::Parse("1.2.3.4"));
}

TEST(DnsParserTest, CnameTargetRunningPastRdataIsBad) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 1).Question("q.example", dns_type::kA);
  b.Pointer(12).RecordHead(dns_type::kCname, 1, 3).Labels("abc").U8(0);  // name is 5 bytes
  DnsMessage m;
  // RDLENGTH 3 frames the record; the name would need 5. The 2 leftover
  // bytes lie after the (single-record) answer section and are not read.
  EXPECT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_EQ(m.malformed_answers, 1u);
  EXPECT_EQ(m.answers_stored, 0u);
}

TEST(DnsParserTest, TtlWithTopBitIsZero) {
  DnsBuilder b;
  b.Header(1, kResponseFlags, 1, 1).Question("q.example", dns_type::kA);
  b.Pointer(12).RecordHead(dns_type::kA, 0x80000001u, 4).U32(1);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_EQ(m.answers[0].ttl, 0u);
}

TEST(DnsParserTest, ReusedMessageIsReset) {
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(CnameChainResponse().bytes, &m), ParseStatus::kOk);
  DnsBuilder b;
  b.Header(2, kResponseFlags, 1, 1).Question("q.example", dns_type::kA);
  b.Pointer(12).RecordHead(dns_type::kA, 1, 4).U32(0x01020304);
  ASSERT_EQ(ParseDnsMessage(b.bytes, &m), ParseStatus::kOk);
  EXPECT_EQ(m.answers_stored, 1u);
  EXPECT_TRUE(m.answers[0].cname_target.Empty());  // slot 0 was a CNAME before
  EXPECT_EQ(ParseDnsMessage(std::vector<std::uint8_t>(5, 0), &m), ParseStatus::kNotMine);
  EXPECT_EQ(m.questions_stored, 0u);
  EXPECT_EQ(m.answers_stored, 0u);
}

// --- DNS over TCP -------------------------------------------------------

// Sized once, then filled: growing a 2-byte vector draws a false
// -Warray-bounds from GCC 12 at -O3 (GCC bug 107852).
std::vector<std::uint8_t> Framed(const std::vector<std::uint8_t>& message) {
  std::vector<std::uint8_t> out(2 + message.size());
  out[0] = static_cast<std::uint8_t>(message.size() >> 8);
  out[1] = static_cast<std::uint8_t>(message.size() & 0xFF);
  std::copy(message.begin(), message.end(), out.begin() + 2);
  return out;
}

std::span<const std::uint8_t> Slice(const std::vector<std::uint8_t>& v, std::size_t from,
                                    std::size_t to) {
  return std::span<const std::uint8_t>(v).subspan(from, to - from);
}

class DnsTcpReassemblerTest : public ::testing::Test {
 protected:
  // 64 KiB of inline buffer: kept off the stack.
  std::unique_ptr<DnsTcpReassembler> r_ = std::make_unique<DnsTcpReassembler>();
  std::span<const std::uint8_t> message_;
};

TEST_F(DnsTcpReassemblerTest, TwoMessagesInOneSegment) {
  const auto first = CnameChainResponse().bytes;
  DnsBuilder q;
  q.Header(9, kQueryFlags, 1, 0).Question("second.example", dns_type::kA);
  auto stream = Framed(first);
  const auto second = Framed(q.bytes);
  stream.insert(stream.end(), second.begin(), second.end());

  ASSERT_TRUE(r_->Append(stream));
  ASSERT_TRUE(r_->Next(&message_));
  EXPECT_EQ(std::vector<std::uint8_t>(message_.begin(), message_.end()), first);
  ASSERT_TRUE(r_->Next(&message_));
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(message_, &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.View(), "second.example");
  EXPECT_FALSE(r_->Next(&message_));
  EXPECT_EQ(r_->Pending(), 0u);
}

TEST_F(DnsTcpReassemblerTest, OneMessageInThreeSegments) {
  const auto stream = Framed(CnameChainResponse().bytes);
  ASSERT_TRUE(r_->Append(Slice(stream, 0, 10)));
  EXPECT_FALSE(r_->Next(&message_));
  ASSERT_TRUE(r_->Append(Slice(stream, 10, 40)));
  EXPECT_FALSE(r_->Next(&message_));
  ASSERT_TRUE(r_->Append(Slice(stream, 40, stream.size())));
  ASSERT_TRUE(r_->Next(&message_));
  EXPECT_EQ(message_.size(), stream.size() - 2);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(message_, &m), ParseStatus::kOk);
  EXPECT_EQ(m.answers_stored, 3u);
  EXPECT_FALSE(r_->Next(&message_));
}

TEST_F(DnsTcpReassemblerTest, LengthPrefixSplitBetweenSegments) {
  auto stream = Framed(CnameChainResponse().bytes);
  const auto again = stream;
  stream.insert(stream.end(), again.begin(), again.end());
  const std::size_t split = again.size() + 1;  // inside the second prefix
  ASSERT_TRUE(r_->Append(Slice(stream, 0, split)));
  ASSERT_TRUE(r_->Next(&message_));
  EXPECT_FALSE(r_->Next(&message_));
  EXPECT_EQ(r_->Pending(), 1u);
  ASSERT_TRUE(r_->Append(Slice(stream, split, stream.size())));
  ASSERT_TRUE(r_->Next(&message_));
  EXPECT_EQ(message_.size(), again.size() - 2);
}

TEST_F(DnsTcpReassemblerTest, EveryByteSeparately) {
  const auto first = Framed(CnameChainResponse().bytes);
  auto stream = first;
  stream.insert(stream.end(), first.begin(), first.end());
  int messages = 0;
  for (const std::uint8_t b : stream) {
    ASSERT_TRUE(r_->Append(std::span<const std::uint8_t>(&b, 1)));
    while (r_->Next(&message_)) {
      DnsMessage m;
      EXPECT_EQ(ParseDnsMessage(message_, &m), ParseStatus::kOk);
      ++messages;
    }
  }
  EXPECT_EQ(messages, 2);
}

TEST_F(DnsTcpReassemblerTest, ZeroLengthMessagesAreSkipped) {
  auto stream = std::vector<std::uint8_t>{0, 0, 0, 0};
  const auto real = Framed(CnameChainResponse().bytes);
  stream.insert(stream.end(), real.begin(), real.end());
  stream.push_back(0);
  stream.push_back(0);
  ASSERT_TRUE(r_->Append(stream));
  ASSERT_TRUE(r_->Next(&message_));
  EXPECT_EQ(message_.size(), real.size() - 2);
  EXPECT_FALSE(r_->Next(&message_));
  EXPECT_EQ(r_->Pending(), 0u);
}

TEST_F(DnsTcpReassemblerTest, LargestMessageFitsAndOverflowResets) {
  std::vector<std::uint8_t> big(65535 + 2, 0xAB);
  big[0] = 0xFF;
  big[1] = 0xFF;
  ASSERT_TRUE(r_->Append(Slice(big, 0, 3)));
  ASSERT_TRUE(r_->Append(Slice(big, 3, big.size())));
  ASSERT_TRUE(r_->Next(&message_));
  EXPECT_EQ(message_.size(), 65535u);

  big.push_back(0);  // one byte more than the buffer holds
  EXPECT_FALSE(r_->Append(big));
  EXPECT_EQ(r_->Pending(), 0u);
  EXPECT_FALSE(r_->Next(&message_));
}

TEST_F(DnsTcpReassemblerTest, AppendSomeTakesOversizedSegmentsInPieces) {
  // Two 40000-byte messages after a partial one: more than the buffer holds.
  std::vector<std::uint8_t> stream;
  for (int i = 0; i < 3; ++i) {
    auto framed = Framed(std::vector<std::uint8_t>(40000, static_cast<std::uint8_t>(i)));
    stream.insert(stream.end(), framed.begin(), framed.end());
  }
  ASSERT_TRUE(r_->Append(Slice(stream, 0, 30000)));
  EXPECT_FALSE(r_->Next(&message_));
  std::span<const std::uint8_t> rest = Slice(stream, 30000, stream.size());
  std::vector<std::uint8_t> firsts;
  while (!rest.empty()) {
    const std::size_t taken = r_->AppendSome(rest);
    ASSERT_GT(taken, 0u);
    rest = rest.subspan(taken);
    while (r_->Next(&message_)) {
      EXPECT_EQ(message_.size(), 40000u);
      firsts.push_back(message_.front());
    }
  }
  EXPECT_EQ(firsts, (std::vector<std::uint8_t>{0, 1, 2}));
}

}  // namespace
}  // namespace flightwall
