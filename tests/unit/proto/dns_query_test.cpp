#include "proto/dns_query.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "proto/dns_parser.h"

namespace flightwall {
namespace {

using Bytes = std::vector<std::uint8_t>;

const IpAddress kAddr = *IpAddress::Parse("198.51.100.10");
const IpAddress kOther = *IpAddress::Parse("198.51.100.11");

Bytes Query(std::uint16_t id, std::string_view name, std::uint16_t qtype = dns_type::kA) {
  std::array<std::uint8_t, kMaxDnsQueryBytes> buf{};
  const std::size_t n = BuildDnsQuery(id, name, qtype, buf);
  return Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

void Put16(Bytes* b, std::uint16_t v) {
  b->push_back(static_cast<std::uint8_t>(v >> 8));
  b->push_back(static_cast<std::uint8_t>(v));
}

void PutName(Bytes* b, std::string_view name) {
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    b->push_back(static_cast<std::uint8_t>(dot - start));
    b->insert(b->end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  b->push_back(0);
}

struct Record {
  std::string owner;
  std::uint16_t type;
  std::uint32_t ttl;
  Bytes rdata;
};

// A response to `query`: QR and RA set, `rcode`, the records appended.
Bytes Response(Bytes query, const std::vector<Record>& records, std::uint8_t rcode = 0) {
  query[2] |= 0x80;
  query[3] = static_cast<std::uint8_t>(0x80 | rcode);
  query[6] = 0;
  query[7] = static_cast<std::uint8_t>(records.size());
  for (const Record& r : records) {
    PutName(&query, r.owner);
    Put16(&query, r.type);
    Put16(&query, 1);
    Put16(&query, static_cast<std::uint16_t>(r.ttl >> 16));
    Put16(&query, static_cast<std::uint16_t>(r.ttl));
    Put16(&query, static_cast<std::uint16_t>(r.rdata.size()));
    query.insert(query.end(), r.rdata.begin(), r.rdata.end());
  }
  return query;
}

Record A(std::string owner, const IpAddress& a, std::uint32_t ttl = 300) {
  const auto& b = a.Bytes();
  return {std::move(owner), dns_type::kA, ttl, Bytes(b.begin(), b.begin() + 4)};
}

Record Cname(std::string owner, std::string_view target, std::uint32_t ttl) {
  Bytes t;
  PutName(&t, target);
  return {std::move(owner), dns_type::kCname, ttl, t};
}

AnswerVerdict Judge(const Bytes& reply, std::uint16_t id, std::string_view name,
                    const IpAddress& addr, std::uint32_t* ttl = nullptr) {
  std::uint32_t t = 0;
  return JudgeConfirmAnswer(reply, id, name, addr.IsV6() ? dns_type::kAaaa : dns_type::kA, addr,
                            ttl ? ttl : &t);
}

TEST(DnsQueryTest, BuildsOneQuestionWithRecursionDesired) {
  const Bytes q = Query(0xbeef, "tiles.Example.com.");
  ASSERT_FALSE(q.empty());
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(q, &m), ParseStatus::kOk);
  EXPECT_EQ(m.id, 0xbeef);
  EXPECT_FALSE(m.is_response);
  EXPECT_EQ(q[2], 0x01);  // RD
  ASSERT_EQ(m.questions_stored, 1u);
  EXPECT_EQ(m.questions[0].name.View(), "tiles.example.com");
  EXPECT_EQ(m.questions[0].qtype, dns_type::kA);
  EXPECT_EQ(m.questions[0].qclass, 1);
  ASSERT_EQ(ParseDnsMessage(Query(1, "x.example", dns_type::kAaaa), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].qtype, dns_type::kAaaa);
}

TEST(DnsQueryTest, RefusesNamesThatAreNotHostNames) {
  std::array<std::uint8_t, kMaxDnsQueryBytes> buf{};
  EXPECT_EQ(BuildDnsQuery(1, "", dns_type::kA, buf), 0u);
  EXPECT_EQ(BuildDnsQuery(1, "a..b", dns_type::kA, buf), 0u);
  EXPECT_EQ(BuildDnsQuery(1, ".a", dns_type::kA, buf), 0u);
  EXPECT_EQ(BuildDnsQuery(1, std::string(64, 'a') + ".example", dns_type::kA, buf), 0u);
  EXPECT_EQ(BuildDnsQuery(1, std::string(254, 'a'), dns_type::kA, buf), 0u);
  std::array<std::uint8_t, 20> small{};
  EXPECT_EQ(BuildDnsQuery(1, "tiles.example.com", dns_type::kA, small), 0u);
  EXPECT_GT(BuildDnsQuery(1, std::string(63, 'a') + ".example", dns_type::kA, buf), 0u);
}

TEST(DnsQueryTest, ConfirmsOnlyTheAskedAddress) {
  const Bytes q = Query(7, "tiles.example.com");
  std::uint32_t ttl = 0;
  EXPECT_EQ(
      Judge(Response(q, {A("tiles.example.com", kAddr, 120)}), 7, "tiles.example.com", kAddr, &ttl),
      AnswerVerdict::kConfirmed);
  EXPECT_EQ(ttl, 120u);
  EXPECT_EQ(Judge(Response(q, {A("tiles.example.com", kOther)}), 7, "tiles.example.com", kAddr),
            AnswerVerdict::kRefuted);
  EXPECT_EQ(Judge(Response(q, {}), 7, "tiles.example.com", kAddr), AnswerVerdict::kRefuted);
  EXPECT_EQ(Judge(Response(q, {}, 3), 7, "tiles.example.com", kAddr), AnswerVerdict::kRefuted);
  // A record owned by a name off the chain does not count.
  EXPECT_EQ(Judge(Response(q, {A("other.example", kAddr)}), 7, "tiles.example.com", kAddr),
            AnswerVerdict::kRefuted);
}

TEST(DnsQueryTest, FollowsCnamesWithTheSmallestTtl) {
  const Bytes q = Query(8, "tiles.example.com");
  std::uint32_t ttl = 0;
  const Bytes r = Response(
      q, {Cname("tiles.example.com", "edge.cdn.example", 30), A("edge.cdn.example", kAddr, 300)});
  EXPECT_EQ(Judge(r, 8, "tiles.example.com", kAddr, &ttl), AnswerVerdict::kConfirmed);
  EXPECT_EQ(ttl, 30u);
}

TEST(DnsQueryTest, MismatchedIdOrQuestionIsNotAnAnswer) {
  const Bytes q = Query(9, "tiles.example.com");
  const Bytes r = Response(q, {A("tiles.example.com", kAddr)});
  EXPECT_EQ(Judge(r, 10, "tiles.example.com", kAddr), AnswerVerdict::kNotOurs);
  EXPECT_EQ(Judge(r, 9, "evil.example.com", kAddr), AnswerVerdict::kNotOurs);
  // The question echoed for AAAA while A was asked.
  std::uint32_t ttl = 0;
  EXPECT_EQ(JudgeConfirmAnswer(r, 9, "tiles.example.com", dns_type::kAaaa, kAddr, &ttl),
            AnswerVerdict::kNotOurs);
  // The query itself (not a response) echoed back.
  EXPECT_EQ(Judge(q, 9, "tiles.example.com", kAddr), AnswerVerdict::kNotOurs);
}

TEST(DnsQueryTest, TruncatedOrMalformedAnswersAreNeverConfirmed) {
  const Bytes q = Query(11, "tiles.example.com");
  const Bytes r = Response(q, {A("tiles.example.com", kAddr)});
  for (std::size_t cut = 0; cut < r.size(); ++cut) {
    const Bytes part(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_NE(Judge(part, 11, "tiles.example.com", kAddr), AnswerVerdict::kConfirmed) << cut;
  }
  Bytes tc = r;
  tc[2] |= 0x02;  // TC: the answer is incomplete
  EXPECT_EQ(Judge(tc, 11, "tiles.example.com", kAddr), AnswerVerdict::kRefuted);
  Bytes servfail = r;
  servfail[3] = 0x82;
  EXPECT_EQ(Judge(servfail, 11, "tiles.example.com", kAddr), AnswerVerdict::kRefuted);
}

TEST(DnsQueryTest, Ipv6AsksAaaa) {
  const IpAddress v6 = *IpAddress::Parse("2001:db8::10");
  const Bytes q = Query(12, "tiles.example.com", dns_type::kAaaa);
  const auto& b = v6.Bytes();
  const Bytes r =
      Response(q, {{"tiles.example.com", dns_type::kAaaa, 60, Bytes(b.begin(), b.end())}});
  EXPECT_EQ(Judge(r, 12, "tiles.example.com", v6), AnswerVerdict::kConfirmed);
  EXPECT_EQ(Judge(r, 12, "tiles.example.com", *IpAddress::Parse("2001:db8::11")),
            AnswerVerdict::kRefuted);
}

}  // namespace
}  // namespace flightwall
