// nfqueue_probe: a minimal enforcer on one NFQUEUE, for
// tests/integration/nfqueue_source_test.sh. It accepts packets whose
// transport payload contains "ok" (setting the connmark's verdict bits),
// drops the others and answers them as the daemon would: a TCP reset, a DNS
// REFUSED for UDP port 53, an ICMP unreachable for other UDP. One line per
// packet on stdout; "ready" once bound; counters on exit (SIGTERM/SIGINT or
// --seconds). --accept-all accepts everything unmarked (verdict batching
// and throughput); --hold N keeps the first N packets until the end.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "decode/packet_decoder.h"
#include "reply/packet_injector.h"
#include "reply/reply_builder.h"
#include "source/nfqueue_source.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

bool Contains(std::span<const std::uint8_t> bytes, std::string_view needle) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return text.find(needle) != std::string_view::npos;
}

const char* MethodName(flightwall::ConnmarkMethod m) {
  switch (m) {
    case flightwall::ConnmarkMethod::kConntrack:
      return "conntrack";
    case flightwall::ConnmarkMethod::kRepeatMark:
      return "repeat-mark";
    case flightwall::ConnmarkMethod::kAuto:
      break;
  }
  return "auto";
}

}  // namespace

int main(int argc, char** argv) {
  using flightwall::NfqueueVerdict;
  flightwall::NfqueueOptions options;
  options.receive_timeout_ms = 100;
  double seconds = 30;
  std::uint32_t mark = 0x10000000;
  std::uint32_t mask = 0x30000000;
  bool accept_all = false;
  unsigned hold = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : "";
    if (arg == "--queue") {
      options.queue = static_cast<std::uint16_t>(std::strtoul(value, nullptr, 0));
      ++i;
    } else if (arg == "--seconds") {
      seconds = std::strtod(value, nullptr);
      ++i;
    } else if (arg == "--mark") {
      mark = static_cast<std::uint32_t>(std::strtoul(value, nullptr, 0));
      ++i;
    } else if (arg == "--mask") {
      mask = static_cast<std::uint32_t>(std::strtoul(value, nullptr, 0));
      ++i;
    } else if (arg == "--method") {
      const std::string m = value;
      options.connmark_method = m == "conntrack" ? flightwall::ConnmarkMethod::kConntrack
                                : m == "repeat"  ? flightwall::ConnmarkMethod::kRepeatMark
                                                 : flightwall::ConnmarkMethod::kAuto;
      ++i;
    } else if (arg == "--hold") {
      hold = static_cast<unsigned>(std::strtoul(value, nullptr, 0));
      ++i;
    } else if (arg == "--accept-all") {
      accept_all = true;
    } else {
      std::fprintf(stderr,
                   "usage: nfqueue_probe [--queue N] [--seconds S] [--mark M] [--mask M] "
                   "[--method auto|conntrack|repeat] [--accept-all] [--hold N]\n");
      return 2;
    }
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  auto opened = flightwall::NfqueueSource::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "nfqueue_probe: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto source = std::move(opened).value();
  auto opened_injector = flightwall::PacketInjector::Open();
  if (!opened_injector.ok()) {
    std::fprintf(stderr, "nfqueue_probe: %s\n", opened_injector.status().ToString().c_str());
    return 1;
  }
  auto injector = std::move(opened_injector).value();
  std::printf("ready queue=%u method=%s\n", options.queue,
              MethodName(source->ConnmarkMethodInUse()));
  std::fflush(stdout);

  flightwall::PacketDecoder decoder;
  std::vector<std::uint32_t> held;
  std::uint8_t reply[flightwall::kMaxInjectedPacket];
  struct timespec start {};
  clock_gettime(CLOCK_MONOTONIC, &start);
  std::uint64_t accepted = 0, dropped = 0, injected = 0, inject_failures = 0, timeouts = 0;
  while (g_stop == 0) {
    struct timespec now {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (double(now.tv_sec - start.tv_sec) + double(now.tv_nsec - start.tv_nsec) / 1e9 > seconds) {
      break;
    }
    flightwall::RawPacket raw;
    flightwall::NfqueueMeta meta;
    const auto received = source->Receive(&raw, &meta);
    if (received == flightwall::NfqueueSource::Received::kTimeout) {
      ++timeouts;
      continue;
    }
    if (received == flightwall::NfqueueSource::Received::kError) {
      std::fprintf(stderr, "nfqueue_probe: receive error: %s\n", std::strerror(errno));
      break;
    }
    if (held.size() < hold) {
      held.push_back(meta.packet_id);
      std::printf("packet id=%u held\n", meta.packet_id);
      std::fflush(stdout);
      continue;
    }
    if (accept_all) {
      source->Verdict(meta.packet_id, NfqueueVerdict::kAccept);
      ++accepted;
      continue;
    }
    flightwall::DecodedPacket decoded;
    const bool decoded_ok = decoder.Decode(raw, &decoded) == flightwall::DecodeStatus::kOk;
    const bool ok = decoded_ok && Contains(decoded.payload, "ok");
    const char* inject = "none";
    if (ok) {
      source->Verdict(meta.packet_id, NfqueueVerdict::kAccept, mark, mask);
      ++accepted;
    } else {
      source->Verdict(meta.packet_id, NfqueueVerdict::kDrop);
      ++dropped;
      std::size_t n = 0;
      if (!decoded_ok) {
        // Replies are built from the decoded packet: none for this one.
      } else if (decoded.protocol == 6) {
        n = flightwall::BuildTcpReset(decoded, reply);
        inject = "rst";
      } else if (decoded.protocol == 17 && decoded.dst_port == 53) {
        n = flightwall::BuildDnsRefusal(decoded, 5, reply);
        inject = "dns";
      } else {
        n = flightwall::BuildIcmpUnreachable(decoded, raw.data, reply);
        inject = "icmp";
      }
      const bool sent = n != 0 && injector->Send({reply, n});
      if (!sent) inject = "failed";
      if (n != 0) ++injected;
      if (n != 0 && !sent) ++inject_failures;
    }
    std::printf("packet id=%u len=%zu in=%s proto=%u dport=%u mark=0x%x verdict=%s inject=%s\n",
                meta.packet_id, raw.data.size(), meta.in_interface, decoded.protocol,
                decoded.dst_port, meta.mark, ok ? "accept" : "drop", inject);
    std::fflush(stdout);
  }
  for (const std::uint32_t id : held) source->Verdict(id, NfqueueVerdict::kAccept);
  source->Flush();
  const auto& s = source->Stats();
  const auto kernel = flightwall::ReadKernelQueueStats(options.queue);
  std::printf(
      "stats received=%llu verdicts=%llu batches=%llu enobufs=%llu receive_errors=%llu "
      "verdict_errors=%llu accepted=%llu dropped=%llu injected=%llu inject_failures=%llu "
      "kernel_found=%d kernel_queue_dropped=%llu kernel_user_dropped=%llu\n",
      (unsigned long long)s.received.load(), (unsigned long long)s.verdicts.load(),
      (unsigned long long)s.batches.load(), (unsigned long long)s.enobufs.load(),
      (unsigned long long)s.receive_errors.load(), (unsigned long long)s.verdict_errors.load(),
      (unsigned long long)accepted, (unsigned long long)dropped, (unsigned long long)injected,
      (unsigned long long)inject_failures, kernel.found ? 1 : 0,
      (unsigned long long)kernel.queue_dropped, (unsigned long long)kernel.user_dropped);
  std::fflush(stdout);
  (void)timeouts;
  return 0;
}
