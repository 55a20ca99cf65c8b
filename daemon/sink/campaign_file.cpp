#include "sink/campaign_file.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/sha256.h"
#include "policy/yaml_checker.h"

namespace flightwall {
namespace {

constexpr std::array<std::string_view, 5> kTopKeys = {"app", "version", "device", "vantage",
                                                      "scenarios"};
constexpr std::array<std::string_view, 3> kScenarioKeys = {"name", "description", "captures"};
constexpr std::array<std::string_view, 2> kVantages = {"network", "device"};

}  // namespace

bool ValidScenarioName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') {
      return false;
    }
  }
  return true;
}

CampaignLoadResult LoadCampaignFromString(const std::string& text, const std::string& display_name,
                                          const std::string& base_dir) {
  CampaignLoadResult result;
  const auto fail = [&](int line, int column, std::string message) {
    result.errors.push_back({display_name, line, column, std::move(message)});
    return result;
  };
  if (text.size() > kMaxCampaignFileBytes) {
    return fail(0, 0,
                "larger than " + std::to_string(kMaxCampaignFileBytes >> 20) +
                    " MiB; a campaign names scenarios and captures, not their contents");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(e.mark.line + 1, e.mark.column + 1, "YAML syntax: " + e.msg);
  }
  if (!root.IsMap()) {
    return fail(1, 1, "a campaign is a map with app, version, device, vantage and scenarios");
  }
  Checker c(display_name, &result.errors);
  c.CheckKeys(root, kTopKeys, "the campaign");
  CampaignFile campaign;
  campaign.sha256 = Sha256Hex(text);
  if (auto v = c.Scalar(root, "app")) campaign.app = *v;
  if (auto v = c.Scalar(root, "version")) campaign.version = *v;
  if (auto v = c.Scalar(root, "device")) campaign.device = *v;
  if (root["vantage"]) {
    if (auto v = c.OneOf(root, "vantage", kVantages)) campaign.vantage = *v;
  }
  const YAML::Node list = root["scenarios"];
  if (!list || !list.IsSequence() || list.size() == 0) {
    c.Error(list ? list : root,
            "'scenarios' must be a list of {name, captures: [...]}, at least one");
  } else if (list.size() > kMaxCampaignScenarios) {
    c.Error(list, "at most " + std::to_string(kMaxCampaignScenarios) + " scenarios");
  } else {
    std::set<std::string> names;
    for (const YAML::Node& item : list) {
      if (!item.IsMap()) {
        c.Error(item, "a scenario is a map: {name: idle, captures: [idle.pcapng]}");
        continue;
      }
      c.CheckKeys(item, kScenarioKeys, "a scenario");
      CampaignScenario s;
      if (auto v = c.Scalar(item, "name")) s.name = *v;
      if (!ValidScenarioName(s.name)) {
        c.Error(item["name"] ? item["name"] : item,
                "a scenario needs a 'name' of letters, digits, '-', '_' and '.' (up to 64)");
      } else if (!names.insert(s.name).second) {
        c.Error(item["name"], "scenario '" + s.name + "' is named twice; list its captures once");
      }
      if (auto v = c.Scalar(item, "description")) s.description = *v;
      const YAML::Node caps = item["captures"];
      if (!caps || !caps.IsSequence() || caps.size() == 0) {
        c.Error(caps ? caps : item, "'captures' must be a list of capture files, at least one");
      } else if (caps.size() > kMaxCapturesPerScenario) {
        c.Error(caps, "at most " + std::to_string(kMaxCapturesPerScenario) + " captures");
      } else {
        for (const YAML::Node& f : caps) {
          if (!f.IsScalar() || f.Scalar().empty()) {
            c.Error(f, "a capture is a file path");
            continue;
          }
          std::filesystem::path p(f.Scalar());
          if (p.is_relative() && f.Scalar() != "-") p = std::filesystem::path(base_dir) / p;
          s.captures.push_back(p.lexically_normal().string());
        }
      }
      campaign.scenarios.push_back(std::move(s));
    }
  }
  if (result.errors.empty()) {
    campaign.path = display_name;
    result.campaign = std::move(campaign);
  }
  return result;
}

CampaignLoadResult LoadCampaign(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CampaignLoadResult r;
  if (!in) {
    r.errors.push_back({path, 0, 0, "cannot be read; check the path"});
    return r;
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || static_cast<std::uint64_t>(size) > kMaxCampaignFileBytes) {
    r.errors.push_back({path, 0, 0,
                        "larger than 1 MiB; a campaign names captures, not their "
                        "contents"});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return LoadCampaignFromString(text.str(), path, dir.empty() ? "." : dir);
}

}  // namespace flightwall
