#include "firewall/bridge_netfilter.h"

#include <gtest/gtest.h>

#include <map>

#include "fake_command_runner.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

// A namespace with br0 (ifindex 7) whose ports are tab0 and up0, and eth9
// outside it. Files and links are what sysfs/procfs would show.
struct FakeKernel {
  std::map<std::string, std::string> files = {
      {"/sys/class/net/br0/ifindex", "7"},
      {"/sys/class/net/br0/bridge/nf_call_iptables", "0"},
      {"/sys/class/net/br0/bridge/nf_call_ip6tables", "1"},
      {"/sys/class/net/tab0/brport/port_no", "0x1"},
      {"/sys/class/net/up0/brport/port_no", "0x2"},
      {"/proc/sys/net/bridge/bridge-nf-call-iptables", "0"},
      {"/proc/sys/net/bridge/bridge-nf-call-ip6tables", "1"},
  };
  std::map<std::string, std::string> links = {{"/sys/class/net/tab0/master", "br0"},
                                              {"/sys/class/net/up0/master", "br0"}};
  std::map<std::string, unsigned> indexes = {{"br0", 7}, {"tab0", 8}, {"eth9", 9}};
  std::vector<RecordedCommand> log;
  std::string physdev_help = "physdev match options:\n";
  bool nft_installed = true;

  BridgeProbe Probe() {
    BridgeProbe p;
    p.read = [this](const std::string& path) -> std::optional<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
    p.link_name = [this](const std::string& path) -> std::optional<std::string> {
      auto it = links.find(path);
      if (it == links.end()) return std::nullopt;
      return it->second;
    };
    p.ifindex = [this](const std::string& name) {
      auto it = indexes.find(name);
      return it == indexes.end() ? 0u : it->second;
    };
    return p;
  }
  std::unique_ptr<BridgeNetfilter> Make() {
    return std::make_unique<BridgeNetfilter>(
        "FLIGHTWALL",
        std::make_unique<FakeCommandRunner>(
            &log,
            [this](const RecordedCommand& c) {
              if (c.argv[0] == "nft" && !nft_installed) return NotFound();
              if (c.argv[0] == "iptables") return Succeeded(physdev_help);
              // ip link set ... NAME VALUE: the kernel obeys.
              if (c.argv[0] == "ip") {
                files["/sys/class/net/" + c.argv[4] + "/bridge/" + c.argv[7]] = c.argv[8];
              }
              return Succeeded();
            }),
        Probe());
  }
};

RulePlan Plan(const std::vector<std::string>& ports, std::string bridge = "br0") {
  RulePlan plan;
  plan.settings.mode = InterceptMode::kBridge;
  plan.settings.bridge = std::move(bridge);
  for (auto& p : ports) plan.selectors.push_back({RuleSelector::Kind::kInInterface, p, false, 0});
  plan.selectors.push_back({RuleSelector::Kind::kSource, "192.0.2.0/24", false, 0});
  return plan;
}

std::string CheckError(FakeKernel& k, const RulePlan& plan) {
  std::vector<std::string> notes;
  return k.Make()->Check(plan, &notes).message();
}

TEST(BridgeNetfilterTest, CheckPassesForPortsOfTheBridge) {
  FakeKernel k;
  std::vector<std::string> notes;
  EXPECT_TRUE(IsOk(k.Make()->Check(Plan({"tab0", "tab0", "wlan+"}), &notes)));
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], "bridge mode: ports matching 'wlan+' are not checked to be ports of br0");
  // What the operator needs to know for refused packets to fail fast.
  EXPECT_EQ(notes[1].rfind("bridge mode: traffic bridged from tab0, wlan+ on br0 is governed; "
                           "fail-fast replies (RST, ICMP, DNS refusal) reach the tablet only if "
                           "this host has an address on br0",
                           0),
            0u)
      << notes[1];
  // Read only: nothing but tool probes ran.
  ASSERT_EQ(k.log.size(), 2u);
  EXPECT_EQ(k.log[0].Joined(), "nft --version");
  EXPECT_EQ(k.log[1].Joined(), "iptables -m physdev --help");
}

TEST(BridgeNetfilterTest, CheckSaysWhatIsMissingAndWhatToDo) {
  {
    FakeKernel k;
    EXPECT_EQ(CheckError(k, Plan({"tab0"}, "br9")),
              "bridge mode: there is no interface br9 in this network namespace; create the "
              "bridge (ip link add br9 type bridge) or fix intercept.bridge");
  }
  {
    FakeKernel k;
    k.files["/sys/class/net/br0/ifindex"] = "3";  // another namespace's sysfs
    EXPECT_NE(CheckError(k, Plan({"tab0"})).find("/sys/class/net does not show"),
              std::string::npos);
  }
  {
    FakeKernel k;
    k.indexes["eth9"] = 9;
    k.files["/sys/class/net/eth9/ifindex"] = "9";
    EXPECT_EQ(CheckError(k, Plan({"tab0"}, "eth9")),
              "bridge mode: interface eth9 is not a bridge; name the bridge in intercept.bridge");
  }
  {
    FakeKernel k;
    k.files.erase("/proc/sys/net/bridge/bridge-nf-call-iptables");
    EXPECT_EQ(CheckError(k, Plan({"tab0"})),
              "bridge mode: br_netfilter is not loaded, so bridged traffic never reaches the "
              "rules (modprobe br_netfilter, and list it in /etc/modules-load.d)");
  }
  {
    FakeKernel k;
    EXPECT_NE(CheckError(k, Plan({})).find("no flight app names a bridge port"), std::string::npos);
  }
  {
    FakeKernel k;
    EXPECT_EQ(CheckError(k, Plan({"tab0", "eth9"})),
              "bridge mode: interface eth9 is not a port of bridge br0 (ip link set eth9 master "
              "br0), or name the tablet-side port of it in the flight app's interfaces");
  }
  {
    FakeKernel k;
    k.links["/sys/class/net/tab0/master"] = "br1";  // a port, of another bridge
    EXPECT_NE(CheckError(k, Plan({"tab0"})).find("tab0 is not a port of bridge br0"),
              std::string::npos);
  }
  {
    FakeKernel k;
    k.nft_installed = false;
    EXPECT_NE(CheckError(k, Plan({"tab0"})).find("nft is not installed"), std::string::npos);
  }
  {
    FakeKernel k;
    k.physdev_help = "iptables: Couldn't load match `physdev'\n";
    EXPECT_NE(CheckError(k, Plan({"tab0"})).find("lacks the physdev match"), std::string::npos);
  }
}

TEST(BridgeNetfilterTest, EngageLoadsTheGuardTurnsOnWhatIsOffAndReleaseUndoesIt) {
  FakeKernel k;
  auto bridge = k.Make();
  std::vector<std::string> notes;
  ASSERT_TRUE(IsOk(bridge->Engage(Plan({"tab0"}), &notes)));
  ASSERT_EQ(k.log.size(), 2u);
  EXPECT_EQ(k.log[0].Joined(), "nft -f -");
  EXPECT_EQ(k.log[0].stdin_text, RenderBridgeGuard(Plan({"tab0"}), "FLIGHTWALL"));
  // nf_call_ip6tables was already on: only IPv4's switch is turned on.
  EXPECT_EQ(k.log[1].Joined(), "ip link set dev br0 type bridge nf_call_iptables 1");
  EXPECT_EQ(k.files["/sys/class/net/br0/bridge/nf_call_iptables"], "1");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0],
            "bridge br0: nf_call_iptables was 0 (net.bridge.bridge-nf-call-iptables is 0 in this "
            "namespace); flightwall set it to 1 so bridged traffic reaches the rules, and sets "
            "it back when it removes them");
  // A reload engages again: nothing more to turn on, the guard is replaced.
  notes.clear();
  ASSERT_TRUE(IsOk(bridge->Engage(Plan({"tab0"}), &notes)));
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(k.log.size(), 3u);

  ASSERT_TRUE(IsOk(bridge->Release()));
  ASSERT_EQ(k.log.size(), 5u);
  EXPECT_EQ(k.log[3].Joined(), "ip link set dev br0 type bridge nf_call_iptables 0");
  EXPECT_EQ(k.log[4].stdin_text, "table bridge flightwall\ndelete table bridge flightwall\n");
  EXPECT_EQ(k.files["/sys/class/net/br0/bridge/nf_call_ip6tables"], "1");
  // Twice is harmless.
  ASSERT_TRUE(IsOk(bridge->Release()));
  EXPECT_EQ(k.log.size(), 5u);
}

TEST(BridgeNetfilterTest, ReassertTurnsASwitchBackOn) {
  FakeKernel k;
  auto bridge = k.Make();
  std::vector<std::string> notes;
  EXPECT_TRUE(IsOk(bridge->Reassert(&notes)));  // not engaged: nothing to do
  EXPECT_TRUE(k.log.empty());
  ASSERT_TRUE(IsOk(bridge->Engage(Plan({"tab0"}), &notes)));
  notes.clear();
  const std::size_t commands = k.log.size();
  EXPECT_TRUE(IsOk(bridge->Reassert(&notes)));
  EXPECT_EQ(k.log.size(), commands);  // both on: only reads
  k.files["/sys/class/net/br0/bridge/nf_call_ip6tables"] = "0";
  EXPECT_TRUE(IsOk(bridge->Reassert(&notes)));
  EXPECT_EQ(k.log.back().Joined(), "ip link set dev br0 type bridge nf_call_ip6tables 1");
  EXPECT_EQ(notes, std::vector<std::string>{"bridge br0: nf_call_ip6tables was turned off while "
                                            "enforcing; flightwall set it back to 1"});
}

TEST(BridgeNetfilterTest, EngageFailsWhenTheSwitchDoesNotStick) {
  FakeKernel k;
  auto bridge = std::make_unique<BridgeNetfilter>(
      "FLIGHTWALL",
      std::make_unique<FakeCommandRunner>(&k.log,
                                          [](const RecordedCommand&) { return Succeeded(); }),
      k.Probe());
  std::vector<std::string> notes;
  const Status engaged = bridge->Engage(Plan({"tab0"}), &notes);
  EXPECT_FALSE(engaged.ok());
  EXPECT_EQ(engaged.ToString(), "bridge br0: nf_call_iptables reads 0 after setting it to 1");
}

TEST(BridgeNetfilterTest, GuardDropsNonIpFramesBothWaysOnEachPort) {
  EXPECT_EQ(RenderBridgeGuard(Plan({"tab0", "wlan+"}), "FLIGHTWALL"),
            "table bridge flightwall\n"
            "delete table bridge flightwall\n"
            "table bridge flightwall {\n"
            "\tchain forward {\n"
            "\t\ttype filter hook forward priority -200; policy accept;\n"
            "\t\tiifname \"tab0\" ether type != { ip, ip6, arp } counter drop\n"
            "\t\toifname \"tab0\" ether type != { ip, ip6, arp } counter drop\n"
            "\t\tiifname \"wlan*\" ether type != { ip, ip6, arp } counter drop\n"
            "\t\toifname \"wlan*\" ether type != { ip, ip6, arp } counter drop\n"
            "\t}\n"
            "}\n");
}

TEST(BridgeNetfilterTest, InterfaceNames) {
  EXPECT_TRUE(IsValidInterfaceName("br0").ok());
  EXPECT_TRUE(IsValidInterfaceName("wlan+").ok());
  EXPECT_EQ(IsValidInterfaceName("a-very-long-bridge").ToString(),
            "interface name 'a-very-long-bridge' must be 1-15 characters long");
  EXPECT_FALSE(IsValidInterfaceName("br0;x").ok());
  EXPECT_FALSE(IsValidInterfaceName("w+lan").ok());
  EXPECT_FALSE(IsValidInterfaceName("").ok());
}

}  // namespace
}  // namespace flightwall
