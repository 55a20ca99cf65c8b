// EventLogFile: the daemon's event log file, a LineWriter that appends whole
// lines to a path and keeps the hash chain (event_log.h) going across
// restarts and log rotation.
//
// - Opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0640; each line is one
//   write(2) of line + '\n'. Nothing is buffered in user space, so a crash
//   loses no written line.
// - Restart: Open() reads the last line of an existing file (at most 64 KiB
//   from its end) and returns the chain position to continue from
//   (ResumePosition(), for EventChain / EventLog). An unterminated last line
//   (a write cut by a crash or a full disk) is kept as it is, terminated
//   before the next line, and counted as one lost event, so the next line
//   carries lost_before and verify-log accepts it.
//   A last line that is not an event line makes the chain start again
//   (ResumeNote() says so and verify-log will report the break there).
// - Rotation: Reopen() (on SIGUSR1, which the main loop takes with
//   sigtimedwait) opens the path again; the chain continues in memory, so
//   the new file's first line links to the rotated file's last one; the
//   next WriteLine switches to the new descriptor. If the path cannot be
//   opened the old descriptor is kept.
// - Head: Head() is the last event line on disk (seq and hash), read from
//   the lines as they are written (and from the tail at Open), for the
//   daemon to publish outside the file (chain_head_journal.h, metrics).
//   After Reopen it is still the rotated file's last line until a line is
//   written to the new file.
// - Failure: a write that fails (ENOSPC, EIO, EDQUOT, EROFS, ...) never
//   throws and never retries in a loop: the line is counted in Lost() and
//   WriteLine returns false, which makes the chain record the gap
//   (lost_before). A partial write is cut back with ftruncate so the file
//   keeps whole lines; if even that fails the fragment is terminated before
//   the next line.
// - Recovery: after a failed write the descriptor is closed (so it pins
//   neither a deleted file's space nor a file system someone wants to
//   remount read-only) and the file is Failing(). The next line opens the
//   path again and tries; while that keeps failing, lines within the retry
//   backoff (100 ms doubling to 2 s) are lost without touching the disk.
//   The first line written again ends the failure. Failures() and
//   Recoveries() count the transitions (for the daemon's log).
// Thread-safety: WriteLine, Reopen, Head and the counters may be called from
// any thread. Only WriteLine waits for the disk: Reopen, Head and the
// counters return at once even while a write hangs (a stuck disk stalls the
// event writer, never the daemon's main loop).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sink/event_log.h"
#include "sink/line_writer.h"

namespace flightwall {

class EventLogFile : public LineWriter {
 public:
  // On failure the Status names the path and what to do.
  static Result<std::unique_ptr<EventLogFile>> Open(const std::string& path);
  ~EventLogFile() override;
  EventLogFile(const EventLogFile&) = delete;
  EventLogFile& operator=(const EventLogFile&) = delete;

  bool WriteLine(std::string_view line) override;
  // Opens the path again (after logrotate moved the file). An error when it
  // cannot; writes then continue to the old file.
  Status Reopen();

  // Where the existing file's chain ended when it was opened.
  const ChainPosition& ResumePosition() const { return resume_; }
  // Non-empty when the existing file's end was damaged (for the daemon's log).
  const std::string& ResumeNote() const { return resume_note_; }
  // The last event line written (or found at Open): seq 0 and "" if none.
  ChainHead Head() const;

  const std::string& Path() const { return path_; }
  std::uint64_t Written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t Lost() const { return lost_.load(std::memory_order_relaxed); }
  // errno of the last failed write (0 if none), for a rate-limited warning.
  int LastErrno() const { return last_errno_.load(std::memory_order_relaxed); }
  // True from a failed write until a line is written again.
  bool Failing() const { return failing_.load(std::memory_order_relaxed); }
  std::uint64_t Failures() const { return failures_.load(std::memory_order_relaxed); }
  std::uint64_t Recoveries() const { return recoveries_.load(std::memory_order_relaxed); }
  // Retry backoff after consecutive failures (tests shorten it).
  void SetRetryBackoff(std::chrono::milliseconds first, std::chrono::milliseconds longest);

 private:
  EventLogFile(std::string path, int fd);
  void ReadTail();
  void NoteHead(std::string_view line);
  void TakeReopened();  // under mutex_
  // Under mutex_: false (the line is lost) while the retry backoff runs or
  // the path cannot be opened again.
  bool ReadyAfterFailure();
  void NoteFailure(int err);  // under mutex_

  const std::string path_;
  std::mutex mutex_;            // the writing thread's: held across write(2)
  int fd_;                      // guarded by mutex_; -1 after a failed write
  bool needs_newline_ = false;  // the file ends in a fragment: start the next line afresh
  std::string buffer_;
  // Reopen() never waits for a write in progress (a stuck disk must not
  // stall the caller): it leaves the new descriptor here and the next
  // WriteLine switches to it.
  std::mutex reopened_mutex_;
  int reopened_fd_ = -1;  // guarded by reopened_mutex_
  bool reopened_fragment_ = false;
  ChainPosition resume_;
  std::string resume_note_;
  mutable std::mutex head_mutex_;  // never held across I/O
  ChainHead head_;                 // guarded by head_mutex_
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<int> last_errno_{0};
  // Retry state, guarded by mutex_.
  std::chrono::milliseconds first_backoff_{100};
  std::chrono::milliseconds longest_backoff_{2000};
  std::chrono::milliseconds backoff_{0};  // 0: the next line retries at once
  std::chrono::steady_clock::time_point retry_at_{};
  std::atomic<bool> failing_{false};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> recoveries_{0};
};

}  // namespace flightwall
