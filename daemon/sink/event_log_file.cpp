#include "sink/event_log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "sink/log_verifier.h"

namespace flightwall {
namespace {

constexpr int kOpenFlags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY;
constexpr mode_t kFileMode = 0640;
// A partial last line plus a whole line before it, each at most this long.
constexpr std::size_t kTailWindow = 2 * kMaxEventLineBytes + 2;

struct FileTail {
  std::string bytes;   // the last bytes of the file (empty: empty, unreadable or not a file)
  bool whole = false;  // bytes start at offset 0
  std::string error;   // why the tail could not be read
};

FileTail ReadFileTail(const std::string& path) {
  FileTail t;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    t.error = std::strerror(errno);
    return t;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    close(fd);
    return t;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t want = size < kTailWindow ? size : kTailWindow;
  t.bytes.resize(want);
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n =
        pread(fd, t.bytes.data() + got, want - got, static_cast<off_t>(size - want + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fd);
  t.bytes.resize(got);
  t.whole = size == want && got == want;
  return t;
}

bool EndsWithFragment(const std::string& path) {
  const FileTail t = ReadFileTail(path);
  return !t.bytes.empty() && t.bytes.back() != '\n';
}

}  // namespace

Result<std::unique_ptr<EventLogFile>> EventLogFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), kOpenFlags, kFileMode);
  if (fd < 0) {
    const int e = errno;
    return Status::Error(
        "cannot open the event log " + path + ": " + std::strerror(e) +
        (e == ENOENT ? "; create its directory first" : "") +
        (e == EACCES || e == EPERM ? "; check the directory's owner and permissions" : ""));
  }
  std::unique_ptr<EventLogFile> file(new EventLogFile(path, fd));
  file->ReadTail();
  file->head_ = {file->resume_.seq - file->resume_.unrecorded_lost, file->resume_.hash};
  return file;
}

EventLogFile::EventLogFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

EventLogFile::~EventLogFile() {
  if (fd_ >= 0) close(fd_);
  if (reopened_fd_ >= 0) close(reopened_fd_);
}

void EventLogFile::ReadTail() {
  const FileTail t = ReadFileTail(path_);
  if (!t.error.empty()) {
    resume_note_ = "cannot read the end of " + path_ + " (" + t.error +
                   "); a new hash chain starts, verify-log will report the break there";
    return;
  }
  if (t.bytes.empty()) return;
  std::string_view w = t.bytes;
  ChainLine c;
  if (w.back() != '\n') {
    needs_newline_ = true;
    const std::size_t nl = w.rfind('\n');
    const std::string_view partial = nl == std::string_view::npos ? w : w.substr(nl + 1);
    if (ParseChainLine(partial, &c).empty()) {
      resume_ = {c.seq, c.hash, 0};
      return;
    }
    // A line cut short: its event was lost. The next line records that.
    resume_.unrecorded_lost = 1;
    if (nl == std::string_view::npos) {
      resume_.seq = 1;  // the fragment was the chain's first line
      if (!t.whole) {
        resume_.seq = 0;
        resume_note_ = path_ +
                       " ends in an overlong fragment; a new hash chain starts, "
                       "verify-log will report the break there";
        resume_.unrecorded_lost = 0;
      }
      return;
    }
    w = w.substr(0, nl + 1);
  }
  w.remove_suffix(1);
  const std::size_t nl = w.rfind('\n');
  if (nl == std::string_view::npos && !t.whole) {
    resume_note_ = "the last line of " + path_ +
                   " is too long to be an event line; a new hash "
                   "chain starts, verify-log will report the break there";
    resume_.unrecorded_lost = 0;
    return;
  }
  const std::string_view last = nl == std::string_view::npos ? w : w.substr(nl + 1);
  const std::string why = ParseChainLine(last, &c);
  if (!why.empty()) {
    resume_note_ = "the last line of " + path_ + " is not an event line (" + why +
                   "); a new hash chain starts, verify-log will report the break there";
    resume_.unrecorded_lost = 0;
    return;
  }
  resume_.seq = c.seq + resume_.unrecorded_lost;
  resume_.hash = c.hash;
}

bool EventLogFile::WriteLine(std::string_view line) {
  std::lock_guard<std::mutex> lock(mutex_);
  TakeReopened();
  if (fd_ < 0 && !ReadyAfterFailure()) {
    lost_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  buffer_.clear();
  if (needs_newline_) buffer_.push_back('\n');
  buffer_.append(line);
  buffer_.push_back('\n');
  std::size_t done = 0;
  int err = 0;
  while (done < buffer_.size()) {
    const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) {
      err = EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err == 0) {
    needs_newline_ = false;
    written_.fetch_add(1, std::memory_order_relaxed);
    NoteHead(line);
    backoff_ = std::chrono::milliseconds(0);
    if (failing_.load(std::memory_order_relaxed)) {
      failing_.store(false, std::memory_order_relaxed);
      recoveries_.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
  }
  lost_.fetch_add(1, std::memory_order_relaxed);
  if (done > 0) {
    // Keep the file made of whole lines: cut the fragment back off.
    const off_t end = lseek(fd_, 0, SEEK_CUR);
    const auto cut = static_cast<off_t>(done);
    if (end < cut || ftruncate(fd_, end - cut) != 0) needs_newline_ = buffer_[done - 1] != '\n';
  }
  NoteFailure(err);
  return false;
}

void EventLogFile::NoteFailure(int err) {
  last_errno_.store(err, std::memory_order_relaxed);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = backoff_.count() == 0 ? first_backoff_ : std::min(backoff_ * 2, longest_backoff_);
  if (!failing_.load(std::memory_order_relaxed)) {
    failing_.store(true, std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool EventLogFile::ReadyAfterFailure() {
  if (std::chrono::steady_clock::now() < retry_at_) return false;
  const int fd = open(path_.c_str(), kOpenFlags, kFileMode);
  if (fd < 0) {
    NoteFailure(errno);
    return false;
  }
  fd_ = fd;
  needs_newline_ = EndsWithFragment(path_);  // the file says whether a fragment is left
  return true;
}

void EventLogFile::SetRetryBackoff(std::chrono::milliseconds first,
                                   std::chrono::milliseconds longest) {
  std::lock_guard<std::mutex> lock(mutex_);
  first_backoff_ = first;
  longest_backoff_ = longest;
}

// Event lines start with {"seq":N, and end with ,"hash":"<64 hex>"} (the
// chain writes them so): read both in place, without parsing the JSON.
void EventLogFile::NoteHead(std::string_view line) {
  constexpr std::string_view kSeq = "{\"seq\":";
  constexpr std::string_view kHash = ",\"hash\":\"";
  constexpr std::size_t kHexDigits = 64;
  constexpr std::size_t kTail = kHash.size() + kHexDigits + 2;
  if (line.size() < kSeq.size() + kTail || line.substr(0, kSeq.size()) != kSeq ||
      line.substr(line.size() - kTail, kHash.size()) != kHash ||
      line.substr(line.size() - 2) != "\"}") {
    return;
  }
  std::uint64_t seq = 0;
  std::size_t i = kSeq.size();
  for (; i < line.size() && i < kSeq.size() + 20 && line[i] >= '0' && line[i] <= '9'; ++i) {
    seq = seq * 10 + static_cast<std::uint64_t>(line[i] - '0');
  }
  if (i == kSeq.size() || line[i] != ',') return;
  std::lock_guard<std::mutex> lock(head_mutex_);
  head_.seq = seq;
  head_.hash.assign(line.substr(line.size() - kHexDigits - 2, kHexDigits));
}

ChainHead EventLogFile::Head() const {
  std::lock_guard<std::mutex> lock(head_mutex_);
  return head_;
}

Status EventLogFile::Reopen() {
  const int fd = open(path_.c_str(), kOpenFlags, kFileMode);
  if (fd < 0) {
    return Status::Error("cannot reopen the event log " + path_ + ": " + std::strerror(errno) +
                         "; still writing to the previously opened file");
  }
  const bool fragment = EndsWithFragment(path_);
  std::lock_guard<std::mutex> lock(reopened_mutex_);
  if (reopened_fd_ >= 0) close(reopened_fd_);  // reopened twice before a write
  reopened_fd_ = fd;
  reopened_fragment_ = fragment;
  return Status();
}

void EventLogFile::TakeReopened() {
  std::lock_guard<std::mutex> lock(reopened_mutex_);
  if (reopened_fd_ < 0) return;
  if (fd_ >= 0) close(fd_);
  fd_ = reopened_fd_;
  needs_newline_ = reopened_fragment_;
  reopened_fd_ = -1;
}

}  // namespace flightwall
