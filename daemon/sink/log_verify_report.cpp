// FormatLogVerifyResult (log_verifier.h): what `flightwall verify-log`
// prints, including what the verified chain mode proves and what it cannot.
#include <string>

#include "sink/log_verifier.h"

namespace flightwall {
namespace {

std::string SeqRange(std::uint64_t first, std::uint64_t count) {
  if (count == 1) return "seq " + std::to_string(first);
  return "seq " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

std::string Where(const LogVerifyResult& r) {
  return r.line == 0 ? r.file : r.file + " line " + std::to_string(r.line);
}

// What an intact chain of this mode shows, and what only a published head shows.
std::string ModeLine(const LogVerifyResult& r) {
  if (r.keyed_lines == 0) {
    return "mode: sha256 (unkeyed): no line was edited, deleted or reordered inside these "
           "files; lines cut off the end, or the whole log rewritten with a fresh chain, "
           "would not show (compare with the head the daemon published: --expect-seq, "
           "--expect-head)\n";
  }
  std::string s = "mode: hmac-sha256, verified with the key";
  if (r.first_keyed_seq > r.first_seq) {
    s += " from seq " + std::to_string(r.first_keyed_seq) + " (" +
         SeqRange(r.first_seq, r.first_keyed_seq - r.first_seq) +
         " were written unkeyed, before events.hmac_key_file was set, and are bound to the "
         "keyed lines by their prev links)";
  }
  return s +
         ": the lines were written by a holder of the key, so nobody without it edited, "
         "reordered or rewrote them; lines cut off the end would not show (give "
         "--expect-seq)\n";
}

std::string HeadLine(const LogVerifyResult& r) {
  if (r.expect_seq == 0) return {};
  const std::string seq = std::to_string(r.expect_seq);
  std::string s;
  if (r.expect_head.empty()) {
    s = "head: the chain reaches the published seq " + seq + ", so no line up to it was cut off";
    if (r.keyed_lines == 0) s += " (a whole rewrite would still pass: add --expect-head)";
  } else {
    s = "head: seq " + seq + " has the published hash " + r.expect_head +
        ": the log was neither cut short before it nor rewritten up to it";
    if (r.expect_head.size() < 64 && r.keyed_lines == 0) {
      s += " (only " + std::to_string(r.expect_head.size()) +
           " hex digits compared, as a metrics label gives: a forger could search for a "
           "match; the journal's FLIGHTWALL_CHAIN_HEAD has all 64)";
    }
  }
  s += "\n";
  if (r.last_seq > r.expect_seq) {
    s += "head: " + SeqRange(r.expect_seq + 1, r.last_seq - r.expect_seq) +
         " came after that head and rest on the chain alone\n";
  }
  return s;
}

}  // namespace

std::string FormatLogVerifyResult(const LogVerifyResult& r) {
  std::string s;
  switch (r.chain) {
    case LogVerifyResult::ChainState::kIntact:
      s = "OK: " + std::to_string(r.lines) + " lines, chain intact";
      if (r.lines > 0)
        s += " (seq " + std::to_string(r.first_seq) + "-" + std::to_string(r.last_seq) + ")";
      s += "\n";
      if (r.lines > 0) s += ModeLine(r);
      s += HeadLine(r);
      break;
    case LogVerifyResult::ChainState::kBroken:
      s = "BROKEN: " + Where(r) + ": " + r.problem + "\n";
      s += std::to_string(r.lines) + " event line(s) verified before the break\n";
      break;
    case LogVerifyResult::ChainState::kUnverifiable:
      s = "CANNOT VERIFY: " + Where(r) + ": " + r.problem + "\n";
      s += std::to_string(r.lines) +
           " event line(s) verified before this point; nothing is shown about the rest\n";
      break;
    case LogVerifyResult::ChainState::kUnreadable:
      s = "UNREADABLE: " + r.file + ": " + r.problem + "\n";
      return s;
  }
  if (r.continues_earlier) {
    s += "note: the first line continues an earlier log (its prev is not empty); verify the "
         "rotated files together, oldest first, to check that link\n";
  }
  for (const std::string& note : r.notes) s += "note: " + note + "\n";
  for (const LostGap& g : r.gaps) {
    s += "lost: " + std::to_string(g.count) + " event(s) could not be written before " + g.file +
         " line " + std::to_string(g.line) + " (" + SeqRange(g.first_seq, g.count) + ")\n";
  }
  if (r.gap_count > r.gaps.size()) {
    s += "lost: ... " + std::to_string(r.gap_count - r.gaps.size()) + " more gap(s)\n";
  }
  if (r.gap_count > 0) {
    s += "lost: " + std::to_string(r.lost_events) + " event(s) in " + std::to_string(r.gap_count) +
         " gap(s), each recorded in the chain by the writer\n";
  }
  return s;
}

}  // namespace flightwall
