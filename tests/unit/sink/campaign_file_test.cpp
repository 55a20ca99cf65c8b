// The campaign file: what was audited (app, version, device, vantage) and
// each scenario's captures; every mistake named with its line and a fix.
#include "sink/campaign_file.h"

#include <gtest/gtest.h>

#include <string>

namespace flightwall {
namespace {

TEST(CampaignFileTest, ReadsTheAppTheScenariosAndResolvesCapturesBesideTheFile) {
  const auto r = LoadCampaignFromString(R"(
app: DJI Pilot 2
version: "9.1.0"
device: DJI RC Plus
vantage: device
scenarios:
  - name: idle
    description: app open on the map
    captures: [idle.pcapng]
  - name: flying
    captures: [flights/f1.pcapng, /data/f2.pcapng]
)",
                                        "c.yaml", "/audits/pilot2");
  ASSERT_TRUE(r.campaign) << (r.errors.empty() ? "" : r.errors[0].ToString());
  const CampaignFile& c = *r.campaign;
  EXPECT_EQ(c.app, "DJI Pilot 2");
  EXPECT_EQ(c.version, "9.1.0");
  EXPECT_EQ(c.vantage, "device");
  EXPECT_EQ(c.sha256.size(), 64u);
  ASSERT_EQ(c.scenarios.size(), 2u);
  EXPECT_EQ(c.scenarios[0].description, "app open on the map");
  EXPECT_EQ(c.scenarios[0].captures[0], "/audits/pilot2/idle.pcapng");
  EXPECT_EQ(c.scenarios[1].captures[0], "/audits/pilot2/flights/f1.pcapng");
  EXPECT_EQ(c.scenarios[1].captures[1], "/data/f2.pcapng");
}

TEST(CampaignFileTest, MistakesNameTheirLineAndWhatToWrite) {
  struct Case {
    const char* text;
    int line;
    const char* says;
  };
  for (const Case& k : {
           Case{"app: x\nscenarios: []\n", 2, "at least one"},
           Case{"app: x\nscenario:\n  - name: a\n    captures: [a.pcap]\n", 2, "did you mean"},
           Case{"scenarios:\n  - name: a b\n    captures: [a.pcap]\n", 2, "letters, digits"},
           Case{"scenarios:\n  - name: a\n    captures: [a.pcap]\n  - name: a\n    captures: "
                "[b.pcap]\n",
                4, "named twice"},
           Case{"scenarios:\n  - name: a\n    captures: a.pcap\n", 3, "list of capture files"},
           Case{"vantage: gateway\nscenarios:\n  - name: a\n    captures: [a.pcap]\n", 1,
                "network | device"},
           Case{"scenarios:\n  - name: a\n    capture: [a.pcap]\n", 3, "did you mean 'captures'"},
           Case{"scenarios: [unclosed\n", 2, "YAML syntax"},
           Case{"- just\n- a list\n", 1, "a campaign is a map"},
       }) {
    const auto r = LoadCampaignFromString(k.text, "c.yaml", "/");
    ASSERT_FALSE(r.campaign) << k.text;
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.errors[0].line, k.line) << k.text << "\n" << r.errors[0].ToString();
    EXPECT_NE(r.errors[0].message.find(k.says), std::string::npos) << k.text << "\n"
                                                                   << r.errors[0].ToString();
  }
}

TEST(CampaignFileTest, ScenarioNames) {
  EXPECT_TRUE(ValidScenarioName("reduced-entitlements_2.a"));
  EXPECT_FALSE(ValidScenarioName(""));
  EXPECT_FALSE(ValidScenarioName("a/b"));
  EXPECT_FALSE(ValidScenarioName(std::string(65, 'a')));
}

}  // namespace
}  // namespace flightwall
