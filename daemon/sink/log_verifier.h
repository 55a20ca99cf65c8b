// LogVerifier: checks an event log's hash chain (event_log.h) the way an
// auditor would, for `flightwall verify-log`. It recomputes every line's
// hash from its bytes and checks that each line follows the one before:
// seq = previous seq + 1 + lost_before, prev = previous hash. It reports the
// first line where that fails and why (edited, deleted, reordered, not an
// event line, truncated), and every recorded loss (`lost_before`).
//
// Lines that are not event lines are tolerated only where the writer says
// why: a partial line left by a failed write or a crash, followed by a line
// whose lost_before counts it. Anything else stops the verification.
//
// Several files (a rotated log and its successors) are verified as one
// chain when given in order; a single file whose first line has a non-empty
// prev is accepted as continuing an earlier file, and the result says so.
// Input is untrusted: lines are bounded (kMaxLineBytes), nothing throws.
// Not thread-safe; one verifier per verification.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flightwall {

constexpr std::size_t kMaxEventLineBytes = 64 * 1024;

// The chain members of one event line.
struct ChainLine {
  std::uint64_t seq = 0;
  std::string prev;
  std::uint64_t lost_before = 0;
  std::string hash;
  std::string body;  // the bytes the hash covers: the line without `,"hash":"..."`
};

// Empty on success, else why `line` is not an event line.
std::string ParseChainLine(std::string_view line, ChainLine* out);

struct LostGap {
  std::string file;
  std::uint64_t line = 0;       // the line that recorded the loss (1-based, in `file`)
  std::uint64_t first_seq = 0;  // seqs first_seq .. first_seq + count - 1 were lost
  std::uint64_t count = 0;
};

struct LogVerifyResult {
  enum class Status : std::uint8_t { kIntact, kBroken, kUnreadable };
  Status status = Status::kIntact;
  std::uint64_t lines = 0;  // event lines verified (before the break, if any)
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string last_hash;
  bool continues_earlier = false;  // the first line's prev is not "" (a rotated log)
  std::string file;                // where the break is (or the unreadable file)
  std::uint64_t line = 0;          // 1-based line of the break
  std::string problem;             // why it is broken / unreadable
  std::vector<LostGap> gaps;       // at most kMaxListedGaps, in order
  std::uint64_t gap_count = 0;
  std::uint64_t lost_events = 0;
  std::vector<std::string> notes;
};

constexpr std::size_t kMaxListedGaps = 100;

class LogVerifier {
 public:
  // Line numbers restart at 1 in each file; the chain continues.
  void BeginFile(std::string name);
  // One line without its '\n'. False once the chain is broken.
  bool AddLine(std::string_view line);
  // `terminated`: the file ended with '\n' (else its last line is partial).
  void EndFile(bool terminated);
  void SetUnreadable(std::string file, std::string problem);
  const LogVerifyResult& Result() const { return result_; }

 private:
  void Break(std::uint64_t line, std::string problem);
  void Accept(const ChainLine& c);
  bool ResolvePendingGap(const ChainLine* next);

  LogVerifyResult result_;
  std::string file_;
  std::uint64_t line_no_ = 0;
  bool have_previous_ = false;
  // Lines that were not event lines, waiting for a lost_before to explain them.
  std::uint64_t garbage_lines_ = 0;
  std::uint64_t first_garbage_line_ = 0;
  std::string first_garbage_problem_;
  bool last_was_garbage_ = false;
  // A seq gap without lost_before: a deletion, unless the next line proves a swap.
  bool gap_pending_ = false;
  std::uint64_t gap_line_ = 0;
  std::uint64_t gap_seq_ = 0;
};

// Verifies `bytes` as one file named `name`.
LogVerifyResult VerifyLogBytes(std::string_view bytes, const std::string& name = "<input>");
// Verifies files in order as one chain; unreadable input stops with kUnreadable.
LogVerifyResult VerifyLogFiles(const std::vector<std::string>& paths);
// The operator-facing report: "OK: N lines, chain intact" or where and why it broke.
std::string FormatLogVerifyResult(const LogVerifyResult& result);

}  // namespace flightwall
