// DnsNameConfirmer: the daemon's NameConfirmer (engine/name_confirmer.h)
// for dns.confirm_revealed_names. Workers ask it whether a name has an
// address; one resolver thread asks the policy's first resolver over UDP
// (A for IPv4, AAAA for IPv6) and remembers the answer.
//
//  - Never blocks a worker: Confirm() looks up the cache under a mutex and,
//    for a new question, queues it and wakes the thread.
//  - Each query has a random 16-bit id and leaves from its own socket
//    connected to the resolver (a kernel-chosen ephemeral source port), so
//    only the resolver's datagrams are read; proto/dns_query.h confirms only
//    a reply that matches the id and the question and names the address.
//  - Bounded: at most `max_in_flight` questions outstanding (more: kError),
//    `queries_per_second` with a burst of as many (more: kRateLimited),
//    `cache_entries` answers remembered. Positive answers are kept for
//    their TTL, negative ones (refuted, timed out) for `negative_seconds`,
//    errors for a second.
//  - The sockets carry SO_MARK kPacketMarkInjected so that in output mode
//    the interception rules let the daemon's own question pass untouched.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "engine/name_confirmer.h"

namespace flightwall {

struct DnsConfirmerLimits {
  std::size_t max_in_flight = 32;
  std::size_t cache_entries = 1024;
  std::uint32_t queries_per_second = 20;
  std::chrono::milliseconds timeout{1000};
  std::uint32_t negative_seconds = 30;
  std::uint16_t resolver_port = 53;
  std::uint32_t socket_mark = 0;  // SO_MARK; 0 = none
};

class DnsNameConfirmer : public NameConfirmer {
 public:
  explicit DnsNameConfirmer(const DnsConfirmerLimits& limits = {});
  ~DnsNameConfirmer() override;  // stops the thread
  DnsNameConfirmer(const DnsNameConfirmer&) = delete;
  DnsNameConfirmer& operator=(const DnsNameConfirmer&) = delete;

  // Starts the resolver thread; an error when it cannot.
  Status Start();
  void Stop();

  ConfirmResult Confirm(std::string_view name, const IpAddress& address,
                        const IpAddress& resolver) override;
  DnsConfirmerStats Stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string name;
    IpAddress address;
    IpAddress resolver;
    ConfirmState state = ConfirmState::kPending;
    std::uint32_t ttl = 0;
    Clock::time_point expires;  // when not pending
  };
  struct InFlight {
    std::string key;
    std::string name;
    IpAddress address;
    int fd = -1;
    std::uint16_t id = 0;
    std::uint16_t qtype = 0;
    Clock::time_point deadline;
  };

  void Run();
  void SendQueued(std::deque<InFlight>* in_flight);
  void Finish(const std::string& key, ConfirmState state, std::uint32_t ttl);
  bool TakeToken(Clock::time_point now);
  bool MakeRoom(Clock::time_point now);

  DnsConfirmerLimits limits_;
  mutable std::mutex mutex_;  // guards everything below but the thread
  std::condition_variable wake_;
  std::map<std::string, Entry> entries_;
  std::deque<std::string> queue_;  // keys to send
  std::size_t pending_ = 0;        // entries in state kPending
  double tokens_ = 0;
  Clock::time_point refilled_;
  bool stop_ = false;
  DnsConfirmerStats stats_;
  std::thread thread_;
};

}  // namespace flightwall
