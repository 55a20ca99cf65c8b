// FakeCommandRunner: records the commands a backend runs and answers them
// from a test-supplied handler, so backends are tested without root.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "firewall/command_runner.h"

namespace flightwall {

struct RecordedCommand {
  std::vector<std::string> argv;
  std::string stdin_text;
  std::string Joined() const {
    std::string text;
    for (const std::string& a : argv) text += (text.empty() ? "" : " ") + a;
    return text;
  }
};

class FakeCommandRunner : public CommandRunner {
 public:
  using Handler = std::function<CommandResult(const RecordedCommand&)>;
  FakeCommandRunner(std::vector<RecordedCommand>* log, Handler handler)
      : log_(log), handler_(std::move(handler)) {}
  CommandResult Run(const std::vector<std::string>& argv, std::string_view stdin_text) override {
    log_->push_back({argv, std::string(stdin_text)});
    return handler_(log_->back());
  }

 private:
  std::vector<RecordedCommand>* log_;
  Handler handler_;
};

inline CommandResult Succeeded(std::string out = {}) {
  CommandResult r;
  r.started = true;
  r.exit_code = 0;
  r.out = std::move(out);
  return r;
}

inline CommandResult Failed(int code, std::string err) {
  CommandResult r;
  r.started = true;
  r.exit_code = code;
  r.err = std::move(err);
  return r;
}

inline CommandResult NotFound() {
  CommandResult r;
  r.failure = "cannot run: No such file or directory";
  return r;
}

}  // namespace flightwall
