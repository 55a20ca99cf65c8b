// ControlSocket: the daemon's local control socket (control.socket, default
// /run/flightwall/control.sock), what `flightwall status` asks.
//
// A unix stream socket, mode 0660 (owner root: root and the socket's group
// may ask). Protocol: the client sends one request line ("status\n"), the
// daemon replies with one JSON object and a newline, then closes. Requests
// are bounded: at most kMaxRequest bytes and kClientTimeout to send them
// (and to take the reply); a client that connects and says nothing is cut
// off at the timeout, so it delays the next client by at most that much.
//
// One thread of its own serves the clients one at a time and calls the
// handler; the handler must not wait for the packet workers (the daemon's
// returns the snapshot its main loop last published).
//
// Open refuses a path another live daemon serves, removes a stale socket
// left by a crash, and creates the parent directory (mode 0750) if it is
// missing. The destructor stops the thread and removes the socket file if
// it is still the one this object made.
// Thread-safety: Open, Start and the destructor from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"

namespace flightwall {

class ControlSocket {
 public:
  static constexpr std::size_t kMaxRequest = 256;
  static constexpr std::chrono::milliseconds kClientTimeout{1000};

  // The request line without its newline -> the reply (a newline is added).
  using Handler = std::function<std::string(std::string_view request)>;

  // On failure the Status names the path and what to do.
  static Result<std::unique_ptr<ControlSocket>> Open(const std::string& path, Handler handler);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  void Start();
  const std::string& Path() const { return path_; }

 private:
  ControlSocket(std::string path, int listen_fd, int stop_fd, Handler handler);
  void Run();
  void Serve(int client);

  std::string path_;
  int listen_fd_;
  int stop_fd_;  // eventfd: the destructor wakes the thread
  Handler handler_;
  unsigned long long inode_ = 0;  // of the socket file this object made
  unsigned long long device_ = 0;
  std::thread thread_;
};

}  // namespace flightwall
