// Fuzzes the event-log verifier two ways. Raw: arbitrary bytes as a log must
// give a consistent result without crashing. Tamper: a chain written by
// EventChain from input-derived events (some lines lost, as on a full disk)
// must verify intact, and must stop verifying after any one byte changes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sink/event_log.h"
#include "sink/log_verifier.h"

namespace {

using flightwall::LogVerifyResult;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckConsistent(const LogVerifyResult& r, std::string_view bytes) {
  std::size_t newlines = 0;
  for (char c : bytes) newlines += c == '\n';
  Check(r.lines <= newlines + 1);
  Check(r.gaps.size() <= flightwall::kMaxListedGaps && r.gaps.size() <= r.gap_count);
  Check(r.lost_events >= r.gap_count);
  if (r.status == LogVerifyResult::Status::kBroken) Check(r.line >= 1 && !r.problem.empty());
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

void Tamper(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return;
  const std::uint32_t mask = data[0] | data[1] << 8 | data[2] << 16;
  const std::size_t position = data[3] | data[4] << 8 | data[5] << 16;
  const std::uint8_t flip = data[6];
  const std::string_view rest(reinterpret_cast<const char*>(data + 7), size - 7);
  MaskWriter writer(mask);
  flightwall::EventChain chain(writer);
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
  const LogVerifyResult clean = flightwall::VerifyLogBytes(writer.text);
  CheckConsistent(clean, writer.text);
  Check(clean.status == LogVerifyResult::Status::kIntact);
  Check(clean.lost_events + chain.Position().unrecorded_lost == chain.Lost());
  if (writer.text.empty() || flip == 0) return;
  std::string tampered = writer.text;
  tampered[position % tampered.size()] ^= static_cast<char>(flip);
  const LogVerifyResult r = flightwall::VerifyLogBytes(tampered);
  CheckConsistent(r, tampered);
  Check(r.status == LogVerifyResult::Status::kBroken);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) {
    Tamper(data + 1, size - 1);
  } else {
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    CheckConsistent(flightwall::VerifyLogBytes(bytes), bytes);
  }
  return 0;
}
