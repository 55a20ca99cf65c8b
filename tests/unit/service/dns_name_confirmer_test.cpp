// DnsNameConfirmer against a resolver played by a loopback UDP socket: it
// asks once per (name, address), confirms only a matching answer, and
// answers timeouts, refutations, forged ids and the rate limit with
// something other than kConfirmed.
#include "service/dns_name_confirmer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <thread>
#include <vector>

#include "proto/dns_parser.h"

namespace flightwall {
namespace {

using Bytes = std::vector<std::uint8_t>;

class FakeResolver {
 public:
  FakeResolver() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeResolver() { close(fd_); }
  std::uint16_t Port() const { return port_; }

  // Waits (at most 2 s) for a question; false when none came.
  bool Receive(Bytes* query) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return false;
    std::array<std::uint8_t, 1500> buf{};
    socklen_t len = sizeof peer_;
    const ssize_t n =
        recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer_), &len);
    if (n <= 0) return false;
    query->assign(buf.begin(), buf.begin() + n);
    ++questions;
    return true;
  }
  // Answers `query` with one A record (id changed by `id_delta`).
  void AnswerA(Bytes query, std::array<std::uint8_t, 4> addr, int id_delta = 0) {
    const std::uint16_t id = static_cast<std::uint16_t>(((query[0] << 8) | query[1]) + id_delta);
    query[0] = static_cast<std::uint8_t>(id >> 8);
    query[1] = static_cast<std::uint8_t>(id);
    query[2] |= 0x80;
    query[3] = 0x80;
    query[7] = 1;
    query.insert(query.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4});
    query.insert(query.end(), addr.begin(), addr.end());
    sendto(fd_, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&peer_), sizeof peer_);
  }
  int questions = 0;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  sockaddr_in peer_{};
};

const IpAddress kLoopback = *IpAddress::Parse("127.0.0.1");
const IpAddress kAddr = *IpAddress::Parse("198.51.100.10");

// Asks until the answer is no longer pending (bounded: 3 s).
ConfirmResult Settle(DnsNameConfirmer& c, std::string_view name, const IpAddress& addr) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  ConfirmResult r = c.Confirm(name, addr, kLoopback);
  while (r.state == ConfirmState::kPending && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a result, as a tick does
    r = c.Confirm(name, addr, kLoopback);
  }
  return r;
}

DnsConfirmerLimits LimitsFor(const FakeResolver& r) {
  DnsConfirmerLimits l;
  l.resolver_port = r.Port();
  l.timeout = std::chrono::milliseconds(300);
  return l;
}

TEST(DnsNameConfirmerTest, ConfirmsAMatchingAnswerAndCachesIt) {
  FakeResolver resolver;
  DnsNameConfirmer c(LimitsFor(resolver));
  const Status started = c.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_EQ(c.Confirm("Tiles.Example.com", kAddr, kLoopback).state, ConfirmState::kPending);
  Bytes q;
  ASSERT_TRUE(resolver.Receive(&q));
  DnsMessage m;
  ASSERT_EQ(ParseDnsMessage(q, &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.View(), "tiles.example.com");
  EXPECT_EQ(m.questions[0].qtype, dns_type::kA);
  resolver.AnswerA(q, {198, 51, 100, 99}, 1);  // forged id: ignored
  resolver.AnswerA(q, {198, 51, 100, 10});
  const ConfirmResult r = Settle(c, "tiles.example.com", kAddr);
  EXPECT_EQ(r.state, ConfirmState::kConfirmed);
  EXPECT_EQ(r.ttl, 60u);
  // Cached: asked again, no second question.
  EXPECT_EQ(c.Confirm("tiles.example.com", kAddr, kLoopback).state, ConfirmState::kConfirmed);
  EXPECT_EQ(resolver.questions, 1);
  EXPECT_EQ(c.Stats().queries, 1u);
  EXPECT_EQ(c.Stats().confirmed, 1u);
}

TEST(DnsNameConfirmerTest, AnotherAddressIsRefuted) {
  FakeResolver resolver;
  DnsNameConfirmer c(LimitsFor(resolver));
  const Status started = c.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  c.Confirm("tiles.example.com", kAddr, kLoopback);
  Bytes q;
  ASSERT_TRUE(resolver.Receive(&q));
  resolver.AnswerA(q, {198, 51, 100, 11});
  EXPECT_EQ(Settle(c, "tiles.example.com", kAddr).state, ConfirmState::kRefuted);
}

TEST(DnsNameConfirmerTest, SilenceTimesOut) {
  FakeResolver resolver;
  DnsNameConfirmer c(LimitsFor(resolver));
  const Status started = c.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  c.Confirm("tiles.example.com", kAddr, kLoopback);
  Bytes q;
  ASSERT_TRUE(resolver.Receive(&q));
  EXPECT_EQ(Settle(c, "tiles.example.com", kAddr).state, ConfirmState::kTimedOut);
  EXPECT_EQ(c.Stats().timed_out, 1u);
}

TEST(DnsNameConfirmerTest, RateLimitedQuestionsAreNotAsked) {
  FakeResolver resolver;
  DnsConfirmerLimits l = LimitsFor(resolver);
  l.queries_per_second = 2;
  DnsNameConfirmer c(l);
  const Status started = c.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_EQ(c.Confirm("a.example", kAddr, kLoopback).state, ConfirmState::kPending);
  EXPECT_EQ(c.Confirm("b.example", kAddr, kLoopback).state, ConfirmState::kPending);
  EXPECT_EQ(c.Confirm("c.example", kAddr, kLoopback).state, ConfirmState::kRateLimited);
  EXPECT_EQ(c.Stats().rate_limited, 1u);
}

TEST(DnsNameConfirmerTest, NotStartedOrInvalidNameIsAnError) {
  DnsNameConfirmer idle;
  EXPECT_EQ(idle.Confirm("a.example", kAddr, kLoopback).state, ConfirmState::kError);
  FakeResolver resolver;
  DnsNameConfirmer c(LimitsFor(resolver));
  const Status started = c.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_EQ(Settle(c, "a..example", kAddr).state, ConfirmState::kError);
}

}  // namespace
}  // namespace flightwall
