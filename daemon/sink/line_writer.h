// LineWriter: where the event log's finished lines go. One call writes one
// whole line (the writer adds the '\n'), so a writer can make each line a
// single write(2) and never leave two events interleaved.
//
// WriteLine returns false when the line was not written (disk full, I/O
// error, closed stream); it never throws and never blocks on a failure.
// The event log records such losses in its hash chain (see event_log.h).
// Thread-safety: per implementation; OstreamLineWriter is not thread-safe.
#pragma once

#include <ostream>
#include <string_view>

namespace flightwall {

class LineWriter {
 public:
  virtual ~LineWriter() = default;
  // `line` has no '\n'. True when the whole line (and its '\n') was written.
  virtual bool WriteLine(std::string_view line) = 0;
};

// Writes to a caller-owned stream (`audit --events`, tests). A stream in a
// failed state reports every line as lost; the caller checks the stream at
// the end as before.
class OstreamLineWriter : public LineWriter {
 public:
  explicit OstreamLineWriter(std::ostream& out) : out_(out) {}
  bool WriteLine(std::string_view line) override {
    out_ << line << '\n';
    return static_cast<bool>(out_);
  }

 private:
  std::ostream& out_;
};

}  // namespace flightwall
