#include "firewall/nftables_backend.h"

#include <gtest/gtest.h>

#include "fake_command_runner.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

// Two apps: one on the tablet interfaces (app 0), one by source (app 1).
RulePlan ForwardPlan() {
  RulePlan plan;
  plan.settings.mode = InterceptMode::kForward;
  plan.selectors = {{RuleSelector::Kind::kInInterface, "lan0", false, 0},
                    {RuleSelector::Kind::kInInterface, "wlan+", false, 0},
                    {RuleSelector::Kind::kSource, "192.0.2.0/24", false, 1},
                    {RuleSelector::Kind::kSource, "2001:db8:1::/64", true, 1}};
  plan.dns_ports = {53, 5353};
  return plan;
}

TEST(NftablesRenderTest, ForwardModeIsOneInetTable) {
  EXPECT_EQ(RenderNftablesScript(ForwardPlan(), "FLIGHTWALL"),
            "table inet flightwall\n"
            "delete table inet flightwall\n"
            "table inet flightwall {\n"
            "\tchain app {\n"
            "\t\tmeta mark & 0x34000000 == 0x10000000 ct mark set ct mark & 0xcbffffff | "
            "0x10000000 accept\n"
            "\t\tmeta mark & 0x34000000 == 0x20000000 ct mark set ct mark & 0xcbffffff | "
            "0x20000000 drop\n"
            "\t\tmeta mark & 0x34000000 == 0x04000000 ct mark set ct mark & 0xcbffffff | "
            "0x04000000 accept\n"
            "\t\tmeta mark & 0x34000000 == 0x34000000 ct mark set ct mark & 0xcbffffff | "
            "0x34000000 accept\n"
            "\t\tct mark set ct mark | 0x40000000\n"
            "\t\tmeta mark set meta mark & 0xff00ffff\n"
            "\t\tct mark & 0x00ff0000 == 0x00010000 meta mark set meta mark | 0x00010000\n"
            "\t\tct mark & 0x00ff0000 == 0x00020000 meta mark set meta mark | 0x00020000\n"
            "\t\tct mark & 0x34000000 == 0x20000000 drop\n"
            "\t\tmeta l4proto { tcp, udp } th sport { 53, 5353 } queue to 0\n"
            "\t\tmeta l4proto { tcp, udp } th dport { 53, 5353 } queue to 0\n"
            "\t\tct mark & 0x34000000 == 0x04000000 ct direction reply meta length 121-65535 "
            "accept\n"
            "\t\tct mark & 0x34000000 == 0x10000000 accept\n"
            "\t\tqueue to 0\n"
            "\t}\n"
            "\tchain select {\n"
            "\t\tiifname \"lan0\" ct mark set ct mark & 0xff00ffff | 0x00010000 jump app\n"
            "\t\tiifname \"wlan*\" ct mark set ct mark & 0xff00ffff | 0x00010000 jump app\n"
            "\t\tip saddr 192.0.2.0/24 ct mark set ct mark & 0xff00ffff | 0x00020000 jump app\n"
            "\t\tip6 saddr 2001:db8:1::/64 ct mark set ct mark & 0xff00ffff | 0x00020000 jump "
            "app\n"
            "\t\tct mark & 0x40000000 == 0x40000000 jump app\n"
            "\t}\n"
            "\tchain forward {\n"
            "\t\ttype filter hook forward priority mangle; policy accept;\n"
            "\t\tjump select\n"
            "\t}\n"
            "}\n");
}

TEST(NftablesRenderTest, OutputModeQueueRangeFailOpenEveryPacket) {
  RulePlan plan;
  plan.settings.mode = InterceptMode::kOutput;
  plan.settings.queue_first = 0;
  plan.settings.queue_last = 3;
  plan.settings.fail_open = true;
  plan.settings.every_packet = true;
  plan.selectors = {{RuleSelector::Kind::kUid, "1001", false, 0},
                    {RuleSelector::Kind::kCgroup, "/flight.slice/app.service", false, 1},
                    {RuleSelector::Kind::kSource, "192.0.2.0/24", false, 2}};
  plan.dns_ports = {53};
  const std::string text = RenderNftablesScript(plan, "Fw_2");
  EXPECT_EQ(text.find("table inet fw_2\ndelete table inet fw_2\n"), 0u);
  EXPECT_NE(text.find("\t\tct mark & 0x34000000 == 0x20000000 drop\n\t\tqueue flags bypass to "
                      "0-3\n\t}\n"),
            std::string::npos)
      << text;
  // every-packet: no bypass by connmark; only repeat-mark verdicts are honoured.
  EXPECT_EQ(text.find("ct mark & 0x34000000 == 0x10000000 accept"), std::string::npos);
  EXPECT_NE(text.find("0x10000000 accept\n"), std::string::npos);
  EXPECT_EQ(text.find("th dport"), std::string::npos);
  EXPECT_NE(text.find("\t\tmeta mark & 0x08000000 == 0x08000000 return\n"
                      "\t\tmeta skuid 1001 ct mark set ct mark & 0xff00ffff | 0x00010000 jump "
                      "app\n"
                      "\t\tsocket cgroupv2 level 2 \"flight.slice/app.service\" ct mark set ct "
                      "mark & 0xff00ffff | 0x00020000 jump app\n"
                      "\t\tct mark & 0x40000000 == 0x40000000 jump app\n"),
            std::string::npos)
      << text;
  // Each output-mode app's mark is copied to the packet; the forward-mode
  // source's app (2) selects nothing here and needs no rule.
  EXPECT_NE(text.find("\t\tmeta mark set meta mark & 0xff00ffff\n"
                      "\t\tct mark & 0x00ff0000 == 0x00010000 meta mark set meta mark | "
                      "0x00010000\n"
                      "\t\tct mark & 0x00ff0000 == 0x00020000 meta mark set meta mark | "
                      "0x00020000\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("0x00030000"), std::string::npos);
  EXPECT_EQ(text.find("saddr"), std::string::npos);
  EXPECT_NE(text.find("hook output priority mangle; policy accept;\n\t\tjump select\n"),
            std::string::npos);
  EXPECT_NE(text.find("hook input priority mangle; policy accept;\n"
                      "\t\tiifname != \"lo\" ct mark & 0x40000000 == 0x40000000 jump app\n"),
            std::string::npos);
  EXPECT_EQ(text.find("hook forward"), std::string::npos);
}

struct NftWorld {
  std::vector<RecordedCommand> log;
  bool check_plain_ok = true;
  bool check_queue_ok = true;
  bool load_queue_ok = true;
  std::unique_ptr<NftablesBackend> Backend() {
    return std::make_unique<NftablesBackend>(
        "FLIGHTWALL", std::make_unique<FakeCommandRunner>(&log, [this](const RecordedCommand& c) {
          const bool queue = c.stdin_text.find("queue") != std::string::npos;
          const bool check = c.argv.size() > 1 && c.argv[1] == "-c";
          const bool ok =
              !queue ? (check ? check_plain_ok : true) : (check ? check_queue_ok : load_queue_ok);
          if (ok) return Succeeded();
          return Failed(1,
                        "/dev/stdin:3:3-12: Error: Could not process rule: No such file or "
                        "directory\n\t\tqueue to 0\n");
        }));
  }
};

TEST(NftablesBackendTest, ReportsTheMissingQueueExpression) {
  NftWorld world;
  world.check_queue_ok = false;
  const Status available = world.Backend()->Available();
  EXPECT_FALSE(available.ok());
  EXPECT_EQ(available.ToString(),
            "this kernel lacks nftables' queue expression (nft_queue); use backend: iptables "
            "(nft -c: /dev/stdin:3:3-12: Error: Could not process rule: No such file or "
            "directory)");
  // Only check mode was used: nothing was loaded into the namespace.
  for (const RecordedCommand& c : world.log) {
    EXPECT_TRUE(c.argv.size() < 2 || c.argv[1] == "-c" || c.argv[1] == "--version") << c.Joined();
  }
  // The probe hooks nothing, whatever happens to it.
  EXPECT_EQ(world.log[2].stdin_text.find("hook"), std::string::npos);
}

TEST(NftablesBackendTest, ConfirmsForRealWhenCheckModeAcceptsQueue) {
  NftWorld world;
  world.load_queue_ok = false;  // check mode did not reach the kernel
  const std::string why = world.Backend()->Available().ToString();
  EXPECT_NE(why.find("lacks nftables' queue expression (nft_queue); use backend: iptables (nft: "),
            std::string::npos)
      << why;
  ASSERT_EQ(world.log.size(), 5u);
  EXPECT_EQ(world.log[3].Joined(), "nft -f -");
  EXPECT_EQ(world.log[3].stdin_text.find("hook"), std::string::npos);
  EXPECT_EQ(world.log[4].stdin_text,
            "table inet flightwall_probe\ndelete table inet flightwall_probe\n");

  NftWorld good;
  EXPECT_TRUE(IsOk(good.Backend()->Available()));
  EXPECT_EQ(good.log.back().stdin_text,
            "table inet flightwall_probe\ndelete table inet flightwall_probe\n");
}

TEST(NftablesBackendTest, NoNftablesAtAll) {
  NftWorld world;
  world.check_plain_ok = false;
  std::string why = world.Backend()->Available().ToString();  // "OK" when available
  EXPECT_EQ(why.find("nftables is not usable here: nft -c: exit 1"), 0u) << why;

  std::vector<RecordedCommand> log;
  NftablesBackend absent(
      "FLIGHTWALL",
      std::make_unique<FakeCommandRunner>(&log, [](const RecordedCommand&) { return NotFound(); }));
  why = absent.Available().ToString();
  EXPECT_EQ(why.find("nft is not installed"), 0u) << why;
}

TEST(NftablesBackendTest, InstallAndRemoveAreSingleTransactions) {
  NftWorld world;
  auto backend = world.Backend();
  ASSERT_TRUE(IsOk(backend->Install(ForwardPlan())));
  ASSERT_TRUE(IsOk(backend->Remove()));
  ASSERT_EQ(world.log.size(), 2u);
  EXPECT_EQ(world.log[0].stdin_text, RenderNftablesScript(ForwardPlan(), "FLIGHTWALL"));
  EXPECT_EQ(world.log[1].stdin_text, "table inet flightwall\ndelete table inet flightwall\n");
  EXPECT_EQ(backend->Render(ForwardPlan()),
            "# nft -f FILE\n" + RenderNftablesScript(ForwardPlan(), "FLIGHTWALL"));
}

TEST(NftablesBackendTest, InstallErrorCarriesNftMessage) {
  NftWorld world;
  world.load_queue_ok = false;
  const std::string error = world.Backend()->Install(ForwardPlan()).ToString();
  EXPECT_EQ(error.find("nft -f -: exit 1: /dev/stdin:3:3-12: Error: Could not process rule"), 0u)
      << error;
}

}  // namespace
}  // namespace flightwall
