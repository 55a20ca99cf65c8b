// Fuzzes the campaign file reader (`audit --campaign`): YAML a user writes.
// Any bytes must load or be refused with errors that name the file, never
// crash or hang; a loaded campaign has 1-64 uniquely named scenarios, each
// with 1-1000 captures.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "sink/campaign_file.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto r = flightwall::LoadCampaignFromString(text, "fuzz.yaml", "/base");
  if (!r.campaign) {
    Check(!r.errors.empty());
    for (const auto& e : r.errors) Check(e.file == "fuzz.yaml" && !e.message.empty());
    return 0;
  }
  Check(r.errors.empty());
  const auto& c = *r.campaign;
  Check(!c.scenarios.empty() && c.scenarios.size() <= flightwall::kMaxCampaignScenarios);
  std::set<std::string> names;
  for (const auto& s : c.scenarios) {
    Check(flightwall::ValidScenarioName(s.name) && names.insert(s.name).second);
    Check(!s.captures.empty() && s.captures.size() <= flightwall::kMaxCapturesPerScenario);
  }
  return 0;
}
