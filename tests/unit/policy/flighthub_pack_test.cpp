// rules/self-hosted/flighthub-enterprise.yaml: the template an operator
// fills in to let the flight app reach their own FlightHub Enterprise /
// Pilot PE / Cloud API server. Filled in and included from a policy, it
// allows that server by name and by address on the listed TCP ports, and
// nothing else.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/decide.h"
#include "policy/policy_loader.h"
#include "policy_test_helpers.h"

namespace flightwall {
namespace {

namespace fs = std::filesystem;

constexpr Timestamp kNow = 1'700'000'000LL * kMicrosPerSecond;
const std::string kTemplate = FLIGHTWALL_SOURCE_DIR "/rules/self-hosted/flighthub-enterprise.yaml";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Replace(std::string* text, const std::string& from, const std::string& to) {
  const auto at = text->find(from);
  ASSERT_NE(at, std::string::npos) << "placeholder " << from << " not in the template";
  text->replace(at, from.size(), to);
}

class FlighthubPackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flightwall-fh-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // What an operator does: copy the template and change the CHANGE values.
    std::string pack = ReadFile(kTemplate);
    ASSERT_NE(pack.find("CHANGE"), std::string::npos);
    Replace(&pack, "flighthub.example.com", "fleet.ops.example");
    Replace(&pack, "198.51.100.20/32", "203.0.113.20/32");
    Replace(&pack, "2001:db8:20::20/128", "2001:db8:20::21/128");
    std::ofstream(dir_ / "flighthub-enterprise.yaml") << pack;
    const PolicyLoadResult r = LoadPolicyFromString(
        PolicyText("  - include: flighthub-enterprise.yaml\n"), "policy.yaml", dir_.string());
    ASSERT_TRUE(r.policy) << AllErrors(r);
    ASSERT_TRUE(r.errors.empty()) << AllErrors(r);
    policy_ = *r.policy;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A TCP (or UDP) flow to dst:port whose address DNS attested as `name`
  // (trusted resolver) and which revealed `name` in its ClientHello.
  Decision Flow(const char* dst, std::uint16_t port, const char* name,
                Transport transport = Transport::kTcp) {
    names_.clear();
    if (*name) {
      NameBinding b;
      b.name.Assign(name);
      b.trusted = true;
      b.ttl = 300;
      b.answered_at = kNow - 10 * kMicrosPerSecond;
      names_.push_back(b);
    }
    FlowFacts f;
    f.transport = transport;
    f.dst = *IpAddress::Parse(dst);
    f.dst_port = port;
    f.now = kNow;
    f.dst_names = names_;
    f.revealed_name = name;
    f.revealed_source = *name ? NameSource::kSni : NameSource::kNone;
    f.inspection = *name ? Inspection::kComplete : Inspection::kNoName;
    return DecideFlow(policy_, f);
  }

  fs::path dir_;
  Policy policy_;
  std::vector<NameBinding> names_;
};

TEST_F(FlighthubPackTest, LoadsAsTwoRules) {
  ASSERT_EQ(policy_.allow.size(), 2u);
  EXPECT_EQ(policy_.allow[0].name, "fleet-server-by-name");
  EXPECT_EQ(policy_.allow[1].name, "fleet-server-by-address");
}

TEST_F(FlighthubPackTest, AllowsTheServerByName) {
  EXPECT_EQ(Flow("192.0.2.200", 443, "fleet.ops.example").verdict, Verdict::kAllow);
  EXPECT_EQ(Flow("192.0.2.200", 8883, "fleet.ops.example").verdict, Verdict::kAllow);
}

TEST_F(FlighthubPackTest, AllowsTheServerByAddress) {
  EXPECT_EQ(Flow("203.0.113.20", 8883, "").reason, Reason::kAllowedCidr);
  EXPECT_EQ(Flow("203.0.113.20", 443, "").reason, Reason::kAllowedCidr);
  EXPECT_EQ(Flow("2001:db8:20::21", 443, "").reason, Reason::kAllowedCidr);
}

TEST_F(FlighthubPackTest, AllowsNothingElse) {
  // Other names, other ports, UDP, neighbouring addresses, DJI's cloud.
  EXPECT_EQ(Flow("192.0.2.200", 443, "other.ops.example").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("192.0.2.200", 443, "fleet.ops.example.evil.example").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("192.0.2.200", 1883, "fleet.ops.example").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("192.0.2.200", 80, "fleet.ops.example").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("192.0.2.200", 443, "fleet.ops.example", Transport::kUdp).verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("203.0.113.21", 443, "").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("203.0.113.20", 22, "").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("203.0.113.20", 443, "", Transport::kUdp).verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("2001:db8:20::20", 443, "").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("192.0.2.200", 443, "mydjiflight.dji.com").verdict, Verdict::kDeny);
  EXPECT_EQ(Flow("192.0.2.200", 443, "flighthub.example.com").verdict, Verdict::kDeny);
  // DNS: only the server's name may be asked.
  const auto resolver = *IpAddress::Parse("203.0.113.53");
  EXPECT_EQ(DecideDnsQuestion(policy_, resolver, "fleet.ops.example").verdict, Verdict::kAllow);
  EXPECT_EQ(DecideDnsQuestion(policy_, resolver, "account.dji.com").verdict, Verdict::kDeny);
}

// Unfilled, the template still parses (rules/ files must), and its
// placeholders are documentation names and addresses that match nothing.
TEST(FlighthubTemplateTest, PlaceholdersAreDocumentationValues) {
  const std::string text = ReadFile(kTemplate);
  EXPECT_NE(text.find("hosts: [flighthub.example.com]"), std::string::npos);
  EXPECT_NE(text.find("198.51.100.20/32"), std::string::npos);
  EXPECT_NE(text.find("2001:db8:20::20/128"), std::string::npos);
  EXPECT_NE(text.find("https://developer.dji.com/"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
