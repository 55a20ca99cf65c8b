#include "sink/log_verifier.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "sink/event_log.h"

namespace flightwall {
namespace {

constexpr std::string_view kHashKey = ",\"hash\":\"";
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
  if (seq == j.end() || !seq->is_number_unsigned()) return "no numeric \"seq\"";
  if (prev == j.end() || !prev->is_string()) return "no \"prev\" hash";
  if (hash == j.end() || !hash->is_string()) return "no \"hash\"";
  if (lost != j.end() && !lost->is_number_unsigned()) return "\"lost_before\" is not a count";
  const auto& hash_text = hash->get_ref<const std::string&>();
  if (hash_text.size() != kHashHexLength || !IsLowerHex(hash_text)) {
    return "\"hash\" is not a SHA-256 hex digest";
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
  out->hash = hash_text;
  out->body.assign(line.substr(0, line.size() - suffix));
  out->body.push_back('}');
  return {};
}

void LogVerifier::BeginFile(std::string name) {
  file_ = std::move(name);
  line_no_ = 0;
}

void LogVerifier::Break(std::uint64_t line, std::string problem) {
  result_.status = LogVerifyResult::Status::kBroken;
  result_.file = file_;
  result_.line = line;
  result_.problem = std::move(problem);
}

void LogVerifier::SetUnreadable(std::string file, std::string problem) {
  result_.status = LogVerifyResult::Status::kUnreadable;
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

void LogVerifier::Accept(const ChainLine& c) {
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
}

bool LogVerifier::AddLine(std::string_view line) {
  if (result_.status != LogVerifyResult::Status::kIntact) return false;
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
  if (EventChainHash(c.prev, c.body) != c.hash) {
    if (gap_pending_) return ResolvePendingGap(nullptr);
    if (garbage_lines_ > 0)
      Break(first_garbage_line_, first_garbage_problem_);
    else
      Break(line_no_, "edited: the line's content does not match its hash");
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
    Accept(c);
    return true;
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
  Accept(c);
  return true;
}

void LogVerifier::EndFile(bool terminated) {
  if (result_.status != LogVerifyResult::Status::kIntact) return;
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

LogVerifyResult VerifyLogBytes(std::string_view bytes, const std::string& name) {
  LogVerifier v;
  v.BeginFile(name);
  std::size_t start = 0;
  while (start < bytes.size()) {
    const std::size_t nl = bytes.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? bytes.size() : nl;
    if (!v.AddLine(bytes.substr(start, end - start))) break;
    start = end + 1;
  }
  v.EndFile(bytes.empty() || bytes.back() == '\n');
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

LogVerifyResult VerifyLogFiles(const std::vector<std::string>& paths) {
  LogVerifier v;
  for (const std::string& path : paths) {
    std::string error;
    if (!FeedFile(path, &v, &error)) {
      v.SetUnreadable(path, "cannot read: " + error);
      break;
    }
    if (v.Result().status != LogVerifyResult::Status::kIntact) break;
  }
  return v.Result();
}

std::string FormatLogVerifyResult(const LogVerifyResult& r) {
  std::string s;
  switch (r.status) {
    case LogVerifyResult::Status::kIntact:
      s = "OK: " + std::to_string(r.lines) + " lines, chain intact";
      if (r.lines > 0)
        s += " (seq " + std::to_string(r.first_seq) + "-" + std::to_string(r.last_seq) + ")";
      s += "\n";
      break;
    case LogVerifyResult::Status::kBroken:
      s = "BROKEN: " + r.file + " line " + std::to_string(r.line) + ": " + r.problem + "\n";
      s += std::to_string(r.lines) + " event line(s) verified before the break\n";
      break;
    case LogVerifyResult::Status::kUnreadable:
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
