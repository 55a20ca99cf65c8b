#include "sink/log_verifier.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/sha256.h"
#include "sink/event_log.h"

namespace flightwall {
namespace {

constexpr std::string_view kHashKey = ",\"hash\":\"";
constexpr std::string_view kSha256Name = "sha256";
constexpr std::string_view kHmacSha256Name = "hmac-sha256";
constexpr std::size_t kHashHexLength = 64;

bool IsLowerHex(std::string_view s) {
  for (char ch : s) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  }
  return true;
}

std::string SeqRange(std::uint64_t first, std::uint64_t count) {
  if (count == 1) return "seq " + std::to_string(first);
  return "seq " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

}  // namespace

std::string_view ChainModeName(ChainMode mode) {
  return mode == ChainMode::kHmacSha256 ? kHmacSha256Name : kSha256Name;
}

std::string ParseChainLine(std::string_view line, ChainLine* out) {
  if (line.empty()) return "empty line";
  if (line.size() > kMaxEventLineBytes) return "line longer than 64 KiB";
  const auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded()) return "not valid JSON";
  if (!j.is_object()) return "not a JSON object";
  const auto seq = j.find("seq");
  const auto prev = j.find("prev");
  const auto hash = j.find("hash");
  const auto lost = j.find("lost_before");
  const auto chain = j.find("chain");
  if (seq == j.end() || !seq->is_number_unsigned()) return "no numeric \"seq\"";
  if (prev == j.end() || !prev->is_string()) return "no \"prev\" hash";
  if (hash == j.end() || !hash->is_string()) return "no \"hash\"";
  if (lost != j.end() && !lost->is_number_unsigned()) return "\"lost_before\" is not a count";
  ChainMode mode = ChainMode::kSha256;
  if (chain != j.end()) {
    if (chain->is_string() && chain->get_ref<const std::string&>() == kHmacSha256Name) {
      mode = ChainMode::kHmacSha256;
    } else if (!chain->is_string() || chain->get_ref<const std::string&>() != kSha256Name) {
      return "\"chain\" is neither \"sha256\" nor \"hmac-sha256\"";
    }
  }
  const auto& hash_text = hash->get_ref<const std::string&>();
  if (hash_text.size() != kHashHexLength || !IsLowerHex(hash_text)) {
    return "\"hash\" is not a 64-digit hex digest";
  }
  // The writer appends the hash last; the hashed body is the exact bytes
  // before it, so re-serialization can never hide an edit.
  const std::size_t suffix = kHashKey.size() + kHashHexLength + 2;
  if (line.size() <= suffix || line.substr(line.size() - suffix, kHashKey.size()) != kHashKey ||
      line.substr(line.size() - kHashHexLength - 2, kHashHexLength) != hash_text ||
      line.substr(line.size() - 2) != "\"}") {
    return "\"hash\" is not the line's last member";
  }
  out->seq = seq->get<std::uint64_t>();
  out->prev = prev->get<std::string>();
  out->lost_before = lost != j.end() ? lost->get<std::uint64_t>() : 0;
  out->mode = mode;
  out->hash = hash_text;
  out->body.assign(line.substr(0, line.size() - suffix));
  out->body.push_back('}');
  return {};
}

LogVerifier::LogVerifier(const LogVerifyOptions& options)
    : expect_seq_(options.expect_seq), expect_head_(options.expect_head) {
  if (!options.key.empty()) hmac_ = std::make_unique<HmacSha256Hasher>(options.key);
  result_.key_given = hmac_ != nullptr;
}

LogVerifier::~LogVerifier() = default;

void LogVerifier::BeginFile(std::string name) {
  file_ = std::move(name);
  line_no_ = 0;
}

void LogVerifier::Break(std::uint64_t line, std::string problem) {
  result_.chain = LogVerifyResult::ChainState::kBroken;
  result_.file = file_;
  result_.line = line;
  result_.problem = std::move(problem);
}

void LogVerifier::SetUnreadable(std::string file, std::string problem) {
  result_.chain = LogVerifyResult::ChainState::kUnreadable;
  result_.file = std::move(file);
  result_.line = 0;
  result_.problem = std::move(problem);
}

bool LogVerifier::ResolvePendingGap(const ChainLine* next) {
  gap_pending_ = false;
  const std::uint64_t first_missing = result_.last_seq + 1;
  if (next != nullptr && next->seq >= first_missing && next->seq < gap_seq_) {
    Break(gap_line_, "reordered: seq " + std::to_string(gap_seq_) + " comes before seq " +
                         std::to_string(next->seq) + " on the next line");
  } else {
    Break(gap_line_, "deleted: " + SeqRange(first_missing, gap_seq_ - first_missing) +
                         " missing before this line (no lost_before records a loss)");
  }
  return false;
}

bool LogVerifier::Accept(const ChainLine& c) {
  if (c.mode == ChainMode::kSha256 && result_.keyed_lines > 0) {
    Break(line_no_,
          "not keyed: an unkeyed (sha256) line after HMAC-keyed ones was written without the "
          "key, by someone other than the daemon (if events.hmac_key_file was removed from "
          "the config here, verify the files from here on without --key-file)");
    return false;
  }
  if (c.seq == expect_seq_ && expect_seq_ != 0) {
    expect_seen_ = true;
    if (c.hash.compare(0, expect_head_.size(), expect_head_) != 0) {
      Break(line_no_, "rewritten: seq " + std::to_string(c.seq) + " has hash " + c.hash +
                          ", but the published head (--expect-head) is " + expect_head_ +
                          ": the log was rewritten or replaced up to here (or the head was "
                          "published for another log)");
      return false;
    }
  }
  if (c.mode == ChainMode::kHmacSha256 && result_.keyed_lines++ == 0) {
    result_.first_keyed_seq = c.seq;
  }
  if (c.lost_before > 0) {
    ++result_.gap_count;
    result_.lost_events += c.lost_before;
    if (result_.gaps.size() < kMaxListedGaps) {
      result_.gaps.push_back({file_, line_no_, c.seq - c.lost_before, c.lost_before});
    }
  }
  if (!have_previous_) result_.first_seq = c.seq;
  have_previous_ = true;
  ++result_.lines;
  result_.last_seq = c.seq;
  result_.last_hash = c.hash;
  garbage_lines_ = 0;
  return true;
}

// A keyed line is checked with the key only; without one it cannot be
// checked at all, which stops the verification as kUnverifiable.
bool LogVerifier::HashMatches(const ChainLine& c) {
  if (c.mode == ChainMode::kSha256) return EventChainHash(c.prev, c.body) == c.hash;
  return EventChainHmac(*hmac_, c.prev, c.body) == c.hash;
}

bool LogVerifier::AddLine(std::string_view line) {
  if (result_.chain != LogVerifyResult::ChainState::kIntact) return false;
  ++line_no_;
  ChainLine c;
  std::string error = ParseChainLine(line, &c);
  last_was_garbage_ = !error.empty();
  if (!error.empty()) {
    if (gap_pending_) return ResolvePendingGap(nullptr);
    if (garbage_lines_++ == 0) {
      first_garbage_line_ = line_no_;
      first_garbage_problem_ = "not an event line: " + error;
    }
    return true;
  }
  if (c.mode == ChainMode::kHmacSha256 && !hmac_) {
    result_.chain = LogVerifyResult::ChainState::kUnverifiable;
    result_.file = file_;
    result_.line = line_no_;
    result_.problem =
        "this line is HMAC-keyed (\"chain\":\"hmac-sha256\"): its hash can only be checked "
        "with the key; run verify-log --key-file FILE with the file the daemon's "
        "events.hmac_key_file names";
    return false;
  }
  if (!HashMatches(c)) {
    if (gap_pending_) return ResolvePendingGap(nullptr);
    if (garbage_lines_ > 0) {
      Break(first_garbage_line_, first_garbage_problem_);
    } else if (c.mode == ChainMode::kHmacSha256 && result_.keyed_lines == 0) {
      Break(line_no_,
            "edited, or another key: the line's HMAC does not match; check that --key-file "
            "is the key the daemon used (events.hmac_key_file)");
    } else {
      Break(line_no_, "edited: the line's content does not match its hash");
    }
    return false;
  }
  if (gap_pending_) return ResolvePendingGap(&c);
  // Non-event lines are acceptable only as the partial writes of lost events.
  const bool garbage_explained = garbage_lines_ == 0 || c.lost_before >= garbage_lines_;
  auto fail = [&](std::string problem) {
    if (garbage_lines_ > 0)
      Break(first_garbage_line_, first_garbage_problem_);
    else
      Break(line_no_, std::move(problem));
    return false;
  };
  if (!have_previous_) {
    if (!c.prev.empty()) {
      // Nothing links this line to what precedes it, so nothing can show
      // that a fragment before it is a lost line rather than an edited one.
      if (garbage_lines_ > 0) return fail("");
      result_.continues_earlier = true;
    } else if (c.lost_before >= c.seq || c.seq - 1 - c.lost_before != 0) {
      return fail("deleted: the chain starts at seq " + std::to_string(c.seq) +
                  ", so the lines before it are missing");
    }
    if (!garbage_explained) return fail("");
    return Accept(c);
  }
  const std::uint64_t last = result_.last_seq;
  if (c.prev.empty()) {
    return fail("a new chain starts here (empty prev) after seq " + std::to_string(last) +
                ": the log was restarted without its history, or replaced from here on");
  }
  if (c.seq <= last) {
    return fail("reordered or duplicated: seq " + std::to_string(c.seq) + " after seq " +
                std::to_string(last));
  }
  const std::uint64_t missing = c.seq - last - 1;
  if (missing > c.lost_before) {
    if (garbage_lines_ > 0) return fail("");
    gap_pending_ = true;
    gap_line_ = line_no_;
    gap_seq_ = c.seq - c.lost_before;
    return true;
  }
  if (missing < c.lost_before) {
    return fail("edited: lost_before " + std::to_string(c.lost_before) +
                " does not match the seq step from " + std::to_string(last) + " to " +
                std::to_string(c.seq));
  }
  if (c.prev != result_.last_hash) {
    return fail(
        "does not follow the previous event line: its prev is not that line's hash "
        "(a line was replaced, or the chain was recomputed from here)");
  }
  if (!garbage_explained) return fail("");
  return Accept(c);
}

void LogVerifier::EndFile(bool terminated) {
  if (result_.chain != LogVerifyResult::ChainState::kIntact) return;
  if (gap_pending_) {
    ResolvePendingGap(nullptr);
    return;
  }
  if (garbage_lines_ > 0) {
    if (garbage_lines_ == 1 && last_was_garbage_ && !terminated) {
      Break(first_garbage_line_,
            "truncated: the last line is incomplete (an interrupted write; if the daemon is "
            "restarted it records the loss and the log verifies again)");
    } else {
      Break(first_garbage_line_, first_garbage_problem_);
    }
    return;
  }
  if (!terminated && line_no_ > 0) {
    result_.notes.push_back(file_ + ": the last line has no newline (it is complete)");
  }
}

void LogVerifier::Finish() {
  if (result_.chain != LogVerifyResult::ChainState::kIntact) return;
  if (hmac_ && result_.lines > 0 && result_.keyed_lines == 0) {
    Break(0,
          "not keyed: no line carries an HMAC (\"chain\":\"sha256\" throughout), so the key "
          "proves nothing: the log was written without events.hmac_key_file, or rewritten by "
          "someone without the key");
    return;
  }
  if (expect_seq_ == 0) {
    if (result_.lines == 0) {
      // An empty log says nothing, and one cut to nothing looks the same:
      // never "OK" without a line checked.
      result_.chain = LogVerifyResult::ChainState::kUnverifiable;
      result_.file = file_;
      result_.line = 0;
      result_.problem =
          "no event line to verify: an empty log proves nothing (a log cut to nothing looks the "
          "same); give the rotated files too, or --expect-seq N --expect-head H from a head the "
          "daemon published";
    }
    return;
  }
  const std::string expected = "seq " + std::to_string(expect_seq_) + " (--expect-seq)";
  if (result_.lines == 0 || result_.last_seq < expect_seq_) {
    Break(0, "truncated: the published head is " + expected + ", but the chain ends at " +
                 (result_.lines == 0 ? std::string("no line (the log is empty)")
                                     : "seq " + std::to_string(result_.last_seq)) +
                 ": lines were cut off the end, or the log was replaced by a shorter one");
    return;
  }
  if (!expect_seen_ && expect_seq_ < result_.first_seq) {
    result_.chain = LogVerifyResult::ChainState::kUnverifiable;
    result_.file = file_;
    result_.line = 0;
    result_.problem = "the published head is " + expected + ", before the first line given (seq " +
                      std::to_string(result_.first_seq) +
                      "); give the older rotated files too, oldest first";
    return;
  }
  if (!expect_seen_ && !expect_head_.empty()) {
    Break(0, "rewritten: the published head is " + expected +
                 ", but no line has that seq (the chain records it as lost): the log was "
                 "rewritten, or the head was published for another log");
    return;
  }
  result_.expect_seq = expect_seq_;
  result_.expect_head = expect_head_;
}

LogVerifyResult VerifyLogBytes(std::string_view bytes, const std::string& name,
                               const LogVerifyOptions& options) {
  LogVerifier v(options);
  v.BeginFile(name);
  std::size_t start = 0;
  while (start < bytes.size()) {
    const std::size_t nl = bytes.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? bytes.size() : nl;
    if (!v.AddLine(bytes.substr(start, end - start))) break;
    start = end + 1;
  }
  v.EndFile(bytes.empty() || bytes.back() == '\n');
  v.Finish();
  return v.Result();
}

namespace {

// Streams one file into the verifier with lines bounded to
// kMaxEventLineBytes + 1 bytes (longer ones fail as too long). False with
// *error when the file cannot be read.
bool FeedFile(const std::string& path, LogVerifier* v, std::string* error) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  v->BeginFile(path);
  std::string line;
  char buf[64 * 1024];
  bool terminated = true;
  bool ok = true;
  bool more = true;
  while (more) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::strerror(errno);
      ok = false;
      break;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n && more; ++i) {
      if (buf[i] == '\n') {
        more = v->AddLine(line);
        line.clear();
        terminated = true;
      } else {
        if (line.size() <= kMaxEventLineBytes) line.push_back(buf[i]);
        terminated = false;
      }
    }
  }
  close(fd);
  if (!ok) return false;
  if (more && !terminated) more = v->AddLine(line);
  v->EndFile(terminated);
  return true;
}

}  // namespace

LogVerifyResult VerifyLogFiles(const std::vector<std::string>& paths,
                               const LogVerifyOptions& options) {
  LogVerifier v(options);
  for (const std::string& path : paths) {
    std::string error;
    if (!FeedFile(path, &v, &error)) {
      v.SetUnreadable(path, "cannot read: " + error);
      break;
    }
    if (v.Result().chain != LogVerifyResult::ChainState::kIntact) break;
  }
  v.Finish();
  return v.Result();
}

}  // namespace flightwall
