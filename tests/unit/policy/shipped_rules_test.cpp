// The rules under rules/ are what operators deploy: they must load cleanly
// and label the lab's destinations the way reports expect.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/policy_loader.h"
#include "policy_test_helpers.h"

namespace flightwall {
namespace {

namespace fs = std::filesystem;

const std::string kRulesDir = FLIGHTWALL_SOURCE_DIR "/rules";

// The first catalog entry naming host, as reports label it.
const CatalogEntry* FirstCatalogMatch(const Policy& policy, const std::string& host) {
  for (const CatalogEntry& entry : policy.catalog) {
    for (const HostPattern& pattern : entry.hosts) {
      if (pattern.Matches(host)) return &entry;
    }
  }
  return nullptr;
}

bool AnyRuleAllowsHost(const Policy& policy, const std::string& host) {
  for (const AllowRule& rule : policy.allow) {
    for (const HostPattern& pattern : rule.hosts) {
      if (pattern.Matches(host)) return true;
    }
  }
  return false;
}

class ShippedRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    result_ = LoadPolicy(kRulesDir + "/local-data-mode.yaml");
    ASSERT_TRUE(result_.policy) << AllErrors(result_);
  }
  const Policy& policy() const { return *result_.policy; }
  PolicyLoadResult result_;
};

TEST_F(ShippedRulesTest, DefaultPolicyLoadsWithoutErrors) {
  EXPECT_TRUE(result_.errors.empty());
  EXPECT_EQ(policy().name, "local-data-mode");
  EXPECT_EQ(policy().mode, PolicyMode::kEnforce);
  EXPECT_EQ(policy().dns.resolvers[0].ToString(), "203.0.113.53");
  ASSERT_EQ(policy().flight_apps.size(), 2u);
  EXPECT_EQ(policy().flight_apps[0].sources[0].ToString(), "192.0.2.0/24");
  EXPECT_EQ(policy().flight_apps[0].sources[1].ToString(), "2001:db8:1::/64");
  EXPECT_EQ(policy().flight_apps[1].users[0], "pilot");
}

TEST_F(ShippedRulesTest, AllowsTheLabsTileNamesOnly) {
  for (const char* host :
       {"api.mapbox.com", "a.tiles.mapbox.com", "d.tiles.mapbox.com", "tile.openstreetmap.org"}) {
    EXPECT_TRUE(AnyRuleAllowsHost(policy(), host)) << host;
  }
  for (const char* host :
       {"flightlog.dji.com", "flysafe.dji.com", "www.skypixel.com", "cdn-upload.dji.com",
        "android.bugly.qq.com", "app-measurement.com", "firebaseinstallations.googleapis.com",
        "edge.cdn-lab.example", "events.mapbox.com", "mapbox.com"}) {
    EXPECT_FALSE(AnyRuleAllowsHost(policy(), host)) << host;
  }
}

TEST_F(ShippedRulesTest, LabelsTheLabsDestinations) {
  const std::pair<const char*, const char*> expected[] = {
      {"flightlog.dji.com", "flight-logs"},   {"flysafe.dji.com", "flysafe"},
      {"www.skypixel.com", "media-upload"},   {"android.bugly.qq.com", "crash-reporting"},
      {"app-measurement.com", "analytics"},   {"firebaseinstallations.googleapis.com", "analytics"},
      {"cdn-upload.dji.com", "vendor-cloud"}, {"events.mapbox.com", "map-telemetry"},
  };
  for (const auto& [host, category] : expected) {
    const CatalogEntry* entry = FirstCatalogMatch(policy(), host);
    ASSERT_NE(entry, nullptr) << host;
    EXPECT_EQ(entry->category, category) << host << " labelled by " << entry->name;
  }
  EXPECT_EQ(FirstCatalogMatch(policy(), "tile.openstreetmap.org"), nullptr);
}

TEST_F(ShippedRulesTest, EveryCatalogEntryCitesASource) {
  for (const CatalogEntry& entry : policy().catalog) {
    EXPECT_TRUE(entry.source.starts_with("https://")) << entry.name;
    EXPECT_FALSE(entry.vendor.empty()) << entry.name;
  }
}

// Every file under rules/ parses on its own: map providers as allow
// includes, catalogs as catalog includes.
TEST(ShippedRuleFilesTest, EveryFileUnderRulesParses) {
  int files = 0;
  for (const auto& dirent : fs::recursive_directory_iterator(kRulesDir)) {
    if (!dirent.is_regular_file() || dirent.path().extension() != ".yaml") continue;
    const std::string path = dirent.path().string();
    if (dirent.path().filename() == "local-data-mode.yaml") continue;
    ++files;
    const bool is_catalog = dirent.path().parent_path().filename() == "catalog";
    std::string text = PolicyText(is_catalog ? "  []\ncatalog:\n  - include: " + path + "\n"
                                             : "  - include: " + path + "\n");
    const PolicyLoadResult r = LoadPolicyFromString(text, "wrapper.yaml", kRulesDir);
    EXPECT_TRUE(r.policy) << path << "\n" << AllErrors(r);
    std::ifstream in(path);
    std::stringstream contents;
    contents << in.rdbuf();
    EXPECT_NE(contents.str().find("https://"), std::string::npos) << path << " cites no source";
  }
  EXPECT_GE(files, 9);
}

TEST(ShippedRuleFilesTest, MapProvidersAreConservative) {
  // A map provider file must never allow a whole vendor domain that also
  // serves analytics or uploads.
  for (const char* provider : {"google", "esri", "amap", "mapbox"}) {
    const std::string text =
        PolicyText("  - include: " + kRulesDir + "/map-providers/" + provider + ".yaml\n");
    const PolicyLoadResult r = LoadPolicyFromString(text, "wrapper.yaml", kRulesDir);
    ASSERT_TRUE(r.policy) << AllErrors(r);
    for (const char* host : {"firebaseinstallations.googleapis.com", "www.google.com",
                             "www.arcgis.com", "restapi.amap.com", "events.mapbox.com"}) {
      EXPECT_FALSE(AnyRuleAllowsHost(*r.policy, host)) << provider << " allows " << host;
    }
  }
}

}  // namespace
}  // namespace flightwall
