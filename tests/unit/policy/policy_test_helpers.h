// Shared helpers for the policy loader tests: build small policies in
// memory and look for an error at an exact place.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/policy_loader.h"

namespace flightwall {

inline const std::string kPolicyDataDir = FLIGHTWALL_SOURCE_DIR "/tests/data/policy";

// A valid policy; `allow_body` (lines after "allow:", starting at line 9)
// and `extra` (appended top-level text) vary per test.
//   1 version: 1
//   2 name: test
//   3 flight_apps:
//   4   - name: tablet
//   5     sources: [192.0.2.0/24]
//   6 dns:
//   7   resolvers: [203.0.113.53]
//   8 allow:
//   9   - name: tiles ...
inline std::string PolicyText(
    const std::string& allow_body =
        "  - name: tiles\n    hosts: [api.mapbox.com]\n    ports: [443]\n",
    const std::string& extra = "") {
  return "version: 1\n"
         "name: test\n"
         "flight_apps:\n"
         "  - name: tablet\n"
         "    sources: [192.0.2.0/24]\n"
         "dns:\n"
         "  resolvers: [203.0.113.53]\n"
         "allow:\n" +
         allow_body + extra;
}

inline PolicyLoadResult LoadText(const std::string& text) {
  return LoadPolicyFromString(text, "test.yaml", kPolicyDataDir);
}

inline std::string AllErrors(const PolicyLoadResult& result) {
  std::string out;
  for (const PolicyError& e : result.errors) out += e.ToString() + "\n";
  return out;
}

// True when some error is at file:line:column and its message contains
// every fragment.
inline ::testing::AssertionResult HasError(const PolicyLoadResult& result, const std::string& file,
                                           int line, int column,
                                           const std::vector<std::string>& fragments) {
  for (const PolicyError& e : result.errors) {
    if (e.file != file || e.line != line || e.column != column) continue;
    bool all = true;
    for (const std::string& f : fragments) all = all && e.message.find(f) != std::string::npos;
    if (all) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no error at " << file << ":" << line << ":" << column
                                       << " containing the fragments; errors were:\n"
                                       << AllErrors(result);
}

}  // namespace flightwall
