// BuildDnsRefusal (daemon/reply/dns_refusal.cpp): checked by parsing the
// answer with the project's DnsParser.
#include <gtest/gtest.h>

#include "proto/dns_parser.h"
#include "reply/reply_builder.h"
#include "unit/reply/reply_frames.h"

namespace flightwall::reply_test {
namespace {

class DnsRefusalFamilyTest : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(V4AndV6, DnsRefusalFamilyTest, ::testing::Values(false, true));

TEST_P(DnsRefusalFamilyTest, DnsRefusalEchoesIdAndQuestion) {
  const Built b = Build(Udp(GetParam(), 53, DnsQuery()), Refused);
  ExpectSwapped(b, GetParam());
  EXPECT_EQ(b.decoded.src_port, 53);
  EXPECT_EQ(b.decoded.dst_port, 40000);
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(b.decoded.payload, &m), ParseStatus::kOk);
  EXPECT_TRUE(m.is_response);
  EXPECT_EQ(m.id, 0xbeef);
  EXPECT_EQ(m.rcode, 5);
  EXPECT_EQ(m.opcode, 0);
  EXPECT_EQ(m.answer_count, 0);
  ASSERT_EQ(m.questions_stored, 1u);
  EXPECT_EQ(m.questions[0].name.View(), "denied.example");
  EXPECT_EQ(m.questions[0].qtype, 1);
  const std::uint16_t flags = Get16(b.decoded.payload.data() + 2);
  EXPECT_EQ(flags & 0x0100, 0x0100);                   // RD echoed
  EXPECT_EQ(flags & 0x0080, 0x0080);                   // RA because recursion was asked for
  EXPECT_EQ(Get32(b.decoded.payload.data() + 6), 0u);  // no answer/authority records
}

TEST_P(DnsRefusalFamilyTest, DnsNxdomainWithoutRecursion) {
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  const std::size_t n = Refusal(Udp(GetParam(), 53, DnsQuery(0x0010)), 3, out);
  ASSERT_GT(n, 0u);
  const Built b = Decode(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)));
  ExpectSwapped(b, GetParam());
  const std::uint16_t flags = Get16(b.decoded.payload.data() + 2);
  EXPECT_EQ(flags & 0x000f, 3);
  EXPECT_EQ(flags & 0x0180, 0);       // neither RD nor RA
  EXPECT_EQ(flags & 0x0010, 0x0010);  // CD echoed
}

TEST_P(DnsRefusalFamilyTest, DnsRefusalOnlyForPlainQueries) {
  const bool v6 = GetParam();
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  EXPECT_EQ(Refusal(Udp(v6, 53, DnsQuery(0x8180)), 5, out), 0u);  // a response
  EXPECT_EQ(Refusal(Udp(v6, 53, DnsQuery(0x0100, 2)), 5, out), 0u);
  EXPECT_EQ(Refusal(Udp(v6, 53, DnsQuery(0x0100, 0)), 5, out), 0u);
  Bytes compressed = DnsQuery();
  compressed.resize(12);
  compressed.insert(compressed.end(), {0xc0, 0x0c, 0, 1, 0, 1});
  EXPECT_EQ(Refusal(Udp(v6, 53, compressed), 5, out), 0u);
  Bytes cut = DnsQuery();
  cut.resize(cut.size() - 3);  // question type/class missing
  EXPECT_EQ(Refusal(Udp(v6, 53, cut), 5, out), 0u);
  EXPECT_EQ(Refusal(Tcp(v6, 0x18, 1, 1, 30), 5, out), 0u);
  std::array<std::uint8_t, 50> small{};
  EXPECT_EQ(Refusal(Udp(v6, 53, DnsQuery()), 5, small), 0u);
}

TEST_P(DnsRefusalFamilyTest, DnsRefusalReadsOnlyTheDecodedPayload) {
  Offending o(Udp(GetParam(), 53, DnsQuery()));
  ASSERT_EQ(o.status, DecodeStatus::kOk);
  std::array<std::uint8_t, kMaxInjectedPacket> out{};
  ASSERT_GT(BuildDnsRefusal(o.pkt, 5, out), 0u);
  DecodedPacket pkt = o.pkt;
  // Every cut of the payload ends inside the header or the question.
  for (std::size_t len = 0; len < o.pkt.payload.size(); ++len) {
    pkt.payload = o.pkt.payload.first(len);
    EXPECT_EQ(BuildDnsRefusal(pkt, 5, out), 0u) << len;
  }
  pkt = o.pkt;
  pkt.truncated = true;  // the capture cut it: the question may be cut too
  EXPECT_EQ(BuildDnsRefusal(pkt, 5, out), 0u);
  pkt = o.pkt;
  pkt.protocol = 6;  // not UDP
  EXPECT_EQ(BuildDnsRefusal(pkt, 5, out), 0u);
}

}  // namespace
}  // namespace flightwall::reply_test
