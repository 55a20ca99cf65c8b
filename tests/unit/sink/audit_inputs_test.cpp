// Real pcap files, written here, through PcapSource, the engine and
// AddCaptureInputs/NoteCutPacket: a file cut short or packets cut by the snap
// length make the audit inconclusive; the same traffic complete does not.
#include "sink/audit_inputs.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "sink_test_helpers.h"

namespace flightwall {
namespace {

using Bytes = std::vector<std::uint8_t>;

void Put32(Bytes& b, std::uint32_t v) {
  // resize + index: GCC 12 at -O3 misjudges push_back after insert of a list.
  const std::size_t at = b.size();
  b.resize(at + 4);
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Ethernet + IPv4 + UDP from the flight app's 192.0.2.10 to 203.0.113.5:9999.
Bytes UdpFrame(std::uint8_t payload_bytes) {
  const std::uint16_t udp_len = 8 + payload_bytes;
  const std::uint16_t ip_len = 20 + udp_len;
  Bytes f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
  const Bytes ip = {0x45,
                    0,
                    static_cast<std::uint8_t>(ip_len >> 8),
                    static_cast<std::uint8_t>(ip_len),
                    0,
                    1,
                    0x40,
                    0,
                    64,
                    17,
                    0,
                    0,
                    192,
                    0,
                    2,
                    10,
                    203,
                    0,
                    113,
                    5};
  f.insert(f.end(), ip.begin(), ip.end());
  const Bytes udp = {0x9c,
                     0x40,
                     0x27,
                     0x0f,
                     static_cast<std::uint8_t>(udp_len >> 8),
                     static_cast<std::uint8_t>(udp_len),
                     0,
                     0};
  f.insert(f.end(), udp.begin(), udp.end());
  f.insert(f.end(), payload_bytes, 'x');
  return f;
}

// A pcap file of `frames`; each record keeps only `caplen` bytes (0 = all).
Bytes Pcap(const std::vector<Bytes>& frames, std::uint32_t caplen = 0) {
  Bytes b;
  Put32(b, 0xa1b2c3d4);
  Put32(b, 0x00040002);  // version 2.4
  Put32(b, 0);
  Put32(b, 0);
  Put32(b, 65535);
  Put32(b, 1);
  std::uint32_t t = 1'700'000'000;
  for (const Bytes& f : frames) {
    const auto len = static_cast<std::uint32_t>(f.size());
    const std::uint32_t cap = caplen != 0 && caplen < len ? caplen : len;
    Put32(b, t++);
    Put32(b, 0);
    Put32(b, cap);
    Put32(b, len);
    b.insert(b.end(), f.begin(), f.begin() + cap);
  }
  return b;
}

class AuditInputsTest : public ::testing::Test {
 protected:
  // Audits `bytes` as a file at the device vantage (all traffic is the app's).
  std::string Audit(const Bytes& bytes) {
    const std::string path = dir_.Path("capture.pcap");
    testing::WriteWholeFile(path, std::string(bytes.begin(), bytes.end()));
    auto opened = PcapSource::Open({path});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return "";
    auto source = std::move(opened).value();
    Engine engine(policy_, Vantage::kDevice);
    engine.AddSink(&report_);
    RawPacket raw;
    while (source->Next(&raw)) {
      const PacketOutcome outcome = engine.Process(raw);
      NoteCutPacket(raw, outcome, path, report_);
    }
    engine.Finish();
    AddCaptureInputs(*source, report_);
    report_.CheckTrafficSeen();
    return report_.Verdict();
  }

  testing::TempDir dir_;
  Policy policy_ = testing::SinkTestPolicy();
  AuditReport report_{policy_};
};

TEST_F(AuditInputsTest, CompleteFileGivesAVerdictOnTheTrafficAlone) {
  EXPECT_EQ(Audit(Pcap({UdpFrame(20), UdpFrame(20), UdpFrame(20)})), "attempts");
  EXPECT_TRUE(report_.EvidenceProblems().empty());
  ASSERT_EQ(report_.Inputs().size(), 1u);
  EXPECT_EQ(report_.Inputs()[0].packets, 3u);
}

TEST_F(AuditInputsTest, FileCutShortIsInconclusiveAndSaysWhere) {
  Bytes bytes = Pcap({UdpFrame(20), UdpFrame(20), UdpFrame(20)});
  const std::size_t full = bytes.size();
  bytes.resize(full - 7);  // the last record loses its end
  EXPECT_EQ(Audit(bytes), "inconclusive");
  ASSERT_EQ(report_.EvidenceProblems().size(), 1u);
  const EvidenceProblem& p = report_.EvidenceProblems()[0];
  EXPECT_EQ(p.kind, kEvidenceTruncatedFile);
  EXPECT_NE(p.where.find("capture.pcap: after packet 2, byte "), std::string::npos) << p.where;
  EXPECT_NE(p.where.find(" of " + std::to_string(full - 7)), std::string::npos) << p.where;
  EXPECT_EQ(report_.Inputs()[0].packets, 2u);
}

TEST_F(AuditInputsTest, PacketsCutBySnapLengthAreInconclusive) {
  EXPECT_EQ(Audit(Pcap({UdpFrame(200)}, 60)), "inconclusive");
  ASSERT_EQ(report_.EvidenceProblems().size(), 1u);
  EXPECT_EQ(report_.EvidenceProblems()[0].kind, kEvidenceSnaplen);
  EXPECT_NE(report_.EvidenceProblems()[0].detail.find("only 60 of 242 bytes"), std::string::npos)
      << report_.EvidenceProblems()[0].detail;
}

TEST_F(AuditInputsTest, HeaderOnlyFileHasNoFlightAppTraffic) {
  EXPECT_EQ(Audit(Pcap({})), "inconclusive");
  ASSERT_EQ(report_.EvidenceProblems().size(), 1u);
  EXPECT_EQ(report_.EvidenceProblems()[0].kind, kEvidenceNoAppTraffic);
}

}  // namespace
}  // namespace flightwall
