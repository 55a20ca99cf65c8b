// Fuzzes the event-log verifier two ways. Raw: arbitrary bytes as a log,
// verified with or without a key and an expected head taken from the input,
// must give a consistent result without crashing. Tamper: a chain written by
// EventChain from events made of the input's first KiB (some lines lost, as
// on a full disk; keyed or not) must verify intact (with its key, and
// against its own head), must not verify as intact without the key when
// keyed or against a head beyond its end, and must stop verifying after any
// one byte changes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sink/event_log.h"
#include "sink/log_verifier.h"

namespace {

using flightwall::LogVerifyOptions;
using flightwall::LogVerifyResult;

const std::vector<std::uint8_t> kKey(32, 0x42);
// Input bytes a tampered chain's events are made of (see Tamper).
constexpr std::size_t kTamperBytes = 1024;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckConsistent(const LogVerifyResult& r, std::string_view bytes) {
  std::size_t newlines = 0;
  for (char c : bytes) newlines += c == '\n';
  Check(r.lines <= newlines + 1);
  Check(r.gaps.size() <= flightwall::kMaxListedGaps && r.gaps.size() <= r.gap_count);
  Check(r.lost_events >= r.gap_count);
  // Line 0: a problem of the log as a whole (truncated, rewritten, not keyed).
  if (r.chain != LogVerifyResult::ChainState::kIntact) Check(!r.problem.empty());
  if (r.lines > 0) Check(r.first_seq <= r.last_seq);
  Check(!flightwall::FormatLogVerifyResult(r).empty());
}

// Fails the lines whose bit in `mask` is set.
class MaskWriter : public flightwall::LineWriter {
 public:
  explicit MaskWriter(std::uint32_t mask) : mask_(mask) {}
  bool WriteLine(std::string_view line) override {
    const bool fail = (mask_ >> (calls_++ % 32)) & 1;
    if (fail) return false;
    text.append(line);
    text.push_back('\n');
    return true;
  }
  std::string text;

 private:
  std::uint32_t mask_;
  unsigned calls_ = 0;
};

void Tamper(const std::uint8_t* data, std::size_t size, bool keyed) {
  if (size < 8) return;
  const std::uint32_t mask = data[0] | data[1] << 8 | data[2] << 16;
  const std::size_t position = data[3] | data[4] << 8 | data[5] << 16;
  const std::uint8_t flip = data[6];
  // The chain is written once and verified up to five times, as JSON in
  // which a byte can take six: only the first kTamperBytes make events, so a
  // longer input costs no more than one of that size.
  const std::string_view rest(reinterpret_cast<const char*>(data + 7),
                              std::min<std::size_t>(size - 7, kTamperBytes));
  MaskWriter writer(mask);
  LogVerifyOptions with_key;
  if (keyed) with_key.key = kKey;
  flightwall::EventChain chain(writer, {}, with_key.key);
  std::size_t start = 0;
  int events = 0;
  while (start <= rest.size() && events < 24) {
    std::size_t end = rest.find('|', start);
    if (end == std::string_view::npos) end = rest.size();
    nlohmann::ordered_json fields;
    fields["event"] = "flow";
    fields["hostname"] = std::string(rest.substr(start, end - start));
    fields["bytes"] = events * 1000;
    chain.Append(fields);
    ++events;
    start = end + 1;
  }
  // The losses at the very end are recorded by no line; the log ends before them.
  const LogVerifyResult clean = flightwall::VerifyLogBytes(writer.text, "<input>", with_key);
  CheckConsistent(clean, writer.text);
  // Every line lost (the writer's mask): an empty log is never called intact.
  Check(clean.chain == (clean.lines > 0 ? LogVerifyResult::ChainState::kIntact
                                        : LogVerifyResult::ChainState::kUnverifiable));
  Check(clean.lost_events + chain.Position().unrecorded_lost == chain.Lost());
  Check(clean.keyed_lines == (keyed ? clean.lines : 0));
  if (keyed && clean.lines > 0) {
    const LogVerifyResult keyless = flightwall::VerifyLogBytes(writer.text);
    CheckConsistent(keyless, writer.text);
    Check(keyless.chain == LogVerifyResult::ChainState::kUnverifiable);
  }
  if (clean.lines > 0) {
    LogVerifyOptions head = with_key;
    head.expect_seq = clean.last_seq;
    head.expect_head = clean.last_hash.substr(0, 8 + position % 57);
    Check(flightwall::VerifyLogBytes(writer.text, "<input>", head).chain ==
          LogVerifyResult::ChainState::kIntact);
    head.expect_seq = clean.last_seq + 1;
    Check(flightwall::VerifyLogBytes(writer.text, "<input>", head).chain ==
          LogVerifyResult::ChainState::kBroken);
  }
  if (writer.text.empty() || flip == 0) return;
  std::string tampered = writer.text;
  tampered[position % tampered.size()] ^= static_cast<char>(flip);
  const LogVerifyResult r = flightwall::VerifyLogBytes(tampered, "<input>", with_key);
  CheckConsistent(r, tampered);
  Check(r.chain == LogVerifyResult::ChainState::kBroken);
}

// Arbitrary bytes, verified with a key and an expected head when the
// selector byte asks for them.
void Raw(std::uint8_t selector, std::string_view bytes) {
  LogVerifyOptions options;
  if (selector & 2) options.key = kKey;
  if (selector & 4) {
    options.expect_seq = 1 + (selector >> 4);
    if (selector & 8) options.expect_head = "0123456789abcdef";
  }
  CheckConsistent(flightwall::VerifyLogBytes(bytes, "<input>", options), bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) {
    Tamper(data + 1, size - 1, (data[0] & 2) != 0);
  } else {
    Raw(data[0], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  }
  return 0;
}
