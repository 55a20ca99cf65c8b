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
//
// Keyed chains ("chain":"hmac-sha256") are verified only with the key
// (LogVerifyOptions::key); without it the result is kUnverifiable at the
// first keyed line, never intact. With a key, an unkeyed line after a keyed
// one, or a log with no keyed line at all, is broken (written without the
// key). A chain is self-consistent after truncation or a whole rewrite, so
// those are caught only against a head published elsewhere (the journal,
// a metrics scrape): LogVerifyOptions::expect_seq / expect_head.
//
// Input is untrusted: lines are bounded (kMaxEventLineBytes), nothing throws.
// Not thread-safe; one verifier per verification.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flightwall {

class HmacSha256Hasher;

constexpr std::size_t kMaxEventLineBytes = 64 * 1024;

// How a line's hash is computed, recorded in its "chain" member (absent in
// logs written before keyed chains existed: sha256).
enum class ChainMode : std::uint8_t { kSha256, kHmacSha256 };
// "sha256" | "hmac-sha256", as written in the line.
std::string_view ChainModeName(ChainMode mode);

// The chain members of one event line.
struct ChainLine {
  std::uint64_t seq = 0;
  std::string prev;
  std::uint64_t lost_before = 0;
  ChainMode mode = ChainMode::kSha256;
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

// What to verify with. The key and the head come from outside the log.
struct LogVerifyOptions {
  std::span<const std::uint8_t> key;  // HMAC key of a keyed chain (empty: none)
  // The head published while the log was written: the chain must reach
  // seq expect_seq (0: no expectation) and that line's hash must start with
  // expect_head (lower-case hex, 8 to 64 digits; "": seq only).
  std::uint64_t expect_seq = 0;
  std::string expect_head;
};

constexpr std::size_t kMinExpectHeadDigits = 8;

struct LogVerifyResult {
  // kBroken: tampered, truncated or rewritten (line 0: the log as a whole).
  // kUnverifiable: a keyed line without the key, or the expected seq lies
  // before the first file given; neither proves nor disproves anything.
  enum class ChainState : std::uint8_t { kIntact, kBroken, kUnverifiable, kUnreadable };
  ChainState chain = ChainState::kIntact;
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
  bool key_given = false;
  std::uint64_t keyed_lines = 0;  // lines whose HMAC was verified with the key
  std::uint64_t first_keyed_seq = 0;
  std::uint64_t expect_seq = 0;  // the expectation that was met (0: none given)
  std::string expect_head;       // "" when only the seq was expected
};

constexpr std::size_t kMaxListedGaps = 100;

class LogVerifier {
 public:
  explicit LogVerifier(const LogVerifyOptions& options = {});
  ~LogVerifier();
  LogVerifier(const LogVerifier&) = delete;
  LogVerifier& operator=(const LogVerifier&) = delete;

  // Line numbers restart at 1 in each file; the chain continues.
  void BeginFile(std::string name);
  // One line without its '\n'. False once the chain is broken.
  bool AddLine(std::string_view line);
  // `terminated`: the file ended with '\n' (else its last line is partial).
  void EndFile(bool terminated);
  void SetUnreadable(std::string file, std::string problem);
  // After the last file: checks what only the whole chain can show (the
  // expected head was reached; a key was given and the chain is keyed).
  void Finish();
  const LogVerifyResult& Result() const { return result_; }

 private:
  void Break(std::uint64_t line, std::string problem);
  bool HashMatches(const ChainLine& c);
  bool Accept(const ChainLine& c);
  bool ResolvePendingGap(const ChainLine* next);

  LogVerifyResult result_;
  std::unique_ptr<HmacSha256Hasher> hmac_;
  std::uint64_t expect_seq_ = 0;
  std::string expect_head_;
  bool expect_seen_ = false;  // the line with seq expect_seq_ was verified
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
LogVerifyResult VerifyLogBytes(std::string_view bytes, const std::string& name = "<input>",
                               const LogVerifyOptions& options = {});
// Verifies files in order as one chain; unreadable input stops with kUnreadable.
LogVerifyResult VerifyLogFiles(const std::vector<std::string>& paths,
                               const LogVerifyOptions& options = {});
// The operator-facing report: "OK: N lines, chain intact", the chain mode
// and what it proves, or where and why it broke / cannot be verified.
std::string FormatLogVerifyResult(const LogVerifyResult& result);

}  // namespace flightwall
