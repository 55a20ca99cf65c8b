#include "source/pcap_source.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

// GCC 12 at -O3 reports a false -Wrestrict on `"text" + std::to_string(n)`
// (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace flightwall {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

void PutLe32(Bytes* b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void PutLe16(Bytes* b, std::uint16_t v) {
  b->push_back(static_cast<std::uint8_t>(v));
  b->push_back(static_cast<std::uint8_t>(v >> 8));
}

struct Record {
  std::uint32_t sec;
  std::uint32_t frac;  // microseconds, or nanoseconds for the nanosecond format
  Bytes data;
  std::uint32_t wire_length = 0;  // 0: same as data
};

// A classic little-endian pcap file.
Bytes Pcap(std::uint32_t link_type, const std::vector<Record>& records, bool nanos = false) {
  Bytes b;
  PutLe32(&b, nanos ? 0xa1b23c4d : 0xa1b2c3d4);
  PutLe16(&b, 2);
  PutLe16(&b, 4);
  PutLe32(&b, 0);
  PutLe32(&b, 0);
  PutLe32(&b, 65535);
  PutLe32(&b, link_type);
  for (const auto& r : records) {
    PutLe32(&b, r.sec);
    PutLe32(&b, r.frac);
    PutLe32(&b, static_cast<std::uint32_t>(r.data.size()));
    PutLe32(&b, r.wire_length ? r.wire_length : static_cast<std::uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
  }
  return b;
}

// A pcapng section header block's body: byte-order magic, version 1.0,
// section length unknown.
void PutSectionHeaderBody(Bytes* b) {
  PutLe32(b, 0x1a2b3c4d);
  PutLe16(b, 1);
  PutLe16(b, 0);
  PutLe32(b, 0xffffffff);
  PutLe32(b, 0xffffffff);
}

// A minimal pcapng file: section header, one interface, enhanced packets
// with the default microsecond resolution.
Bytes Pcapng(std::uint16_t link_type, const std::vector<Record>& records) {
  Bytes b;
  PutLe32(&b, 0x0a0d0d0a);
  PutLe32(&b, 28);
  PutSectionHeaderBody(&b);
  PutLe32(&b, 28);
  PutLe32(&b, 1);
  PutLe32(&b, 20);
  PutLe16(&b, link_type);
  PutLe16(&b, 0);
  PutLe32(&b, 65535);
  PutLe32(&b, 20);
  for (const auto& r : records) {
    const std::uint32_t padded = (static_cast<std::uint32_t>(r.data.size()) + 3) & ~3u;
    const std::uint32_t total = 32 + padded;
    const std::uint64_t ts = std::uint64_t{r.sec} * 1000000 + r.frac;
    PutLe32(&b, 6);
    PutLe32(&b, total);
    PutLe32(&b, 0);
    PutLe32(&b, static_cast<std::uint32_t>(ts >> 32));
    PutLe32(&b, static_cast<std::uint32_t>(ts));
    PutLe32(&b, static_cast<std::uint32_t>(r.data.size()));
    PutLe32(&b, static_cast<std::uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
    for (std::size_t i = r.data.size(); i < padded; ++i) b.push_back(0);
    PutLe32(&b, total);
  }
  return b;
}

std::string Sha256(const Bytes& b) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(b.data(), b.size(), digest, &len, EVP_sha256(), nullptr);
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof(hex), "%02x", digest[i]);
    out += hex;
  }
  return out;
}

class PcapSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flightwall_pcap_source_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const Bytes& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }

  fs::path dir_;
};

const Bytes kFrameA(60, 0xaa);
const Bytes kFrameB(42, 0xbb);

TEST_F(PcapSourceTest, NumbersPacketsAcrossInputsAndDescribesEachInput) {
  const Bytes first = Pcap(1, {{100, 5, kFrameA}, {101, 6, kFrameB, 1500}});
  const Bytes second = Pcapng(1, {{200, 999999, kFrameB}});
  const std::string a = Write("a.pcap", first);
  const std::string b = Write("b.pcapng", second);
  auto opened = PcapSource::Open({a, b});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();

  RawPacket raw;
  ASSERT_TRUE(source->Next(&raw));
  EXPECT_EQ(raw.number, 1u);
  EXPECT_EQ(raw.input_index, 0u);
  EXPECT_EQ(raw.time, 100 * kMicrosPerSecond + 5);
  EXPECT_EQ(raw.link, LinkType::kEthernet);
  EXPECT_EQ(Bytes(raw.data.begin(), raw.data.end()), kFrameA);
  ASSERT_TRUE(source->Next(&raw));
  EXPECT_EQ(raw.number, 2u);
  EXPECT_EQ(raw.wire_length, 1500u);
  EXPECT_EQ(raw.data.size(), kFrameB.size());
  ASSERT_TRUE(source->Next(&raw));
  EXPECT_EQ(raw.number, 3u);
  EXPECT_EQ(raw.input_index, 1u);
  EXPECT_EQ(raw.time, 200 * kMicrosPerSecond + 999999);
  EXPECT_FALSE(source->Next(&raw));
  EXPECT_FALSE(source->Next(&raw)) << "stays exhausted";

  const auto& inputs = source->Inputs();
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].path, a);
  EXPECT_EQ(inputs[0].sha256, Sha256(first));
  EXPECT_EQ(inputs[0].size_bytes, first.size());
  EXPECT_EQ(inputs[0].packets, 2u);
  EXPECT_EQ(inputs[0].first_time, 100 * kMicrosPerSecond + 5);
  EXPECT_EQ(inputs[0].last_time, 101 * kMicrosPerSecond + 6);
  EXPECT_EQ(inputs[0].link_type_name, "ether");
  EXPECT_EQ(inputs[1].sha256, Sha256(second));
  EXPECT_EQ(inputs[1].packets, 1u);
  EXPECT_TRUE(source->Warnings().empty());
}

TEST_F(PcapSourceTest, NanosecondFilesAreReadInMicroseconds) {
  auto opened = PcapSource::Open({Write("n.pcap", Pcap(101, {{7, 123456789, kFrameA}}, true))});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  RawPacket raw;
  ASSERT_TRUE(source->Next(&raw));
  EXPECT_EQ(raw.time, 7 * kMicrosPerSecond + 123456);
  EXPECT_EQ(raw.link, LinkType::kRaw);
}

TEST_F(PcapSourceTest, MapsLinkTypes) {
  const struct {
    std::uint32_t file_value;
    LinkType link;
    const char* name;
  } cases[] = {
      {0, LinkType::kNull, "null"},
      {1, LinkType::kEthernet, "ether"},
      {101, LinkType::kRaw, "rawip"},
      {108, LinkType::kLoop, "loop"},
      {113, LinkType::kLinuxSll, "linux-sll"},
      {228, LinkType::kIpv4, "rawip4"},
      {229, LinkType::kIpv6, "rawip6"},
      {276, LinkType::kLinuxSll2, "linux-sll2"},
  };
  for (const auto& c : cases) {
    auto opened = PcapSource::Open({Write("l" + std::to_string(c.file_value) + ".pcap",
                                          Pcap(c.file_value, {{1, 0, kFrameA}}))});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto source = std::move(opened).value();
    EXPECT_EQ(source->Inputs()[0].link, c.link) << c.file_value;
    EXPECT_EQ(source->Inputs()[0].link_type_name, c.name);
    RawPacket raw;
    ASSERT_TRUE(source->Next(&raw));
    EXPECT_EQ(raw.link, c.link);
  }
  EXPECT_EQ(PcapSource::LinkTypeFromDlt(12), 101u);
  EXPECT_EQ(PcapSource::LinkTypeFromDlt(14), 101u);
  EXPECT_STREQ(PcapSource::LinkTypeName(105), "unsupported");
}

TEST_F(PcapSourceTest, TruncatedLastRecordIsAWarningNotACrash) {
  Bytes bytes = Pcap(1, {{1, 0, kFrameA}, {2, 0, kFrameA}, {3, 0, kFrameB}});
  bytes.resize(bytes.size() - 10);
  const std::string cut = Write("cut.pcap", bytes);
  const std::string next = Write("next.pcap", Pcap(1, {{9, 0, kFrameB}}));
  auto opened = PcapSource::Open({cut, next});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  RawPacket raw;
  std::vector<std::uint64_t> numbers;
  while (source->Next(&raw)) numbers.push_back(raw.number);
  EXPECT_EQ(numbers, (std::vector<std::uint64_t>{1, 2, 3})) << "the next input is still read";
  ASSERT_EQ(source->Warnings().size(), 1u);
  EXPECT_NE(source->Warnings()[0].find(cut + ": truncated at packet 3"), std::string::npos)
      << source->Warnings()[0];
  EXPECT_TRUE(source->Inputs()[0].truncated);
  EXPECT_TRUE(source->Inputs()[0].damaged);
  EXPECT_GT(source->Inputs()[0].damage_offset, 0u);
  EXPECT_LE(source->Inputs()[0].damage_offset, bytes.size());
  EXPECT_FALSE(source->Inputs()[1].damaged);
  EXPECT_EQ(source->Inputs()[0].packets, 2u);
  // Hashed as it was read, and the part libpcap did not read is in the
  // digest too: it identifies the whole file.
  EXPECT_EQ(source->Inputs()[0].sha256, Sha256(bytes));
  EXPECT_EQ(source->Inputs()[0].size_bytes, bytes.size());
}

TEST_F(PcapSourceTest, CountsBytesReadForAProgressBar) {
  const Bytes first = Pcap(1, {{1, 0, kFrameA}, {2, 0, kFrameB}});
  const Bytes second = Pcap(1, {{3, 0, kFrameA}});
  auto opened = PcapSource::Open({Write("a.pcap", first), Write("b.pcap", second)});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  EXPECT_EQ(source->TotalBytes(), first.size() + second.size());
  RawPacket raw;
  std::uint64_t last = 0;
  while (source->Next(&raw)) {
    EXPECT_GE(source->BytesRead(), last);
    last = source->BytesRead();
  }
  EXPECT_EQ(source->BytesRead(), first.size() + second.size());
}

TEST_F(PcapSourceTest, ErrorsNameTheFileAndSayWhatToDo) {
  const auto failure = [](const Result<std::unique_ptr<PcapSource>>& opened) {
    EXPECT_FALSE(opened.ok());
    return opened.status().ToString();
  };
  const std::string text = Write("notes.txt", Bytes{'h', 'e', 'l', 'l', 'o', '\n', 0, 0, 0, 0, 0});
  std::string error = failure(PcapSource::Open({text}));
  EXPECT_NE(error.find(text + ": not a pcap or pcapng file"), std::string::npos) << error;

  const std::string missing = (dir_ / "missing.pcap").string();
  const auto missing_status = PcapSource::Open({Write("ok.pcap", Pcap(1, {})), missing}).status();
  EXPECT_EQ(missing_status.file(), missing);
  error = missing_status.ToString();
  EXPECT_NE(error.find(missing + ": cannot open"), std::string::npos) << error;
  EXPECT_NE(error.find("check the path"), std::string::npos) << error;

  const std::string empty = Write("empty.pcap", {});
  error = failure(PcapSource::Open({empty}));
  EXPECT_NE(error.find(empty + ": the file is empty"), std::string::npos) << error;

  error = failure(PcapSource::Open({}));
  EXPECT_NE(error.find("no capture file"), std::string::npos);
  error = failure(PcapSource::Open({"-", "-"}));
}

TEST_F(PcapSourceTest, HeaderOnlyFileHasNoPackets) {
  auto opened = PcapSource::Open({Write("h.pcap", Pcap(1, {}))});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  RawPacket raw;
  EXPECT_FALSE(source->Next(&raw));
  EXPECT_EQ(source->Inputs()[0].packets, 0u);
  EXPECT_EQ(source->Inputs()[0].first_time, 0);
  EXPECT_TRUE(source->Warnings().empty());
}

TEST_F(PcapSourceTest, StandardInputIsHashedAndRead) {
  const Bytes bytes = Pcap(1, {{5, 1, kFrameA}, {6, 2, kFrameB}});
  const std::string path = Write("stdin.pcap", bytes);
  ASSERT_NE(std::freopen(path.c_str(), "rb", stdin), nullptr);
  auto opened = PcapSource::Open({"-"});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  EXPECT_EQ(source->Inputs()[0].path, "-");
  EXPECT_EQ(source->Inputs()[0].sha256, Sha256(bytes));
  RawPacket raw;
  int count = 0;
  while (source->Next(&raw)) ++count;
  EXPECT_EQ(count, 2);
}

TEST_F(PcapSourceTest, ReadsPublicCapturesBackToBack) {
  const fs::path dir = FLIGHTWALL_PUBLIC_PCAPS;
  if (!fs::exists(dir / "dns.pcap")) GTEST_SKIP() << "public captures not found at " << dir;
  // 5 + 13 packets in the manifest; BSD null after Ethernet.
  auto opened =
      PcapSource::Open({(dir / "dns.pcap").string(), (dir / "openvpn-tlscrypt.pcap").string()});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  RawPacket raw;
  std::uint64_t last = 0;
  while (source->Next(&raw)) last = raw.number;
  EXPECT_EQ(last, 18u);
  EXPECT_EQ(source->Inputs()[1].link, LinkType::kNull);
  EXPECT_EQ(source->Inputs()[0].sha256.size(), 64u);
}

// pcapng lets a file claim any time: 64-bit timestamps, and an interface's
// if_tsoffset (seconds added to each of its times; libpcap adds it unsigned,
// so a negative one gives times before 1970). Two interfaces, one packet
// each: the first 2^63 microseconds, the second 0 plus an offset of -10^6 s.
Bytes PcapngWithExtremeTimes(const Bytes& frame) {
  Bytes b;
  const auto block = [&b](std::uint32_t type, const Bytes& body) {
    const std::uint32_t total = 12 + static_cast<std::uint32_t>((body.size() + 3) & ~3u);
    PutLe32(&b, type);
    PutLe32(&b, total);
    b.insert(b.end(), body.begin(), body.end());
    for (std::size_t i = body.size(); i % 4 != 0; ++i) b.push_back(0);
    PutLe32(&b, total);
  };
  Bytes shb;
  PutSectionHeaderBody(&shb);
  block(0x0a0d0d0a, shb);
  Bytes idb;
  PutLe16(&idb, 1);  // Ethernet
  PutLe16(&idb, 0);
  PutLe32(&idb, 65535);
  block(1, idb);
  PutLe16(&idb, 14);  // if_tsoffset
  PutLe16(&idb, 8);
  const auto offset = static_cast<std::uint64_t>(-1000000LL);
  PutLe32(&idb, static_cast<std::uint32_t>(offset));
  PutLe32(&idb, static_cast<std::uint32_t>(offset >> 32));
  PutLe32(&idb, 0);  // end of options
  block(1, idb);
  for (const auto& [interface, ts] : {std::pair<std::uint32_t, std::uint64_t>{0, 1ULL << 63},
                                      std::pair<std::uint32_t, std::uint64_t>{1, 0}}) {
    Bytes epb;
    PutLe32(&epb, interface);
    PutLe32(&epb, static_cast<std::uint32_t>(ts >> 32));
    PutLe32(&epb, static_cast<std::uint32_t>(ts));
    PutLe32(&epb, static_cast<std::uint32_t>(frame.size()));
    PutLe32(&epb, static_cast<std::uint32_t>(frame.size()));
    epb.insert(epb.end(), frame.begin(), frame.end());
    block(6, epb);
  }
  return b;
}

// Found by pcap_source_fuzz: the decoder's fragment expiry subtracted the
// first time from the second and overflowed. Times are clamped into
// [0, kMaxPacketTime], where no difference overflows.
TEST_F(PcapSourceTest, ExtremeTimesAreClampedIntoTheRangeThatCannotOverflow) {
  const std::string path = Write("times.pcapng", PcapngWithExtremeTimes(kFrameA));
  auto opened = PcapSource::Open({path});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto source = std::move(opened).value();
  RawPacket raw;
  ASSERT_TRUE(source->Next(&raw));
  EXPECT_EQ(raw.time, kMaxPacketTime);
  ASSERT_TRUE(source->Next(&raw));
  EXPECT_EQ(raw.time, 0);
  EXPECT_FALSE(source->Next(&raw));
}

}  // namespace
}  // namespace flightwall
