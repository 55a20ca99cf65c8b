// A campaign file (`flightwall audit --campaign FILE.yaml`): which app and
// version were audited, on which device, from which vantage, and each
// scenario's captures, so a security team keeps the whole audit of a
// release in one reviewed file:
//
//   app: DJI Pilot 2
//   version: "9.1.0"
//   device: DJI RC Plus
//   vantage: network          # or device (default network)
//   scenarios:
//     - name: idle
//       description: app open on the map, no flight
//       captures: [idle.pcapng]       # relative to this file
//     - name: flying
//       captures: [flight-1.pcapng, flight-2.pcapng]
//
// Input from users: bounded (size, scenarios, captures), every problem
// reported with file:line:column and what to write instead.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/policy_loader.h"

namespace flightwall {

struct CampaignScenario {
  std::string name;  // letters, digits, '-', '_', '.'; unique
  std::string description;
  std::vector<std::string> captures;  // paths, resolved against the file's directory
};

struct CampaignFile {
  std::string path;
  std::string sha256;
  std::string app;
  std::string version;
  std::string device;
  std::string vantage = "network";  // network | device
  std::vector<CampaignScenario> scenarios;
};

struct CampaignLoadResult {
  std::optional<CampaignFile> campaign;  // set iff errors is empty
  std::vector<PolicyError> errors;
};

inline constexpr std::size_t kMaxCampaignFileBytes = 1 << 20;
inline constexpr std::size_t kMaxCampaignScenarios = 64;
inline constexpr std::size_t kMaxCapturesPerScenario = 1000;

CampaignLoadResult LoadCampaign(const std::string& path);
CampaignLoadResult LoadCampaignFromString(const std::string& text, const std::string& display_name,
                                          const std::string& base_dir);

// True for a scenario name: 1-64 of letters, digits, '-', '_', '.'.
bool ValidScenarioName(const std::string& name);

}  // namespace flightwall
