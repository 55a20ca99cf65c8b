#include "firewall/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

extern char** environ;

namespace flightwall {
namespace {

// Output beyond this is dropped: the tools we run print a few lines, and a
// runaway child must not grow the daemon without bound.
constexpr std::size_t kMaxCapture = 1 << 20;

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// The environment for the child, built before fork (setenv is not safe
// between fork and exec in a threaded program).
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "LC_ALL=", 7) != 0 && std::strncmp(*e, "LANGUAGE=", 9) != 0) {
      env.emplace_back(*e);
    }
  }
  env.emplace_back("LC_ALL=C");
  return env;
}

[[noreturn]] void ExecChild(int in_fd, int out_fd, int err_fd, int status_fd, char* const argv[],
                            char* const envp[]) {
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
    const int e = errno;
    (void)!write(status_fd, &e, sizeof e);
    _exit(127);
  }
  // Every descriptor the daemon holds (queues, sockets, logs) stays out of
  // the child; status_fd closes itself on a successful exec.
  for (int fd = 3; fd < 1024; ++fd) {
    if (fd != status_fd) close(fd);
  }
  signal(SIGPIPE, SIG_DFL);
  execvpe(argv[0], argv, envp);
  const int e = errno;
  (void)!write(status_fd, &e, sizeof e);
  _exit(127);
}

class SystemCommandRunner : public CommandRunner {
 public:
  explicit SystemCommandRunner(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  CommandResult Run(const std::vector<std::string>& argv, std::string_view stdin_text) override;

 private:
  std::chrono::milliseconds timeout_;
};

CommandResult SystemCommandRunner::Run(const std::vector<std::string>& argv,
                                       std::string_view stdin_text) {
  CommandResult result;
  if (argv.empty()) {
    result.failure = "no program given";
    return result;
  }
  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const std::string& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<std::string> env = ChildEnvironment();
  std::vector<char*> c_env;
  c_env.reserve(env.size() + 1);
  for (std::string& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1},
      status_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in_pipe, out_pipe, err_pipe, status_pipe}) {
      CloseFd(&p[0]);
      CloseFd(&p[1]);
    }
  };
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0) {
    result.failure = std::string("pipe: ") + std::strerror(errno);
    close_all();
    return result;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    result.failure = std::string("fork: ") + std::strerror(errno);
    close_all();
    return result;
  }
  if (pid == 0) {
    ExecChild(in_pipe[0], out_pipe[1], err_pipe[1], status_pipe[1], c_argv.data(), c_env.data());
  }
  CloseFd(&in_pipe[0]);
  CloseFd(&out_pipe[1]);
  CloseFd(&err_pipe[1]);
  CloseFd(&status_pipe[1]);

  int exec_errno = 0;
  if (read(status_pipe[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
    CloseFd(&status_pipe[0]);
    close_all();
    waitpid(pid, nullptr, 0);
    result.failure = std::string("cannot run ") + argv[0] + ": " + std::strerror(exec_errno);
    return result;
  }
  CloseFd(&status_pipe[0]);
  result.started = true;

  // A child that exits without reading its stdin must not kill us with
  // SIGPIPE: block it in this thread and discard a pending one afterwards.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

  fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  if (stdin_text.empty()) CloseFd(&in_pipe[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  bool timed_out = false;
  while (out_pipe[0] >= 0 || err_pipe[0] >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
    const int n = poll(fds, 3, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (fds[2].revents != 0) {
      const ssize_t w = write(in_pipe[1], stdin_text.data() + written, stdin_text.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = stdin_text.size();
      if (written >= stdin_text.size()) CloseFd(&in_pipe[1]);
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t r = read(fds[i].fd, buffer, sizeof buffer);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        CloseFd(i == 0 ? &out_pipe[0] : &err_pipe[0]);
        continue;
      }
      std::string& sink = i == 0 ? result.out : result.err;
      if (sink.size() < kMaxCapture) sink.append(buffer, static_cast<std::size_t>(r));
    }
  }
  close_all();
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const timespec zero{};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);

  if (timed_out) {
    result.failure = "timed out after " + std::to_string(timeout_.count()) + " ms; killed";
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.failure = std::string("killed by signal ") + std::to_string(WTERMSIG(status));
  }
  return result;
}

}  // namespace

std::string CommandResult::Describe(std::string_view program) const {
  std::string text(program);
  if (!failure.empty()) return text + ": " + failure;
  text += ": exit " + std::to_string(exit_code);
  // One line for logs: the tool's lines joined, without nft's "^^^^"
  // markers (they point into a script the reader does not see).
  const std::string& raw = err.empty() ? out : err;
  std::string detail;
  std::size_t start = 0;
  while (start < raw.size()) {
    std::size_t end = raw.find('\n', start);
    if (end == std::string::npos) end = raw.size();
    std::string_view line(raw.data() + start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.find_first_not_of("^~") == std::string_view::npos) continue;
    if (!detail.empty()) detail += ' ';
    detail += line;
  }
  if (!detail.empty()) text += ": " + detail;
  return text;
}

std::unique_ptr<CommandRunner> MakeSystemCommandRunner(std::chrono::milliseconds timeout) {
  return std::make_unique<SystemCommandRunner>(timeout);
}

}  // namespace flightwall
