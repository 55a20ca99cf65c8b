// The shipped catalog (rules/catalog/*.yaml, included by the default
// policy): every entry cites a public source and names a vendor and a known
// category, no entry hides behind an earlier one (first match wins), the
// public research set in RESEARCH.md is labelled as recorded, and no map
// provider allow pack lets through a host the catalog calls map telemetry
// or a location lookup.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "policy/policy_loader.h"
#include "policy_test_helpers.h"
#include "research_table.h"

namespace flightwall {
namespace {

namespace fs = std::filesystem;

const std::string kRulesDir = FLIGHTWALL_SOURCE_DIR "/rules";

// The categories reports know; a new one is added here on purpose.
const std::set<std::string> kKnownCategories = {
    "flight-logs",     "flysafe",    "media-upload", "account",
    "firmware",        "app-update", "vendor-cloud", "analytics",
    "crash-reporting", "push",       "social",       "payment",
    "storage",         "dns",        "other",        "map-telemetry",
    "location-lookup", "map-data",
};

// Hosts of these categories must never be allowed by a map provider pack.
const std::set<std::string> kMapSideChannels = {"map-telemetry", "location-lookup", "map-data"};

const CatalogEntry* FirstCatalogMatch(const Policy& policy, const std::string& host) {
  for (const CatalogEntry& entry : policy.catalog) {
    for (const HostPattern& pattern : entry.hosts) {
      if (pattern.Matches(host)) return &entry;
    }
  }
  return nullptr;
}

// "*.example.com" -> "example.com"; exact names unchanged.
std::string Base(const HostPattern& p) { return p.IsWildcard() ? p.Text().substr(2) : p.Text(); }

// True when every name `later` matches is already matched by `earlier`.
bool Covers(const HostPattern& earlier, const HostPattern& later) {
  if (!later.IsWildcard()) return earlier.Matches(later.Text());
  return earlier.IsWildcard() && (earlier.Text() == later.Text() || earlier.Matches(Base(later)));
}

// True when some name is matched by both patterns.
bool Overlaps(const HostPattern& a, const HostPattern& b) { return Covers(a, b) || Covers(b, a); }

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    result_ = LoadPolicy(kRulesDir + "/local-data-mode.yaml");
    ASSERT_TRUE(result_.policy) << AllErrors(result_);
  }
  const Policy& Loaded() const { return *result_.policy; }
  PolicyLoadResult result_;
};

TEST_F(CatalogTest, EveryEntryCitesASourceAVendorAndAKnownCategory) {
  ASSERT_GE(Loaded().catalog.size(), 30u);
  std::ostringstream listing;
  for (const CatalogEntry& entry : Loaded().catalog) {
    SCOPED_TRACE(entry.name);
    EXPECT_TRUE(entry.source.starts_with("https://") || entry.source.starts_with("http://"))
        << "source '" << entry.source << "' is not a public URL";
    EXPECT_FALSE(entry.vendor.empty());
    EXPECT_TRUE(kKnownCategories.contains(entry.category))
        << "category '" << entry.category << "' is not one reports know";
    EXPECT_FALSE(entry.hosts.empty());
    RecordProperty("source." + entry.name, entry.source);
    listing << "  " << entry.name << " [" << entry.category << ", " << entry.vendor
            << "]: " << entry.source << "\n";
  }
  std::cout << "catalog entries and their sources:\n" << listing.str();
}

TEST_F(CatalogTest, NamesAreUnique) {
  std::set<std::string> names;
  for (const CatalogEntry& entry : Loaded().catalog) {
    EXPECT_TRUE(names.insert(entry.name).second) << "duplicate entry " << entry.name;
  }
}

// First match wins, so a host pattern that an earlier entry already covers
// can never label anything: its entry (or that pattern) is dead.
TEST_F(CatalogTest, NoEntryIsShadowedByAnEarlierOne) {
  const auto& catalog = Loaded().catalog;
  for (std::size_t i = 0; i < catalog.size(); ++i) {
    for (const HostPattern& later : catalog[i].hosts) {
      for (std::size_t j = 0; j < i; ++j) {
        for (const HostPattern& earlier : catalog[j].hosts) {
          EXPECT_FALSE(Covers(earlier, later))
              << catalog[i].name << "'s " << later.Text() << " is already labelled by "
              << catalog[j].name << "'s " << earlier.Text() << ": move it before "
              << catalog[j].name << " or drop it";
        }
      }
    }
  }
}

TEST_F(CatalogTest, LabelsTheResearchSetAsRecorded) {
  const auto rows = testing::ReadResearchTable();
  ASSERT_GE(rows.size(), 60u) << "RESEARCH.md table not found or truncated";
  std::size_t labelled = 0;
  std::set<std::string> seen;
  for (const auto& row : rows) {
    SCOPED_TRACE(row.host);
    EXPECT_TRUE(seen.insert(row.host).second) << "listed twice";
    EXPECT_FALSE(row.source.empty());
    const CatalogEntry* entry = FirstCatalogMatch(Loaded(), row.host);
    if (row.label == "-") {
      EXPECT_EQ(entry, nullptr) << "labelled by " << (entry ? entry->name : "")
                                << ": update RESEARCH.md";
      continue;
    }
    ASSERT_NE(entry, nullptr) << "expected " << row.label << ", not labelled";
    EXPECT_EQ(entry->category, row.label) << "labelled by " << entry->name;
    ++labelled;
  }
  const std::string share =
      std::to_string(labelled) + " of " + std::to_string(rows.size()) + " hosts";
  std::cout << "research set: " << share << " labelled by the catalog\n";
  RecordProperty("research_share", share);
  // RESEARCH.md states the share; keep it true.
  std::ifstream in(testing::kResearchTablePath);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("**Share: " + share), std::string::npos)
      << "RESEARCH.md must say \"**Share: " << share << "\"";
}

// A map provider pack may allow tiles only: none of its host patterns may
// match a host the catalog calls map telemetry, a location lookup or map
// SDK data. Checked against every pack under rules/map-providers, not only
// the ones the default policy includes.
TEST_F(CatalogTest, NoMapProviderAllowsMapTelemetryOrLocationLookups) {
  std::string body;
  for (const auto& dirent : fs::directory_iterator(kRulesDir + "/map-providers")) {
    if (dirent.path().extension() == ".yaml") {
      body += "  - include: " + dirent.path().string() + "\n";
    }
  }
  const PolicyLoadResult all = LoadPolicyFromString(PolicyText(body), "wrapper.yaml", kRulesDir);
  ASSERT_TRUE(all.policy) << AllErrors(all);
  ASSERT_GE(all.policy->allow.size(), 7u);
  int checked = 0;
  for (const CatalogEntry& entry : Loaded().catalog) {
    if (!kMapSideChannels.contains(entry.category)) continue;
    for (const HostPattern& telemetry : entry.hosts) {
      ++checked;
      for (const AllowRule& rule : all.policy->allow) {
        for (const HostPattern& allowed : rule.hosts) {
          EXPECT_FALSE(Overlaps(allowed, telemetry))
              << rule.name << " (" << rule.origin << ") allows " << allowed.Text()
              << ", which overlaps " << entry.name << "'s " << telemetry.Text()
              << ": narrow the pack to the provider's tile hosts";
        }
      }
    }
  }
  EXPECT_GE(checked, 8);
}

TEST(CatalogPatternTest, CoversAndOverlapsAreExact) {
  auto p = [](const char* text) { return *HostPattern::Parse(text); };
  EXPECT_TRUE(Covers(p("*.dji.com"), p("flysafe.dji.com")));
  EXPECT_TRUE(Covers(p("*.dji.com"), p("*.flysafe.dji.com")));
  EXPECT_TRUE(Covers(p("*.dji.com"), p("*.dji.com")));
  EXPECT_FALSE(Covers(p("*.dji.com"), p("dji.com")));
  EXPECT_FALSE(Covers(p("flysafe.dji.com"), p("*.flysafe.dji.com")));
  EXPECT_FALSE(Covers(p("*.flysafe.dji.com"), p("*.dji.com")));
  EXPECT_TRUE(Overlaps(p("*.mapbox.com"), p("events.mapbox.com")));
  EXPECT_TRUE(Overlaps(p("events.mapbox.com"), p("*.mapbox.com")));
  EXPECT_TRUE(Overlaps(p("*.here.com"), p("*.data.here.com")));
  EXPECT_FALSE(Overlaps(p("*.tiles.mapbox.com"), p("events.mapbox.com")));
  EXPECT_FALSE(Overlaps(p("*.is.autonavi.com"), p("apilocate.amap.com")));
}

}  // namespace
}  // namespace flightwall
