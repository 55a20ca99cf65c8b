// The live capture's BPF filter, compiled by libpcap and run over frames
// the way the kernel would: the flight app's traffic and DNS are kept
// untagged, behind one 802.1Q tag (a trunk port) and behind QinQ; other
// traffic is not.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <string>
#include <vector>

#include "source/live_capture.h"
#include "unit/decode/frame_builder.h"

namespace flightwall {
namespace {

using testing::Bytes;
constexpr std::uint8_t kSyn = 0x02;

class Filter {
 public:
  explicit Filter(const std::string& expression) {
    pcap_ = pcap_open_dead(DLT_EN10MB, 262144);
    ok_ = pcap_ != nullptr &&
          pcap_compile(pcap_, &program_, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
  }
  ~Filter() {
    if (ok_) pcap_freecode(&program_);
    if (pcap_ != nullptr) pcap_close(pcap_);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  bool ok() const { return ok_; }
  std::string error() const { return pcap_ ? pcap_geterr(pcap_) : "pcap_open_dead failed"; }
  bool Keeps(const Bytes& frame) const {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
    return pcap_offline_filter(&program_, &h, frame.data()) != 0;
  }

 private:
  pcap_t* pcap_ = nullptr;
  bpf_program program_{};
  bool ok_ = false;
};

Bytes Tcp4(const char* src, const char* dst, std::uint16_t dport) {
  return testing::Ipv4(src, dst, 6, testing::Tcp(50000, dport, kSyn, {}, 1));
}

TEST(LiveCaptureFilterTest, KeepsTheAppAndDnsUntaggedAndBehindVlanTags) {
  EXPECT_EQ(LiveCaptureFilterFor({}), "");
  const std::string expr = LiveCaptureFilterFor({"192.0.2.0/24", "2001:db8:1::/64"});
  const Filter f(expr);
  ASSERT_TRUE(f.ok()) << expr << ": " << f.error();
  const Bytes app = Tcp4("192.0.2.10", "198.51.100.10", 443);
  const Bytes other = Tcp4("203.0.113.5", "198.51.100.10", 443);
  const Bytes dns =
      testing::Ipv4("203.0.113.5", "203.0.113.53", 17, testing::Udp(40000, 53, Bytes(20, 0)));
  const Bytes app6 =
      testing::Ipv6("2001:db8:1::10", "2001:db8:100::10", 6, testing::Tcp(50000, 443, kSyn, {}, 1));
  constexpr std::uint16_t kIpv4 = 0x0800, kIpv6 = 0x86DD, kDot1q = 0x8100, kDot1ad = 0x88A8;
  for (const auto& [name, tags] :
       std::vector<std::pair<std::string, std::vector<std::pair<std::uint16_t, std::uint16_t>>>>{
           {"untagged", {}},
           {"802.1Q", {{kDot1q, 10}}},
           {"QinQ", {{kDot1ad, 100}, {kDot1q, 10}}}}) {
    const auto frame = [&, &tags = tags](std::uint16_t type, const Bytes& ip) {
      Bytes b = testing::Ethernet(type, ip);
      // Insert the tags after the MAC addresses, outermost first.
      Bytes tagged(b.begin(), b.begin() + 12);
      for (const auto& [tpid, vid] : tags) {
        tagged.insert(tagged.end(),
                      {static_cast<std::uint8_t>(tpid >> 8), static_cast<std::uint8_t>(tpid), 0,
                       static_cast<std::uint8_t>(vid)});
      }
      tagged.insert(tagged.end(), b.begin() + 12, b.end());
      return tagged;
    };
    EXPECT_TRUE(f.Keeps(frame(kIpv4, app))) << name;
    EXPECT_TRUE(f.Keeps(frame(kIpv6, app6))) << name;
    EXPECT_TRUE(f.Keeps(frame(kIpv4, dns))) << name;
    EXPECT_FALSE(f.Keeps(frame(kIpv4, other))) << name;
  }
}

}  // namespace
}  // namespace flightwall
