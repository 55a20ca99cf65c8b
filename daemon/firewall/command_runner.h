// CommandRunner: runs a firewall tool (iptables-restore, nft, ...) as a
// child process, feeding it a script on stdin and capturing its output.
//
// Backends talk to the kernel only through this interface so that unit tests
// can replace it with a fake that records commands and returns canned
// output. The system runner uses fork/execvp (no shell, PATH lookup, LC_ALL=C
// so messages are stable), closes every other descriptor in the child, and
// kills a child that outlives the timeout. Run() is thread-safe for the
// system runner; fakes need not be.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flightwall {

struct CommandResult {
  bool started = false;  // false: the program could not be run at all (see failure)
  int exit_code = -1;    // exit status; -1 when killed by a signal or not started
  std::string out;
  std::string err;
  std::string failure;  // why it did not run or finish ("not found", "timed out")
  bool Ok() const { return started && exit_code == 0; }
  // "iptables-restore: exit 4: line 3: ..." for error messages.
  std::string Describe(std::string_view program) const;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // argv[0] is looked up in PATH. stdin_text is written to the child's stdin,
  // which is then closed.
  virtual CommandResult Run(const std::vector<std::string>& argv, std::string_view stdin_text) = 0;
};

std::unique_ptr<CommandRunner> MakeSystemCommandRunner(
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace flightwall
