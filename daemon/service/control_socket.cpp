#include "service/control_socket.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <utility>

namespace flightwall {
namespace {

std::string Errno(int e) { return std::strerror(e); }

bool FillAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// Whether a process accepts connections on the socket at `addr`.
bool Answers(const sockaddr_un& addr) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::int64_t MsLeft(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now())
      .count();
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const std::int64_t left = MsLeft(deadline);
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

Result<std::unique_ptr<ControlSocket>> ControlSocket::Open(const std::string& path,
                                                           Handler handler) {
  sockaddr_un addr{};
  if (!FillAddress(path, &addr)) {
    return Status::Error("control socket path '" + path + "' is empty or longer than " +
                         std::to_string(sizeof(addr.sun_path) - 1) +
                         " bytes; set a shorter control.socket");
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && mkdir(parent.c_str(), 0750) != 0 && errno != EEXIST) {
    return Status::Error("cannot create the control socket's directory " + parent.string() + ": " +
                         Errno(errno) + "; create it (root only) or set control.socket");
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::Error("control socket path " + path +
                           " exists and is not a socket; remove it or set another control.socket");
    }
    if (Answers(addr)) {
      return Status::Error("another flightwall already serves the control socket " + path +
                           "; stop it, or give each daemon its own control.socket");
    }
    unlink(path.c_str());  // left by a daemon that crashed
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return Status::Error("cannot create the control socket: " + Errno(errno));
  }
  // The file is created 0660 at bind (umask), never wider for a moment.
  const mode_t old_mask = umask(0117);
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  umask(old_mask);
  if (bound != 0 || listen(fd, 8) != 0) {
    Status error = Status::Error("cannot listen on the control socket " + path + ": " +
                                 Errno(bound != 0 ? bind_errno : errno) +
                                 "; check the directory's permissions or set control.socket");
    close(fd);
    return error;
  }
  chmod(path.c_str(), 0660);
  const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    Status error = Status::Error("cannot create the control socket's eventfd: " + Errno(errno));
    close(fd);
    unlink(path.c_str());
    return error;
  }
  std::unique_ptr<ControlSocket> s(new ControlSocket(path, fd, stop_fd, std::move(handler)));
  if (stat(path.c_str(), &st) == 0) {
    s->inode_ = st.st_ino;
    s->device_ = st.st_dev;
  }
  return s;
}

ControlSocket::ControlSocket(std::string path, int listen_fd, int stop_fd, Handler handler)
    : path_(std::move(path)),
      listen_fd_(listen_fd),
      stop_fd_(stop_fd),
      handler_(std::move(handler)) {}

ControlSocket::~ControlSocket() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    static_cast<void>(write(stop_fd_, &one, sizeof(one)));
    thread_.join();
  }
  close(listen_fd_);
  close(stop_fd_);
  // Only our own file: a daemon started since may have replaced it.
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0 && st.st_ino == inode_ && st.st_dev == device_) {
    unlink(path_.c_str());
  }
}

void ControlSocket::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ControlSocket::Run() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int n = poll(p, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((p[1].revents & POLLIN) != 0) return;
    if ((p[0].revents & POLLIN) == 0) continue;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) continue;  // EAGAIN, ECONNABORTED, EMFILE: the next turn tries again
    Serve(client);
    close(client);
  }
}

void ControlSocket::Serve(int client) {
  const auto deadline = std::chrono::steady_clock::now() + kClientTimeout;
  std::string request;
  char buffer[kMaxRequest];
  bool complete = false;
  while (!complete && request.size() < kMaxRequest) {
    if (!WaitFor(client, POLLIN, deadline)) return;  // silent client: cut off
    const ssize_t n = recv(client, buffer, kMaxRequest - request.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;  // closed without a newline: answer what came
    request.append(buffer, static_cast<std::size_t>(n));
    const auto newline = request.find('\n');
    if (newline != std::string::npos) {
      request.resize(newline);
      complete = true;
    }
  }
  if (!request.empty() && request.back() == '\r') request.pop_back();
  std::string reply = complete || request.size() < kMaxRequest
                          ? handler_(request)
                          : std::string(R"({"error":"request too long; send status"})");
  reply += '\n';
  std::size_t sent = 0;
  while (sent < reply.size()) {
    if (!WaitFor(client, POLLOUT, deadline)) return;
    const ssize_t n = send(client, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace flightwall
