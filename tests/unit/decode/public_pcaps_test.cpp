// Replays every public capture through PcapSource + PacketDecoder and checks
// the result against what tshark extracted (MANIFEST.json): packet counts and
// the TCP and UDP conversations. This is the evidence that the decoder reads
// real traffic the way an independent dissector does.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "decode/packet_decoder.h"
#include "source/pcap_source.h"

namespace flightwall {
namespace {

namespace fs = std::filesystem;
using Conversation = std::pair<std::string, std::string>;  // endpoints, sorted

Conversation MakeConversation(std::string a, std::string b) {
  if (b < a) std::swap(a, b);
  return {a, b};
}

std::string Endpoint(const IpAddress& addr, std::uint16_t port) {
  return addr.ToString() + ":" + std::to_string(port);
}

// "a:port <-> b:port" as the manifest writes it.
Conversation ParseConversation(const std::string& text) {
  const auto arrow = text.find(" <-> ");
  return MakeConversation(text.substr(0, arrow), text.substr(arrow + 5));
}

// Conversations tshark reports that the decoder must not see, each with why.
// Key: file name, value: conversation text as in the manifest.
const std::multimap<std::string, std::string>& TsharkOnly() {
  static const auto* kExceptions = new std::multimap<std::string, std::string>{
      // Carried inside a GTP-U tunnel (UDP 2152 <-> 2152): tshark dissects
      // the tunnelled packet; the decoder reports the outer UDP flow, which
      // is the one a host firewall sees and acts on.
      {"tls_invalid_reads.pcap", "10.191.139.17:58552 <-> 54.221.224.45:443"},
  };
  return *kExceptions;
}

struct Seen {
  std::uint64_t packets = 0;
  std::string link_type_name;
  DecoderStats stats;
  std::set<Conversation> tcp;
  std::set<Conversation> udp;
};

Seen Replay(const fs::path& file) {
  Seen seen;
  auto opened = PcapSource::Open({file.string()});
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  if (!opened.ok()) return seen;
  auto source = std::move(opened).value();
  PacketDecoder decoder;
  RawPacket raw;
  DecodedPacket decoded;
  while (source->Next(&raw)) {
    ++seen.packets;
    if (decoder.Decode(raw, &decoded) != DecodeStatus::kOk) continue;
    const auto conv = MakeConversation(Endpoint(decoded.src, decoded.src_port),
                                       Endpoint(decoded.dst, decoded.dst_port));
    if (decoded.protocol == static_cast<std::uint8_t>(IpProto::kTcp)) seen.tcp.insert(conv);
    if (decoded.protocol == static_cast<std::uint8_t>(IpProto::kUdp)) seen.udp.insert(conv);
  }
  EXPECT_TRUE(source->Warnings().empty()) << source->Warnings().front();
  EXPECT_EQ(source->Inputs().at(0).packets, seen.packets);
  seen.link_type_name = source->Inputs().at(0).link_type_name;
  seen.stats = decoder.Stats();
  return seen;
}

std::set<Conversation> Expected(const std::string& name, const nlohmann::json& list) {
  std::set<Conversation> out;
  for (const auto& text : list) {
    const std::string s = text.get<std::string>();
    bool excepted = false;
    for (auto [it, end] = TsharkOnly().equal_range(name); it != end; ++it) {
      excepted = excepted || it->second == s;
    }
    if (!excepted) out.insert(ParseConversation(s));
  }
  return out;
}

std::string Describe(const std::set<Conversation>& convs) {
  std::string out;
  for (const auto& [a, b] : convs) out += "  " + a + " <-> " + b + "\n";
  return out;
}

std::set<Conversation> Minus(const std::set<Conversation>& a, const std::set<Conversation>& b) {
  std::set<Conversation> out;
  for (const auto& c : a) {
    if (!b.contains(c)) out.insert(c);
  }
  return out;
}

TEST(PublicPcapsTest, MatchesTsharkPacketCountsAndConversations) {
  const fs::path dir = FLIGHTWALL_PUBLIC_PCAPS;
  if (!fs::exists(dir / "MANIFEST.json")) {
    GTEST_SKIP() << "public captures not found at " << dir << "; see /work/shared/pcaps/public";
  }
  std::ifstream in(dir / "MANIFEST.json");
  const nlohmann::json manifest = nlohmann::json::parse(in);
  int files = 0;
  for (const auto& [name, facts] : manifest.at("files").items()) {
    SCOPED_TRACE(name);
    ++files;
    const Seen seen = Replay(dir / name);
    EXPECT_EQ(seen.packets, facts.at("packets").get<std::uint64_t>());
    EXPECT_EQ(seen.link_type_name, facts.at("link_type").get<std::string>());
    EXPECT_EQ(seen.stats.fragment_overlaps, 0u);
    if (name == "dns_fragmented.pcap" || name == "ip_fragmented_garbage.pcap") {
      EXPECT_GT(seen.stats.reassembled, 0u) << "these captures exist to exercise reassembly";
    }
    const auto tcp = Expected(name, facts.at("tcp_conversations"));
    const auto udp = Expected(name, facts.at("udp_conversations"));
    EXPECT_EQ(seen.tcp, tcp) << "decoder only:\n"
                             << Describe(Minus(seen.tcp, tcp)) << "tshark only:\n"
                             << Describe(Minus(tcp, seen.tcp));
    EXPECT_EQ(seen.udp, udp) << "decoder only:\n"
                             << Describe(Minus(seen.udp, udp)) << "tshark only:\n"
                             << Describe(Minus(udp, seen.udp));
  }
  EXPECT_GE(files, 30);
}

}  // namespace
}  // namespace flightwall
