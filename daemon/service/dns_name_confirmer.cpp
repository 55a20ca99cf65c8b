#include "service/dns_name_confirmer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include "proto/dns_parser.h"
#include "proto/dns_query.h"

namespace flightwall {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::string KeyOf(std::string_view name, const IpAddress& address, const IpAddress& resolver) {
  std::string key;
  key.reserve(name.size() + 64);
  for (char c : name) key.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  key.append("|").append(address.ToString()).append("|").append(resolver.ToString());
  return key;
}

std::uint16_t RandomId() {
  std::uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
    // getrandom does not fail for two bytes once the pool is ready; if it
    // did, the id is still checked along with the question and the socket.
    id = static_cast<std::uint16_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return id;
}

// A UDP socket connected to the resolver: the kernel picks a random
// ephemeral source port and delivers only the resolver's datagrams.
int ConnectedSocket(const IpAddress& resolver, std::uint16_t port, std::uint32_t mark) {
  const int family = resolver.IsV6() ? AF_INET6 : AF_INET;
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (mark != 0) {
    // Needs CAP_NET_ADMIN; without it (tests, forward mode) the question
    // is not intercepted anyway.
    (void)setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (resolver.IsV6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, resolver.Bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, resolver.Bytes().data(), 4);
    len = sizeof(sockaddr_in);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

DnsNameConfirmer::DnsNameConfirmer(const DnsConfirmerLimits& limits)
    : limits_(limits),
      tokens_(static_cast<double>(limits.queries_per_second)),
      refilled_(Clock::now()) {}

DnsNameConfirmer::~DnsNameConfirmer() { Stop(); }

Status DnsNameConfirmer::Start() {
  try {
    thread_ = std::thread(&DnsNameConfirmer::Run, this);
  } catch (const std::system_error& e) {
    return Status::Error(std::string("cannot start the name confirmation thread: ") + e.what());
  }
  return Status();
}

void DnsNameConfirmer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool DnsNameConfirmer::TakeToken(Clock::time_point now) {
  const double per_second = static_cast<double>(limits_.queries_per_second);
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  tokens_ = std::min(per_second, tokens_ + elapsed * per_second);
  refilled_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

bool DnsNameConfirmer::MakeRoom(Clock::time_point now) {
  if (entries_.size() < limits_.cache_entries) return true;
  // Forget what expired; else the answer that expires first.
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.state != ConfirmState::kPending && it->second.expires <= now) {
      it = entries_.erase(it);
      continue;
    }
    if (it->second.state != ConfirmState::kPending &&
        (victim == entries_.end() || it->second.expires < victim->second.expires)) {
      victim = it;
    }
    ++it;
  }
  if (entries_.size() < limits_.cache_entries) return true;
  if (victim == entries_.end()) return false;
  entries_.erase(victim);
  return true;
}

ConfirmResult DnsNameConfirmer::Confirm(std::string_view name, const IpAddress& address,
                                        const IpAddress& resolver) {
  const Clock::time_point now = Clock::now();
  std::string key = KeyOf(name, address, resolver);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      const Entry& e = it->second;
      if (e.state == ConfirmState::kPending || e.expires > now) {
        if (e.state != ConfirmState::kPending) ++stats_.cache_hits;
        return {e.state, e.ttl};
      }
      entries_.erase(it);
    }
    if (stop_ || !thread_.joinable() || pending_ >= limits_.max_in_flight || !MakeRoom(now)) {
      ++stats_.errors;
      return {ConfirmState::kError, 0};
    }
    if (!TakeToken(now)) {
      ++stats_.rate_limited;
      return {ConfirmState::kRateLimited, 0};
    }
    Entry e;
    e.name = std::string(name);
    e.address = address;
    e.resolver = resolver;
    entries_.emplace(key, std::move(e));
    queue_.push_back(std::move(key));
    ++pending_;
  }
  wake_.notify_one();
  return {ConfirmState::kPending, 0};
}

void DnsNameConfirmer::Finish(const std::string& key, ConfirmState state, std::uint32_t ttl) {
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.state != ConfirmState::kPending) return;
    Entry& e = it->second;
    e.state = state;
    e.ttl = ttl;
    std::chrono::seconds keep(limits_.negative_seconds);
    if (state == ConfirmState::kConfirmed)
      keep = std::chrono::seconds(std::max<std::uint32_t>(1, ttl));
    if (state == ConfirmState::kError) keep = std::chrono::seconds(1);
    e.expires = Clock::now() + keep;
    --pending_;
    switch (state) {
      case ConfirmState::kConfirmed:
        ++stats_.confirmed;
        break;
      case ConfirmState::kRefuted:
        ++stats_.refuted;
        break;
      case ConfirmState::kTimedOut:
        ++stats_.timed_out;
        break;
      default:
        ++stats_.errors;
        break;
    }
    if (state != ConfirmState::kConfirmed) {
      line = "flightwall: name confirmation " + std::string(ConfirmStateName(state)) + ": " +
             e.name + " -> " + e.address.ToString() + " (asked " + e.resolver.ToString() + ")";
    }
  }
  if (!line.empty()) std::cerr << line << std::endl;  // bounded by the rate limit
}

void DnsNameConfirmer::SendQueued(std::deque<InFlight>* in_flight) {
  std::deque<std::string> keys;
  std::vector<Entry> asked;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    keys.swap(queue_);
    for (const std::string& k : keys) {
      auto it = entries_.find(k);
      asked.push_back(it != entries_.end() ? it->second : Entry{});
    }
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const Entry& e = asked[i];
    InFlight q;
    q.key = keys[i];
    q.name = e.name;
    q.address = e.address;
    q.id = RandomId();
    q.qtype = e.address.IsV6() ? dns_type::kAaaa : dns_type::kA;
    std::array<std::uint8_t, kMaxDnsQueryBytes> query{};
    const std::size_t n = e.address.IsSet() ? BuildDnsQuery(q.id, e.name, q.qtype, query) : 0;
    q.fd = n != 0 ? ConnectedSocket(e.resolver, limits_.resolver_port, limits_.socket_mark) : -1;
    if (q.fd < 0 || send(q.fd, query.data(), n, 0) != static_cast<ssize_t>(n)) {
      if (q.fd >= 0) close(q.fd);
      Finish(q.key, ConfirmState::kError, 0);
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.queries;
    }
    q.deadline = Clock::now() + limits_.timeout;
    in_flight->push_back(std::move(q));
  }
}

void DnsNameConfirmer::Run() {
  std::deque<InFlight> in_flight;
  std::vector<pollfd> fds;
  std::array<std::uint8_t, 4096> buf{};
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (in_flight.empty()) wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) break;
    }
    SendQueued(&in_flight);
    fds.clear();
    for (const InFlight& q : in_flight) fds.push_back({q.fd, POLLIN, 0});
    if (!fds.empty()) {
      (void)poll(fds.data(), fds.size(), static_cast<int>(kPollInterval.count()));
    }
    const Clock::time_point now = Clock::now();
    std::deque<InFlight> still;
    for (std::size_t i = 0; i < in_flight.size(); ++i) {
      InFlight& q = in_flight[i];
      ConfirmState state = ConfirmState::kPending;
      std::uint32_t ttl = 0;
      if (fds[i].revents & (POLLIN | POLLERR)) {
        // Every datagram queued; one that answers another question (a
        // forged or stale id) does not end the wait.
        while (state == ConfirmState::kPending) {
          const ssize_t got = recv(q.fd, buf.data(), buf.size(), 0);
          if (got < 0) {
            // ICMP port unreachable from the resolver arrives as an error.
            if (errno != EAGAIN && errno != EWOULDBLOCK) state = ConfirmState::kError;
            break;
          }
          switch (JudgeConfirmAnswer(
              std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(got)), q.id,
              q.name, q.qtype, q.address, &ttl)) {
            case AnswerVerdict::kNotOurs:
              break;
            case AnswerVerdict::kConfirmed:
              state = ConfirmState::kConfirmed;
              break;
            case AnswerVerdict::kRefuted:
              state = ConfirmState::kRefuted;
              break;
          }
        }
      }
      if (state == ConfirmState::kPending && now >= q.deadline) state = ConfirmState::kTimedOut;
      if (state == ConfirmState::kPending) {
        still.push_back(std::move(q));
        continue;
      }
      close(q.fd);
      Finish(q.key, state, ttl);
    }
    in_flight.swap(still);
  }
  for (InFlight& q : in_flight) {
    close(q.fd);
    Finish(q.key, ConfirmState::kError, 0);
  }
}

DnsConfirmerStats DnsNameConfirmer::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace flightwall
