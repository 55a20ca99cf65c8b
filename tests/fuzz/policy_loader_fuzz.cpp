// Fuzz target for the policy loader: any bytes must give either a Policy or
// located errors, never a crash, a hang or unbounded memory. Depth is
// bounded by the loader's nesting pre-scan (64 levels) with yaml-cpp's own
// depth guard behind it; size by the 1 MiB limit; alias blow-up by the
// list-item budget. Includes resolve against a directory that does not
// exist, so relative includes fail fast; absolute ones may read real
// regular files (never devices or FIFOs), which is harmless here.
#include <cstddef>
#include <cstdint>
#include <string>

#include "policy/policy_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const flightwall::PolicyLoadResult result =
      flightwall::LoadPolicyFromString(text, "fuzz.yaml", "/nonexistent/flightwall-fuzz");
  if (result.policy) {
    const std::string summary = flightwall::DescribePolicy(*result.policy);
    if (summary.empty()) __builtin_trap();  // a loaded policy always has a summary
  } else if (result.errors.empty()) {
    __builtin_trap();  // no policy must mean at least one error
  }
  for (const flightwall::PolicyError& error : result.errors) {
    if (error.message.empty()) __builtin_trap();
  }
  return 0;
}
