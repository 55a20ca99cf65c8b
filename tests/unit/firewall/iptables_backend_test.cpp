#include "firewall/iptables_backend.h"

#include <gtest/gtest.h>

#include "fake_command_runner.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

// Two apps: the tablet on lan0 (app 0) and a second one by source (app 1).
RulePlan ForwardPlan() {
  RulePlan plan;
  plan.settings.mode = InterceptMode::kForward;
  plan.selectors = {{RuleSelector::Kind::kInInterface, "lan0", false, 0},
                    {RuleSelector::Kind::kSource, "192.0.2.0/24", false, 1},
                    {RuleSelector::Kind::kSource, "2001:db8:1::/64", true, 1}};
  plan.dns_ports = {53};
  return plan;
}

// Two apps: one by uid (app 0), one by cgroup (app 1).
RulePlan OutputPlan() {
  RulePlan plan;
  plan.settings.mode = InterceptMode::kOutput;
  plan.selectors = {{RuleSelector::Kind::kUid, "1001", false, 0},
                    {RuleSelector::Kind::kCgroup, "/flight.slice", false, 1},
                    // Forward-mode selectors never leak into output rules.
                    {RuleSelector::Kind::kInInterface, "lan0", false, 0}};
  plan.dns_ports = {53};
  return plan;
}

// The fast path for decided connections, first in FLIGHTWALL (DNS port 53).
const char* const kFastPath =
    "-A FLIGHTWALL -m mark --mark 0x0/0x34000000 -m connmark --mark 0x60000000/0x74000000 "
    "-j DROP\n"
    "-A FLIGHTWALL -p tcp -m multiport ! --ports 53 -m mark --mark 0x0/0x34000000 -m connmark "
    "--mark 0x50000000/0x74000000 -j ACCEPT\n"
    "-A FLIGHTWALL -p tcp -m multiport ! --ports 53 -m mark --mark 0x0/0x34000000 -m connmark "
    "--mark 0x44000000/0x74000000 -m conntrack --ctdir REPLY -m length --length 121:65535 "
    "-j ACCEPT\n"
    "-A FLIGHTWALL -p tcp -m multiport ! --ports 53 -m mark --mark 0x0/0x34000000 -m connmark "
    "--mark 0x44000000/0x74000000 -m conntrack --ctdir ORIGINAL -m tcp --tcp-flags "
    "FIN,SYN,RST,PSH,ACK,URG ACK -m u32 --u32 \"0x0&0x3=0x0&&0x4&0x3fff=0x0\" -m u32 ! --u32 "
    "\"0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x0:0xffffffff\" -j ACCEPT\n"
    "-A FLIGHTWALL -p udp -m multiport ! --ports 53 -m mark --mark 0x0/0x34000000 -m connmark "
    "--mark 0x50000000/0x74000000 -j ACCEPT\n";

// The pure ACK rule's u32 tests, by family.
const char* const kPureAckV4 =
    "-m u32 --u32 \"0x0&0x3=0x0&&0x4&0x3fff=0x0\" -m u32 ! --u32 "
    "\"0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x0:0xffffffff\"";
const char* const kPureAckV6 =
    "-m u32 --u32 \"0x4>>0x8&0xff=0x6&&0x4>>0x10&0x3=0x0\" -m u32 ! --u32 "
    "\"0x34>>0x1a&0x3c@0x28=0x0:0xffffffff\"";

// FLIGHTWALL_APP in decisions mode: repeat-mark verdicts, marks, DNS, the connmark verdicts.
const char* const kAppChain =
    "-A FLIGHTWALL_APP -m mark --mark 0x10000000/0x34000000 -j CONNMARK --save-mark "
    "--nfmask 0x34000000 --ctmask 0x34000000\n"
    "-A FLIGHTWALL_APP -m mark --mark 0x10000000/0x34000000 -j ACCEPT\n"
    "-A FLIGHTWALL_APP -m mark --mark 0x20000000/0x34000000 -j CONNMARK --save-mark "
    "--nfmask 0x34000000 --ctmask 0x34000000\n"
    "-A FLIGHTWALL_APP -m mark --mark 0x20000000/0x34000000 -j DROP\n"
    "-A FLIGHTWALL_APP -m mark --mark 0x4000000/0x34000000 -j CONNMARK --save-mark "
    "--nfmask 0x34000000 --ctmask 0x34000000\n"
    "-A FLIGHTWALL_APP -m mark --mark 0x4000000/0x34000000 -j ACCEPT\n"
    "-A FLIGHTWALL_APP -m mark --mark 0x34000000/0x34000000 -j CONNMARK --save-mark "
    "--nfmask 0x34000000 --ctmask 0x34000000\n"
    "-A FLIGHTWALL_APP -m mark --mark 0x34000000/0x34000000 -j ACCEPT\n"
    "-A FLIGHTWALL_APP -j CONNMARK --set-xmark 0x40000000/0x40000000\n"
    "-A FLIGHTWALL_APP -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000\n"
    "-A FLIGHTWALL_APP -m connmark --mark 0x20000000/0x34000000 -j DROP\n"
    "-A FLIGHTWALL_APP -p udp -m multiport --ports 53 -j NFQUEUE --queue-num 0\n"
    "-A FLIGHTWALL_APP -p tcp -m multiport --ports 53 -j NFQUEUE --queue-num 0\n"
    "-A FLIGHTWALL_APP -m connmark --mark 0x4000000/0x34000000 -m conntrack --ctdir REPLY "
    "-m length --length 121:65535 -j ACCEPT\n"
    "-A FLIGHTWALL_APP -m connmark --mark 0x10000000/0x34000000 -j ACCEPT\n"
    "-A FLIGHTWALL_APP -j NFQUEUE --queue-num 0\n";

std::string Script(const RulePlan& plan, bool v6) {
  return RenderIptablesScript(BuildIptablesRules(plan, "FLIGHTWALL", v6));
}

TEST(IptablesRenderTest, ForwardModeIPv4) {
  EXPECT_EQ(Script(ForwardPlan(), false),
            "*mangle\n"
            ":FLIGHTWALL - [0:0]\n"
            ":FLIGHTWALL_APP - [0:0]\n" +
                std::string(kFastPath) +
                "-A FLIGHTWALL -i lan0 -j CONNMARK --set-xmark 0x10000/0xff0000\n"
                "-A FLIGHTWALL -i lan0 -j FLIGHTWALL_APP\n"
                "-A FLIGHTWALL -s 192.0.2.0/24 -j CONNMARK --set-xmark 0x20000/0xff0000\n"
                "-A FLIGHTWALL -s 192.0.2.0/24 -j FLIGHTWALL_APP\n"
                "-A FLIGHTWALL -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP\n" +
                kAppChain +
                "-I FORWARD 1 -j FLIGHTWALL\n"
                "COMMIT\n");
}

TEST(IptablesRenderTest, ForwardModeIPv6TakesOnlyIPv6Sources) {
  const IptablesRuleSet set = BuildIptablesRules(ForwardPlan(), "FLIGHTWALL", true);
  ASSERT_GE(set.rules.size(), 10u);
  // The client's pure ACKs, read in IPv6's header.
  EXPECT_NE(set.rules[3].find(kPureAckV6), std::string::npos) << set.rules[3];
  EXPECT_EQ(set.rules[5], "-A FLIGHTWALL -i lan0 -j CONNMARK --set-xmark 0x10000/0xff0000");
  EXPECT_EQ(set.rules[6], "-A FLIGHTWALL -i lan0 -j FLIGHTWALL_APP");
  EXPECT_EQ(set.rules[7],
            "-A FLIGHTWALL -s 2001:db8:1::/64 -j CONNMARK --set-xmark 0x20000/0xff0000");
  EXPECT_EQ(set.rules[8], "-A FLIGHTWALL -s 2001:db8:1::/64 -j FLIGHTWALL_APP");
  EXPECT_EQ(set.rules[9],
            "-A FLIGHTWALL -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP");
  EXPECT_EQ(Script(ForwardPlan(), true).find("192.0.2.0"), std::string::npos);
  EXPECT_EQ(set.jumps, std::vector<std::string>{"-I FORWARD 1 -j FLIGHTWALL"});
}

TEST(IptablesRenderTest, OutputModeUsesOwnerAndCgroupAndSkipsLoopbackInInput) {
  EXPECT_EQ(Script(OutputPlan(), false),
            "*mangle\n"
            ":FLIGHTWALL - [0:0]\n"
            ":FLIGHTWALL_APP - [0:0]\n"
            "-A FLIGHTWALL -m mark --mark 0x8000000/0x8000000 -j RETURN\n" +
                std::string(kFastPath) +
                "-A FLIGHTWALL -m owner --uid-owner 1001 -j CONNMARK --set-xmark 0x10000/0xff0000\n"
                "-A FLIGHTWALL -m owner --uid-owner 1001 -j FLIGHTWALL_APP\n"
                "-A FLIGHTWALL -m cgroup --path \"/flight.slice\" -j CONNMARK --set-xmark "
                "0x20000/0xff0000\n"
                "-A FLIGHTWALL -m cgroup --path \"/flight.slice\" -j FLIGHTWALL_APP\n"
                "-A FLIGHTWALL -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP\n" +
                kAppChain +
                "-I OUTPUT 1 -j FLIGHTWALL\n"
                "-I INPUT 1 ! -i lo -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP\n"
                "COMMIT\n");
  // The same rules for IPv6 (uids and cgroups have no family) but for where
  // the pure ACK rule reads the headers.
  std::string v4 = Script(OutputPlan(), false);
  const auto at = v4.find(kPureAckV4);
  ASSERT_NE(at, std::string::npos);
  v4.replace(at, std::string(kPureAckV4).size(), kPureAckV6);
  EXPECT_EQ(Script(OutputPlan(), true), v4);
}

TEST(IptablesRenderTest, QueueRangeFailOpenAndEveryPacket) {
  RulePlan plan = ForwardPlan();
  plan.settings.queue_first = 2;
  plan.settings.queue_last = 5;
  plan.settings.fail_open = true;
  std::string script = Script(plan, false);
  EXPECT_NE(script.find("-A FLIGHTWALL_APP -j NFQUEUE --queue-balance 2:5 --queue-bypass\n"),
            std::string::npos);
  EXPECT_EQ(script.find("--queue-num"), std::string::npos);

  plan.settings.fail_open = false;
  plan.settings.queue_first = plan.settings.queue_last = 7;
  plan.settings.every_packet = true;
  const IptablesRuleSet set = BuildIptablesRules(plan, "FW", false);
  // every-packet: nothing is accepted by connmark, DNS needs no rule of its own;
  // a repeat-mark verdict is still honoured (else the packet would loop).
  // Its fast path only drops what is decided denied.
  ASSERT_EQ(set.rules.size(), 18u);
  EXPECT_EQ(set.rules[0],
            "-A FW -m mark --mark 0x0/0x34000000 -m connmark --mark 0x60000000/0x74000000 -j DROP");
  EXPECT_EQ(set.rules[7], "-A FW_APP -m mark --mark 0x10000000/0x34000000 -j ACCEPT");
  EXPECT_EQ(set.rules[14], "-A FW_APP -j CONNMARK --set-xmark 0x40000000/0x40000000");
  EXPECT_EQ(set.rules[15],
            "-A FW_APP -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000");
  EXPECT_EQ(set.rules[16], "-A FW_APP -m connmark --mark 0x20000000/0x34000000 -j DROP");
  EXPECT_EQ(set.rules[17], "-A FW_APP -j NFQUEUE --queue-num 7");
  EXPECT_EQ(Script(plan, false).find("bypass"), std::string::npos);
  EXPECT_EQ(Script(plan, false).find("-m connmark --mark 0x10000000"), std::string::npos);
}

TEST(IptablesRenderTest, ManyDnsPortsAreSplitForMultiport) {
  RulePlan plan = ForwardPlan();
  plan.dns_ports.clear();
  for (std::uint16_t p = 1; p <= 17; ++p) plan.dns_ports.push_back(p);
  const std::string script = Script(plan, false);
  EXPECT_NE(script.find("-p udp -m multiport --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -j"),
            std::string::npos);
  EXPECT_NE(script.find("-p udp -m multiport --ports 16,17 -j"), std::string::npos);
  EXPECT_NE(script.find("-p tcp -m multiport --ports 16,17 -j"), std::string::npos);
  // The fast path leaves out every DNS port: both lists, negated.
  EXPECT_NE(script.find("-A FLIGHTWALL -p udp -m multiport ! --ports "
                        "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -m multiport ! --ports 16,17 -m mark"),
            std::string::npos);
  plan.dns_ports.clear();
  EXPECT_EQ(Script(plan, false).find("multiport"), std::string::npos);
  EXPECT_NE(Script(plan, false)
                .find("-A FLIGHTWALL -p udp -m mark --mark 0x0/0x34000000 "
                      "-m connmark --mark 0x50000000/0x74000000 -j ACCEPT"),
            std::string::npos);
}

TEST(IptablesRenderTest, NoSelectorsStillFollowsGovernedConnections) {
  RulePlan plan;
  const IptablesRuleSet set = BuildIptablesRules(plan, "FLIGHTWALL", false);
  ASSERT_GE(set.rules.size(), 5u);
  EXPECT_EQ(set.rules[5],
            "-A FLIGHTWALL -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP");
}

TEST(IptablesRenderTest, RenderShowsBothFamilies) {
  IptablesBackend backend("FLIGHTWALL", nullptr);
  const std::string text = backend.Render(ForwardPlan());
  EXPECT_EQ(text.find("# IPv4: iptables-restore --noflush\n*mangle\n"), 0u);
  EXPECT_NE(text.find("COMMIT\n# IPv6: ip6tables-restore --noflush\n*mangle\n"), std::string::npos);
  EXPECT_NE(text.find("-s 2001:db8:1::/64"), std::string::npos);
}

constexpr const char* kSaveWithInstall =
    "# Generated by iptables-save v1.8.9 (nf_tables)\n"
    "*mangle\n"
    ":PREROUTING ACCEPT [0:0]\n"
    ":INPUT ACCEPT [0:0]\n"
    ":FORWARD ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    ":POSTROUTING ACCEPT [0:0]\n"
    ":FLIGHTWALL - [0:0]\n"
    ":FLIGHTWALL_APP - [0:0]\n"
    ":FLIGHTWALL2 - [0:0]\n"
    ":OPERATOR - [0:0]\n"
    "-A INPUT ! -i lo -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP\n"
    "-A FORWARD -j FLIGHTWALL\n"
    "-A FORWARD -p tcp -m tcp --dport 9 -j RETURN\n"
    "-A OUTPUT -j FLIGHTWALL2\n"
    "-A OPERATOR -g FLIGHTWALL\n"
    "-A FLIGHTWALL -i lan0 -j FLIGHTWALL_APP\n"
    "-A FLIGHTWALL_APP -j NFQUEUE --queue-num 0\n"
    "COMMIT\n";

TEST(IptablesSaveTest, FindsJumpsToOurChainsOnlyOutsideThem) {
  const IptablesInstalled installed = ParseIptablesSave(kSaveWithInstall, "FLIGHTWALL");
  EXPECT_EQ(installed.jump_deletions,
            (std::vector<std::string>{
                "-D INPUT ! -i lo -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP",
                "-D FORWARD -j FLIGHTWALL", "-D OPERATOR -g FLIGHTWALL"}));
  EXPECT_EQ(installed.chains, (std::vector<std::string>{"FLIGHTWALL", "FLIGHTWALL_APP"}));
  EXPECT_TRUE(ParseIptablesSave("*mangle\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "FLIGHTWALL").Empty());
  EXPECT_TRUE(ParseIptablesSave("", "FLIGHTWALL").Empty());
  // Another prefix sees only its own chain.
  const IptablesInstalled other = ParseIptablesSave(kSaveWithInstall, "FLIGHTWALL2");
  EXPECT_EQ(other.jump_deletions, std::vector<std::string>{"-D OUTPUT -j FLIGHTWALL2"});
  EXPECT_EQ(other.chains, std::vector<std::string>{"FLIGHTWALL2"});
}

TEST(IptablesSaveTest, SurvivesTruncatedAndOddLines) {
  const IptablesInstalled installed =
      ParseIptablesSave(":\n-A\n-A FORWARD -j\n-A FORWARD\n:FLIGHTWALL", "FLIGHTWALL");
  EXPECT_TRUE(installed.jump_deletions.empty());
  EXPECT_EQ(installed.chains, std::vector<std::string>{"FLIGHTWALL"});
}

// A fake iptables world: *-save prints `save`, everything else succeeds.
struct FakeWorld {
  std::vector<RecordedCommand> log;
  std::string save_v4 = "*mangle\n:FORWARD ACCEPT [0:0]\nCOMMIT\n";
  std::string save_v6 = "*mangle\n:FORWARD ACCEPT [0:0]\nCOMMIT\n";
  CommandResult restore_result = Succeeded();
  std::unique_ptr<IptablesBackend> Backend() {
    return std::make_unique<IptablesBackend>(
        "FLIGHTWALL", std::make_unique<FakeCommandRunner>(&log, [this](const RecordedCommand& c) {
          if (c.argv[0] == "iptables-save") return Succeeded(save_v4);
          if (c.argv[0] == "ip6tables-save") return Succeeded(save_v6);
          if (c.argv[0].ends_with("-restore")) return restore_result;
          return Succeeded();
        }));
  }
};

TEST(IptablesBackendTest, InstallReplacesPreviousJumpsInOneTransactionPerFamily) {
  FakeWorld world;
  world.save_v4 = kSaveWithInstall;
  ASSERT_TRUE(IsOk(world.Backend()->Install(ForwardPlan())));
  ASSERT_EQ(world.log.size(), 4u);
  EXPECT_EQ(world.log[0].Joined(), "iptables-save -t mangle");
  EXPECT_EQ(world.log[1].Joined(), "iptables-restore -w 5 --noflush");
  EXPECT_EQ(world.log[2].Joined(), "ip6tables-save -t mangle");
  EXPECT_EQ(world.log[3].Joined(), "ip6tables-restore -w 5 --noflush");
  const std::string& v4 = world.log[1].stdin_text;
  EXPECT_EQ(v4.find("*mangle\n-D INPUT ! -i lo -m connmark --mark 0x40000000/0x40000000 -j "
                    "FLIGHTWALL_APP\n-D FORWARD -j FLIGHTWALL\n-D OPERATOR -g FLIGHTWALL\n"
                    ":FLIGHTWALL - [0:0]\n"),
            0u);
  EXPECT_TRUE(v4.ends_with("-I FORWARD 1 -j FLIGHTWALL\nCOMMIT\n"));
  // Nothing installed for IPv6: the script is exactly the rendered one.
  EXPECT_EQ(world.log[3].stdin_text, Script(ForwardPlan(), true));
}

TEST(IptablesBackendTest, InstallErrorNamesToolAndQuotesTheFailingRule) {
  FakeWorld world;
  world.restore_result =
      Failed(4,
             "iptables-restore v1.8.9 (nf_tables): \nline 12: RULE_APPEND failed (Invalid "
             "argument): rule in chain FLIGHTWALL\n");
  const Status installed = world.Backend()->Install(OutputPlan());
  ASSERT_FALSE(installed.ok());
  const std::string error = installed.ToString();
  EXPECT_EQ(error.find("iptables-restore --noflush: exit 4: iptables-restore v1.8.9 (nf_tables): "
                       "line 12: RULE_APPEND failed"),
            0u)
      << error;
  EXPECT_NE(error.find("[line 12: -A FLIGHTWALL -m cgroup --path \"/flight.slice\" -j CONNMARK "
                       "--set-xmark 0x20000/0xff0000]"),
            std::string::npos)
      << error;
  EXPECT_EQ(world.log.size(), 2u);  // stopped at IPv4
}

TEST(IptablesBackendTest, InstallRefusesABadPrefixBeforeRunningAnything) {
  std::vector<RecordedCommand> log;
  IptablesBackend backend("BAD PREFIX",
                          std::make_unique<FakeCommandRunner>(
                              &log, [](const RecordedCommand&) { return Succeeded(); }));
  const Status installed = backend.Install(ForwardPlan());
  const Status removed = backend.Remove();
  EXPECT_FALSE(installed.ok());
  EXPECT_FALSE(removed.ok());
  EXPECT_NE(installed.ToString().find("chain prefix 'BAD PREFIX'"), std::string::npos);
  EXPECT_NE(removed.ToString().find("chain prefix 'BAD PREFIX'"), std::string::npos);
  EXPECT_TRUE(log.empty());
}

TEST(IptablesBackendTest, RemoveDeletesJumpsThenFlushesThenDeletesChains) {
  FakeWorld world;
  world.save_v6 = kSaveWithInstall;
  ASSERT_TRUE(IsOk(world.Backend()->Remove()));
  // IPv4 has nothing installed: no restore is run for it.
  ASSERT_EQ(world.log.size(), 3u);
  EXPECT_EQ(world.log[1].Joined(), "ip6tables-save -t mangle");
  EXPECT_EQ(world.log[2].Joined(), "ip6tables-restore -w 5 --noflush");
  EXPECT_EQ(world.log[2].stdin_text,
            "*mangle\n"
            "-D INPUT ! -i lo -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP\n"
            "-D FORWARD -j FLIGHTWALL\n"
            "-D OPERATOR -g FLIGHTWALL\n"
            "-F FLIGHTWALL\n-F FLIGHTWALL_APP\n-X FLIGHTWALL\n-X FLIGHTWALL_APP\n"
            "COMMIT\n");
}

TEST(IptablesBackendTest, RemoveReportsAnUnreadableRuleset) {
  std::vector<RecordedCommand> log;
  IptablesBackend backend("FLIGHTWALL",
                          std::make_unique<FakeCommandRunner>(&log, [](const RecordedCommand&) {
                            return Failed(1, "Permission denied (you must be root)\n");
                          }));
  const Status removed = backend.Remove();
  EXPECT_FALSE(removed.ok());
  EXPECT_EQ(removed.ToString(),
            "iptables-save -t mangle: exit 1: Permission denied (you must be root)");
}

TEST(IptablesBackendTest, AvailableExplainsWhatIsMissing) {
  std::vector<RecordedCommand> log;
  std::string missing;  // program that "is not installed"
  bool can_list = true;
  std::string help = "NFQUEUE target options\nconnmark match options\n";
  IptablesBackend backend("FLIGHTWALL",
                          std::make_unique<FakeCommandRunner>(&log, [&](const RecordedCommand& c) {
                            if (c.argv[0] == missing) return NotFound();
                            if (c.argv.back() == "-S" && !can_list)
                              return Failed(4, "Permission denied\n");
                            if (c.argv.back() == "--help") return Succeeded(help);
                            return Succeeded();
                          }));
  EXPECT_TRUE(IsOk(backend.Available()));
  std::string why;

  missing = "ip6tables";
  why = backend.Available().ToString();  // "OK" when available
  EXPECT_NE(why.find("ip6tables is not installed"), std::string::npos) << why;

  missing = "iptables-restore";
  why = backend.Available().ToString();  // "OK" when available
  EXPECT_NE(why.find("iptables-restore is not installed"), std::string::npos) << why;

  missing.clear();
  can_list = false;
  why = backend.Available().ToString();  // "OK" when available
  EXPECT_NE(why.find("CAP_NET_ADMIN"), std::string::npos) << why;

  can_list = true;
  help = "connmark match options\n";
  why = backend.Available().ToString();  // "OK" when available
  EXPECT_NE(why.find("lacks the NFQUEUE target"), std::string::npos) << why;
}

}  // namespace
}  // namespace flightwall
