// Shared fixtures for the sink tests: a small policy, flows and DNS records.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/event_sink.h"
#include "policy/policy.h"
#include "sink/event_log.h"

namespace flightwall::testing {

// Two flight apps, a catalog with two categories.
Policy SinkTestPolicy();
// A denied TCP flow of app 0 to 203.0.113.<host % 250 + 1> named `hostname`.
Flow DeniedFlow(const std::string& hostname, int host = 1);
Flow AllowedFlow(const std::string& hostname);
DnsRecord DnsQuestion(const std::string& qname, Verdict verdict);
// The lines of a text, without the '\n's (a final fragment is a line too).
std::vector<std::string> SplitLines(const std::string& text);
std::string ReadWholeFile(const std::string& path);
void WriteWholeFile(const std::string& path, const std::string& text);
// `n` flow events from a fresh chain, as audit writes them.
std::string CleanLog(int n);
// `n` flow events (hosts first.. first+n-1) continuing `start`, keyed with
// `key` (empty: unkeyed), as the daemon writes them.
std::string ChainLog(int n, std::span<const std::uint8_t> key, ChainPosition start = {},
                     int first = 0);
// The lines joined, each with its '\n'.
std::string JoinLines(const std::vector<std::string>& lines);

// A fresh directory under $TMPDIR, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace flightwall::testing
