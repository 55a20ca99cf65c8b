// Fuzzes the --baseline reader (sink/baseline.h): an earlier audit's JSON
// report, which a user hands in and which may be anything. Any bytes must
// parse or be refused with a message naming the file, never crash; what is
// read compares with an empty audit as all-gone, nothing new.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/policy.h"
#include "sink/audit_report.h"
#include "sink/baseline.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const flightwall::Result<flightwall::Baseline> parsed =
      flightwall::ParseBaseline(text, "fuzz.json");
  if (!parsed.ok()) {
    Check(parsed.status().ToString().rfind("--baseline fuzz.json: ", 0) == 0);
    return 0;
  }
  const flightwall::Baseline& b = *parsed;
  Check(b.destinations.size() <= flightwall::AuditReport::kMaxDestinations + 1);
  static const flightwall::Policy policy;
  const flightwall::AuditReport empty(policy);
  const flightwall::BaselineDiff d = flightwall::CompareWithBaseline(b, empty);
  Check(d.added.empty() && d.more_bytes.empty());
  Check(d.removed.size() <= b.destinations.size());
  return 0;
}
