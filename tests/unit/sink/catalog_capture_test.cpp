// A capture of DNS questions for every host of the public research set
// (rules/catalog/RESEARCH.md), audited with the default policy the way
// `flightwall audit` does (pcap file -> PcapSource -> Engine -> AuditReport):
// each question is denied and labelled with the category the catalog gives
// the name, and only the hosts RESEARCH.md records as uncatalogued are
// reported as plain DNS questions.
//
// The capture is built here from DNS messages written in code (a question
// and the answer a resolver that knows every name would give), then read
// back through libpcap like any capture.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "engine/engine.h"
#include "policy/policy_loader.h"
#include "sink/audit_report.h"
#include "source/pcap_source.h"
#include "unit/decode/frame_builder.h"
#include "unit/policy/research_table.h"

namespace flightwall {
namespace {

namespace fs = std::filesystem;
using testing::Bytes;
using testing::Put16;
using testing::Put32;

constexpr const char* kTablet = "192.0.2.10";
constexpr const char* kResolver = "203.0.113.53";
constexpr const char* kUnlabelled = "dns-query";  // the report's category for other questions

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

// A question for the A record of `name`, or (answer) the reply with one A
// record from the documentation range.
Bytes DnsMessage(std::uint16_t id, std::string_view name, bool answer) {
  Bytes b;
  Put16(&b, id);
  Put16(&b, answer ? 0x8180 : 0x0100);
  Put16(&b, 1);
  Put16(&b, answer ? 1 : 0);
  Put16(&b, 0);
  Put16(&b, 0);
  PutName(&b, name);
  Put16(&b, 1);
  Put16(&b, 1);
  if (answer) {
    Put16(&b, 0xc00c);  // pointer to the question name
    Put16(&b, 1);
    Put16(&b, 1);
    Put32(&b, 300);
    Put16(&b, 4);
    testing::Append(&b, Bytes{198, 51, 100, static_cast<std::uint8_t>(id % 250 + 1)});
  }
  return b;
}

void PutLe32(Bytes* b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A classic pcap file of Ethernet frames, one millisecond apart.
Bytes PcapFile(const std::vector<Bytes>& frames) {
  Bytes b;
  PutLe32(&b, 0xa1b2c3d4);
  b.push_back(2);  // version 2.4, little endian
  b.push_back(0);
  b.push_back(4);
  b.push_back(0);
  PutLe32(&b, 0);
  PutLe32(&b, 0);
  PutLe32(&b, 65535);
  PutLe32(&b, 1);  // LINKTYPE_ETHERNET
  std::uint32_t usec = 0;
  for (const Bytes& f : frames) {
    PutLe32(&b, 1'700'000'000);
    PutLe32(&b, usec += 1000);
    PutLe32(&b, static_cast<std::uint32_t>(f.size()));
    PutLe32(&b, static_cast<std::uint32_t>(f.size()));
    testing::Append(&b, f);
  }
  return b;
}

TEST(CatalogCaptureTest, AuditLabelsEveryResearchHostsQuestion) {
  const auto rows = testing::ReadResearchTable();
  ASSERT_GE(rows.size(), 60u) << "RESEARCH.md table not found or truncated";
  ASSERT_LT(rows.size(), 900u);  // ports and ids below stay unique

  std::vector<Bytes> frames;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto id = static_cast<std::uint16_t>(i + 1);
    const auto port = static_cast<std::uint16_t>(40000 + i);
    frames.push_back(testing::Ethernet(
        0x0800, testing::Ipv4(kTablet, kResolver, 17,
                              testing::Udp(port, 53, DnsMessage(id, rows[i].host, false)))));
    frames.push_back(testing::Ethernet(
        0x0800, testing::Ipv4(kResolver, kTablet, 17,
                              testing::Udp(53, port, DnsMessage(id, rows[i].host, true)))));
  }
  const fs::path pcap =
      fs::temp_directory_path() / ("flightwall-catalog-" + std::to_string(::getpid()) + ".pcap");
  {
    const Bytes bytes = PcapFile(frames);
    std::ofstream out(pcap, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }

  const PolicyLoadResult loaded = LoadPolicy(FLIGHTWALL_SOURCE_DIR "/rules/local-data-mode.yaml");
  ASSERT_TRUE(loaded.policy);
  auto opened = PcapSource::Open({pcap.string()});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  Engine engine(*loaded.policy, Vantage::kNetwork);
  AuditReport report(*loaded.policy);
  engine.AddSink(&report);
  RawPacket raw;
  std::uint64_t packets = 0;
  while (source->Next(&raw)) {
    engine.Process(raw);
    ++packets;
  }
  engine.Finish();
  fs::remove(pcap);
  EXPECT_EQ(packets, frames.size());

  std::map<std::string, const Finding*> by_host;
  for (const Finding& f : report.Attempts()) {
    if (f.kind == "dns") by_host[f.hostname] = &f;
  }
  EXPECT_EQ(report.DnsQuestions(), rows.size());
  EXPECT_EQ(report.DnsDenied(), rows.size());
  std::size_t unlabelled = 0;
  for (const auto& row : rows) {
    SCOPED_TRACE(row.host);
    const auto it = by_host.find(row.host);
    ASSERT_NE(it, by_host.end()) << "no DNS finding for the question";
    const Finding& f = *it->second;
    EXPECT_EQ(f.reason, "dns-name-not-allowed");
    EXPECT_TRUE(f.leaked) << "the answer was captured, so the question counts as delivered";
    if (row.label == "-") {
      EXPECT_EQ(f.category, kUnlabelled);
      EXPECT_TRUE(f.vendor.empty());
      ++unlabelled;
    } else {
      EXPECT_EQ(f.category, row.label);
      EXPECT_FALSE(f.vendor.empty());
    }
  }
  std::size_t reported_unlabelled = 0;
  for (const auto& [host, f] : by_host) reported_unlabelled += f->category == kUnlabelled;
  EXPECT_EQ(reported_unlabelled, unlabelled);
  EXPECT_LE(unlabelled, rows.size() / 10) << "most of the research set must be catalogued";
}

}  // namespace
}  // namespace flightwall
