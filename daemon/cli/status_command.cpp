// `flightwall status`: asks the daemon's control socket (control_socket.h)
// for its status and prints a summary, or with --json the daemon's JSON.
// Exit codes for monitoring checks (Nagios style: 0 OK, 1 WARNING):
//   0 running and enforcing, 1 running but degraded (status_report.h says
//   when), 2 usage or error (bad config, no permission, unreadable reply),
//   3 not running (no control socket, or nobody answers on it).
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "service/daemon_config.h"

namespace flightwall {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kDefaultConfig = "/etc/flightwall/flightwall.yaml";
constexpr auto kReplyTimeout = std::chrono::seconds(5);

enum class Ask : std::uint8_t { kAnswered, kNotRunning, kError };

// One request, one reply line; *out is the reply or what went wrong.
Ask AskDaemon(const std::string& path, std::string* out) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    *out = "control socket path '" + path + "' is empty or too long";
    return Ask::kError;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *out = std::string("cannot create a socket: ") + std::strerror(errno);
    return Ask::kError;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR) {
      *out = "flightwall is not running (no control socket at " + path + ")";
      return Ask::kNotRunning;
    }
    *out = "cannot connect to the control socket " + path + ": " + std::strerror(e) +
           (e == EACCES ? "; run as root or as a member of the socket's group" : "");
    return Ask::kError;
  }
  const std::string request = "status\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    *out = "cannot send the request to " + path + ": " + std::strerror(errno);
    close(fd);
    return Ask::kError;
  }
  const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
  std::string reply;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    pollfd p{fd, POLLIN, 0};
    const int ready = left > 0 ? poll(&p, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      *out = "the daemon did not answer on " + path + " within 5 s";
      close(fd);
      return Ask::kError;
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
    if (reply.size() > (1u << 20)) break;
  }
  close(fd);
  *out = reply;
  return Ask::kAnswered;
}

// The socket to ask: --socket, else the config's control.socket (--config,
// else the default config when it exists), else the built-in default.
bool SocketPath(const StatusOptions& o, std::string* path) {
  if (!o.socket.empty()) {
    *path = o.socket;
    return true;
  }
  std::string config = o.config;
  std::error_code ec;
  if (config.empty() && std::filesystem::exists(kDefaultConfig, ec)) config = kDefaultConfig;
  if (config.empty()) {
    *path = kDefaultControlSocket;
    return true;
  }
  DaemonConfigResult c = LoadDaemonConfig(config);
  if (!c.config) {
    for (const auto& e : c.errors) std::cerr << e.ToString() << "\n";
    std::cerr << "flightwall status: cannot read the control socket path from " << config
              << "; fix it or pass --socket PATH\n";
    return false;
  }
  if (c.config->control_socket.empty()) {
    std::cerr << "flightwall status: the control socket is disabled in " << config
              << " (control.socket: \"\"); set it and restart the daemon\n";
    return false;
  }
  *path = c.config->control_socket;
  return true;
}

std::string Uptime(std::uint64_t s) {
  std::ostringstream o;
  if (s >= 86400) o << s / 86400 << "d ";
  o << std::setfill('0') << std::setw(2) << (s % 86400) / 3600 << "h " << std::setw(2)
    << (s % 3600) / 60 << "m " << std::setw(2) << s % 60 << "s";
  return o.str();
}

std::string Str(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::uint64_t Num(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

void PrintSummary(const Json& j, const std::string& path) {
  const Json empty = Json::object();
  auto section = [&](const char* key) -> const Json& {
    const auto it = j.find(key);
    return it != j.end() && it->is_object() ? *it : empty;
  };
  const Json& policy = section("policy");
  const Json& intercept = section("intercept");
  const Json& packets = section("packets");
  const Json& flows = section("flows");
  const Json& events = section("event_log");
  const Json& reload = section("reload");
  const Json& workers = section("workers");
  auto row = [](const char* label) -> std::ostream& {
    return std::cout << "  " << std::left << std::setw(13) << label;
  };
  std::cout << "flightwall is running: " << Str(j, "state") << " (pid " << Num(j, "pid")
            << ", version " << Str(j, "version") << ", socket " << path << ")\n";
  if (j.contains("degraded") && j["degraded"].is_array()) {
    for (const auto& why : j["degraded"]) {
      if (why.is_string()) std::cout << "  DEGRADED: " << why.get<std::string>() << "\n";
    }
  }
  row("policy") << Str(policy, "name") << " (" << Str(policy, "mode") << ") sha256 "
                << Str(policy, "sha256") << "\n";
  row("config") << Str(j, "config") << "\n";
  row("intercept") << Str(intercept, "mode") << ", " << Str(intercept, "backend") << ", on failure "
                   << Str(intercept, "on_failure") << "\n";
  row("uptime") << Uptime(Num(j, "uptime_seconds")) << " (since " << Str(j, "started_at") << ")\n";
  row("packets") << Num(packets, "accepted") << " accepted, " << Num(packets, "dropped")
                 << " dropped, " << Num(packets, "held") << " held for a name ("
                 << Num(packets, "held_expired") << " expired, " << Num(packets, "held_evicted")
                 << " evicted)\n";
  row("flows") << Num(flows, "active") << " active, " << Num(flows, "named_addresses")
               << " named addresses\n";
  if (j.contains("queues") && j["queues"].is_array()) {
    for (const auto& q : j["queues"]) {
      row("queue") << Num(q, "queue") << ": " << Num(q, "received") << " received, "
                   << Num(q, "drops") << " dropped (kernel full " << Num(q, "kernel_dropped")
                   << ", socket full " << Num(q, "user_dropped") << ", overruns "
                   << Num(q, "enobufs") << "), " << Num(q, "waiting") << " waiting\n";
    }
  }
  const Json& pools = section("inspection_pools");
  if (!pools.empty()) {
    std::ostream& o = row("inspection");
    const char* sep = "";
    for (const auto& [name, p] : pools.items()) {
      o << sep << name << " " << Num(p, "in_use") << "/" << Num(p, "slots") << " ("
        << Num(p, "exhausted") << " denied full)";
      sep = ", ";
    }
    o << "\n";
  }
  row("workers") << Num(workers, "count") << " (" << Num(workers, "stalled") << " stalled)\n";
  if (events.value("enabled", false)) {
    const std::string head = Str(events, "chain_head");
    row("event log") << Str(events, "path") << ": " << Num(events, "lines_written")
                     << " lines written, " << Num(events, "lost") << " lost; head seq "
                     << Num(events, "chain_seq") << " " << head.substr(0, 16) << "\n";
  } else {
    row("event log") << "disabled (events.path is empty)\n";
  }
  const std::string last = Str(reload, "last");
  row("last reload") << last << (last == "none" ? "" : " at " + Str(reload, "last_at")) << " ("
                     << Num(reload, "ok") << " ok, " << Num(reload, "failed") << " failed)\n";
  const auto it = j.find("last_denials");
  if (it == j.end() || !it->is_array() || it->empty()) {
    row("denials") << "none since the start\n";
    return;
  }
  row("denials") << Num(j, "denials_total") << " since the start; the last " << it->size()
                 << ", newest first:\n";
  for (const auto& d : *it) {
    const std::string host = Str(d, "hostname");
    std::cout << "    " << Str(d, "time").substr(0, 19) << "  " << std::left << std::setw(10)
              << Str(d, "app") << " " << Str(d, "event") << "/" << Str(d, "protocol") << " "
              << Str(d, "dst") << ":" << Num(d, "dport") << (host.empty() ? "" : " " + host) << "  "
              << Str(d, "reason") << " (" << Str(d, "action") << ")\n";
  }
}

}  // namespace

int RunStatus(const StatusOptions& options) {
  std::string path;
  if (!SocketPath(options, &path)) return kExitUsage;
  std::string reply;
  const Ask ask = AskDaemon(path, &reply);
  if (ask == Ask::kNotRunning) {
    if (options.json) {
      std::cout << Json{{"running", false}, {"socket", path}, {"error", reply}}.dump(2) << "\n";
    } else {
      std::cout << reply << "\n";
    }
    return kExitNotRunning;
  }
  if (ask == Ask::kError) {
    std::cerr << "flightwall status: " << reply << "\n";
    return kExitUsage;
  }
  const Json j = Json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.contains("error") || !j.contains("state")) {
    std::cerr << "flightwall status: unexpected reply on " << path << ": " << reply.substr(0, 200)
              << "\n";
    return kExitUsage;
  }
  if (options.json) {
    std::cout << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  } else {
    PrintSummary(j, path);
  }
  return Str(j, "state") == "ok" ? kExitOk : kExitDegraded;
}

}  // namespace flightwall
