#include "service/daemon.h"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/time_format.h"
#include "firewall/bridge_netfilter.h"
#include "firewall/rule_backend.h"
#include "reply/packet_injector.h"
#include "service/control_socket.h"
#include "service/daemon_config.h"
#include "service/dns_name_confirmer.h"
#include "service/enforcer.h"
#include "service/name_cache_store.h"
#include "service/sinks.h"
#include "service/status_report.h"
#include "sink/metrics.h"
#include "source/nfqueue_source.h"

namespace flightwall {
namespace {

void Log(const std::string& message) { std::cerr << "flightwall: " << message << std::endl; }

void PrintErrors(const std::vector<PolicyError>& errors) {
  for (const auto& e : errors) std::cerr << e.ToString() << "\n";
}

// A worker's verdicts go to its own queue's socket.
class QueueVerdicts : public VerdictSink {
 public:
  explicit QueueVerdicts(NfqueueSource* source) : source_(source) {}
  void Verdict(std::uint32_t id, NfqueueVerdict v, std::uint32_t mark) override {
    // Only the verdict bits: the governed bit set by the rules must survive.
    source_->Verdict(id, v, mark, kConnmarkVerdictMask);
  }

 private:
  NfqueueSource* source_;
};

struct Worker {
  std::unique_ptr<NfqueueSource> source;
  VerdictTally* tally = nullptr;  // its packet counts, folded into the metrics
  std::unique_ptr<QueueVerdicts> verdicts;
  std::unique_ptr<PacketInjector> injector;  // its own raw sockets
  std::uint16_t index = 0;
  std::thread thread;
  // Monotonic time (ms) of the loop's last turn: the watchdog is fed only
  // while every worker keeps turning.
  std::atomic<std::int64_t> heartbeat_ms{0};
};

std::int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// steady_clock is CLOCK_MONOTONIC: the clock of RawPacket::monotonic.
Timestamp Micros(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// How often a worker drops what it held too long, packets or not.
constexpr Timestamp kTickUs = 50 * 1000;

void WorkerLoop(Worker* w, Enforcer* enforcer, std::atomic<bool>* stop) {
  RawPacket packet;
  NfqueueMeta meta;
  Timestamp last_tick = Micros(std::chrono::steady_clock::now());
  while (!stop->load(std::memory_order_relaxed)) {
    // Verdicts are batched: the source sends them when it has nothing more
    // to read, before it waits for the kernel.
    const NfqueueSource::Received received = w->source->Receive(&packet, &meta);
    // Two clock reads per packet: when it came, and when it was judged
    // (also the time of the loop's turn).
    auto now = std::chrono::steady_clock::now();
    if (received == NfqueueSource::Received::kPacket) {
      packet.in_interface = meta.in_interface;
      packet.monotonic = Micros(now);
      packet.uid = meta.has_uid ? static_cast<std::int64_t>(meta.uid) : -1;
      packet.marked_app = AppFromMark(meta.mark);
      const auto result = enforcer->Handle(w->index, packet, meta.packet_id);
      const auto judged = std::chrono::steady_clock::now();
      if (!result.held) {
        w->tally->Observe(
            result.verdict, packet.wire_length,
            static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(judged - now).count()));
      }
      now = judged;
    }
    const Timestamp now_us = Micros(now);
    if (now_us - last_tick >= kTickUs || received != NfqueueSource::Received::kPacket) {
      enforcer->Tick(w->index, ClockNow(CLOCK_REALTIME), now_us);
      last_tick = now_us;
    }
    w->heartbeat_ms.store(now_us / 1000, std::memory_order_relaxed);
  }
  // Fail closed: whatever is still held is dropped, by its owner.
  enforcer->Drain(w->index);
  w->source->Flush();
}

struct Loaded {
  DaemonConfig config;
  std::shared_ptr<const Policy> policy;
};

bool LoadAll(const std::string& path, Loaded* out) {
  auto cfg = LoadDaemonConfig(path);
  if (!cfg.config) {
    PrintErrors(cfg.errors);
    return false;
  }
  auto pol = LoadPolicy(cfg.config->policy_path);
  if (!pol.policy) {
    PrintErrors(pol.errors);
    return false;
  }
  // Users named in flight_apps become uids once, here, for the engine.
  ResolveFlightAppUids(&*pol.policy, SystemSelectorResolver());
  out->config = *cfg.config;
  out->policy = std::make_shared<const Policy>(std::move(*pol.policy));
  return true;
}

bool InstallRules(FirewallBackend* backend, BridgeNetfilter* bridge, const Loaded& l) {
  const RulePlan plan = PlanRules(*l.policy, l.config.intercept);
  for (const auto& w : plan.warnings) Log("warning: " + w);
  if (plan.selectors.empty()) {
    Log("the policy selects no flight-app traffic in this intercept mode; check flight_apps");
  }
  const bool bridged = plan.settings.mode == InterceptMode::kBridge;
  std::vector<std::string> notes;
  if (bridged) {
    if (const Status checked = bridge->Check(plan, &notes); !checked.ok()) {
      Log(checked.ToString());
      return false;
    }
  }
  if (const Status installed = backend->Install(plan); !installed.ok()) {
    Log("cannot install " + backend->Name() + " rules: " + installed.ToString());
    return false;
  }
  // backend: none leaves the bridge's switches and guard to the operator too.
  if (bridged && plan.settings.backend != BackendKind::kNone) {
    if (const Status engaged = bridge->Engage(plan, &notes); !engaged.ok()) {
      Log("bridge mode: " + engaged.ToString() +
          "; not enforcing, as bridged traffic could bypass the rules");
      return false;
    }
  }
  for (const auto& n : notes) Log(n);
  return true;
}

std::string StatusLine(const Loaded& l, Enforcer& enforcer) {
  const EnforcerStats s = enforcer.Stats();
  return "enforcing policy '" + l.policy->name + "' (" + PolicyModeName(l.policy->mode) +
         "): " + std::to_string(s.accepted) + " accepted, " + std::to_string(s.dropped) +
         " dropped";
}

}  // namespace

int RunDaemon(const std::string& config_path) {
  Loaded current;
  if (!LoadAll(config_path, &current)) {
    Log("not started: fix the errors above (flightwall check --policy FILE helps)");
    return 2;
  }
  // Signals are handled synchronously by the main thread only.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto backend =
      MakeFirewallBackend(current.config.intercept.backend, current.config.intercept.chain_prefix);
  if (const Status available = backend->Available(); !available.ok()) {
    Log("firewall backend " + backend->Name() + " is not usable here: " + available.ToString());
    return 2;
  }
  BridgeNetfilter bridge(current.config.intercept.chain_prefix, MakeSystemCommandRunner(),
                         SystemBridgeProbe());
  Enforcer enforcer(
      current.config, current.policy,
      current.config.intercept.queue_last - current.config.intercept.queue_first + 1u);
  // dns.confirm_revealed_names: engines ask the policy's resolver through it
  // (idle while the policy does not opt in). Set before the workers.
  DnsNameConfirmer confirmer(DnsConfirmerLimits{.socket_mark = kPacketMarkInjected});
  const Status confirming = confirmer.Start();
  if (confirming.ok()) {
    enforcer.SetNameConfirmer(&confirmer);
  } else {
    Log("warning: dns.confirm_revealed_names will deny every unattested address: " +
        confirming.ToString());
  }
  Result<std::unique_ptr<DaemonSinks>> opened_sinks = DaemonSinks::Open(
      current.config, current.policy,
      current.config.intercept.queue_last - current.config.intercept.queue_first + 1u);
  if (!opened_sinks.ok()) {
    Log(opened_sinks.status().ToString());
    return 2;
  }
  const std::unique_ptr<DaemonSinks> sinks = std::move(opened_sinks).value();
  // Names attested before a restart attest again, before any packet is judged.
  NameCacheStore names_store(
      current.config.names_state_file,
      (current.config.limits.max_named_addresses + SharedNameCache::kShards) *
          NameCache::kNamesPerAddress);
  if (names_store.Enabled()) {
    std::string line;
    sinks->NamesRestored(
        names_store.Restore(*current.policy, &enforcer.Names(), ClockNow(CLOCK_REALTIME), &line));
    Log(line);
  }
  auto save_names = [&](bool force) {
    std::string line;
    names_store.Save(*current.policy, enforcer.Names(), ClockNow(CLOCK_REALTIME),
                     Micros(std::chrono::steady_clock::now()), force, &line);
    if (!line.empty()) Log(line);
  };

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned q = current.config.intercept.queue_first; q <= current.config.intercept.queue_last;
       ++q) {
    NfqueueOptions opts;
    opts.queue = static_cast<std::uint16_t>(q);
    opts.fail_open = current.config.intercept.fail_open;
    opts.socket_buffer_bytes = current.config.receive_buffer_bytes;
    opts.receive_timeout_ms = static_cast<int>(kTickUs / 1000);
    auto w = std::make_unique<Worker>();
    Result<std::unique_ptr<NfqueueSource>> source = NfqueueSource::Open(opts);
    if (!source.ok()) {
      Log(source.status().ToString());
      return 2;
    }
    w->source = std::move(source).value();
    w->verdicts = std::make_unique<QueueVerdicts>(w->source.get());
    // Injected replies carry a mark the rules let through (output mode).
    Result<std::unique_ptr<PacketInjector>> injector = PacketInjector::Open(kPacketMarkInjected);
    if (injector.ok()) {
      w->injector = std::move(injector).value();
    } else if (workers.empty()) {
      Log("warning: no fail-fast replies (RST/ICMP/DNS refusal): " + injector.status().ToString());
    }
    const WorkerOutputs outputs = sinks->ForWorker();
    w->tally = outputs.verdicts;
    w->index = enforcer.AddWorker(w->verdicts.get(), w->injector.get(), outputs.events);
    workers.push_back(std::move(w));
  }
  // Queues are bound before the rules send traffic to them.
  if (!InstallRules(backend.get(), &bridge, current)) return 2;

  std::vector<const NfqueueSource*> sources;
  sources.reserve(workers.size());
  for (auto& w : workers) sources.push_back(w->source.get());
  // `flightwall status`: the main loop publishes, the socket's thread answers.
  StatusBoard status;
  const Timestamp started_at = ClockNow(CLOCK_REALTIME);
  auto publish_status = [&](std::uint64_t stalled) {
    StatusSnapshot snap = CollectStatus(current.config, *current.policy, enforcer, sources, *sinks);
    snap.pid = getpid();
    snap.started_at = started_at;
    snap.now = ClockNow(CLOCK_REALTIME);
    snap.stalled_workers = stalled;
    status.Publish(snap);
  };
  std::unique_ptr<ControlSocket> control;
  if (!current.config.control_socket.empty()) {
    publish_status(0);
    Result<std::unique_ptr<ControlSocket>> opened =
        ControlSocket::Open(current.config.control_socket,
                            [&status](std::string_view request) { return status.Answer(request); });
    if (opened.ok()) {
      control = std::move(opened).value();
      control->Start();
    } else {
      Log("warning: `flightwall status` will not work: " + opened.status().ToString());
    }
  }
  std::atomic<bool> stop{false};
  sinks->Start();
  for (auto& w : workers) {
    w->heartbeat_ms = MonotonicMs();
    w->thread = std::thread(WorkerLoop, w.get(), &enforcer, &stop);
  }
  Log("enforcing policy '" + current.policy->name + "' from " + current.config.policy_path +
      " on NFQUEUE " + std::to_string(current.config.intercept.queue_first) +
      (workers.size() > 1 ? '-' + std::to_string(current.config.intercept.queue_last) : "") +
      " with " + backend->Name() + " rules");
  sd_notify(0, "READY=1");
  std::printf("READY\n");
  std::fflush(stdout);

  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  int exit_code = 0;
  for (;;) {
    timespec timeout{0, 500 * 1000 * 1000};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      Log("stopping on signal " + std::to_string(sig));
      break;
    }
    if (sig == SIGUSR1) {
      sinks->Reopen();
      Log("event log reopened");
    } else if (sig == SIGHUP) {
      Loaded next;
      bool ok = LoadAll(config_path, &next);
      if (ok && current.policy->mode == PolicyMode::kLockdown) {
        Status no_looser = PolicyIsNoLooser(*current.policy, *next.policy);
        if (no_looser.ok()) no_looser = ConfigIsNoLooser(current.config, next.config);
        if (!no_looser.ok()) {
          Log("reload refused in lockdown mode: " + no_looser.ToString());
          ok = false;
        }
      }
      if (ok && (next.config.intercept.queue_first != current.config.intercept.queue_first ||
                 next.config.intercept.queue_last != current.config.intercept.queue_last ||
                 next.config.intercept.backend != current.config.intercept.backend)) {
        Log("reload: queue and backend changes need a restart; keeping the running ones");
        next.config.intercept.queue_first = current.config.intercept.queue_first;
        next.config.intercept.queue_last = current.config.intercept.queue_last;
        next.config.intercept.backend = current.config.intercept.backend;
      }
      const bool bridged = next.config.intercept.mode == InterceptMode::kBridge ||
                           current.config.intercept.mode == InterceptMode::kBridge;
      if (ok && bridged &&
          (next.config.intercept.mode != current.config.intercept.mode ||
           next.config.intercept.bridge != current.config.intercept.bridge)) {
        Log("reload: entering, leaving or changing bridge mode needs a restart; keeping it");
        next.config.intercept.mode = current.config.intercept.mode;
        next.config.intercept.bridge = current.config.intercept.bridge;
      }
      if (ok && !InstallRules(backend.get(), &bridge, next)) ok = false;
      if (ok) {
        // One snapshot; each worker switches its engine and event log to it
        // together at its next packet or tick.
        enforcer.Publish(next.config, next.policy);
        sinks->SetPolicy(*next.policy);
        current = next;
        Log("reloaded policy '" + current.policy->name + "' (sha256 " + current.policy->sha256 +
            ")");
      } else {
        Log("reload failed; still enforcing the previous policy '" + current.policy->name + "'");
      }
      sinks->PolicyReload(ok, ClockNow(CLOCK_REALTIME));
    }
    const DnsConfirmerStats confirmations = confirmer.Stats();
    sinks->Update(enforcer, sources, confirming.ok() ? &confirmations : nullptr);
    std::vector<std::string> bridge_notes;
    if (const Status reasserted = bridge.Reassert(&bridge_notes); !reasserted.ok()) {
      Log("bridge mode: bridged traffic may bypass the rules: " + reasserted.ToString());
    }
    for (const auto& n : bridge_notes) Log(n);
    save_names(false);
    std::uint64_t stalled = 0;
    for (const auto& w : workers) {
      if (MonotonicMs() - w->heartbeat_ms.load() >= 5000) ++stalled;
    }
    const bool all_turning = stalled == 0;
    if (control) publish_status(stalled);
    if (watchdog && all_turning) sd_notify(0, "WATCHDOG=1");
    if (!all_turning) Log("a worker has not turned for 5 s; not feeding the watchdog");
    sd_notify(0, ("STATUS=" + StatusLine(current, enforcer)).c_str());
  }

  sd_notify(0, "STOPPING=1");
  control.reset();  // a stopping daemon no longer enforces: status says not running
  stop = true;
  for (auto& w : workers) w->thread.join();  // each drops what it held, flushes, exits
  save_names(true);
  if (current.policy->mode == PolicyMode::kLockdown) {
    Log("lockdown: leaving the interception rules in place; flight-app traffic stays blocked");
  } else if (const Status removed = backend->Remove(); !removed.ok()) {
    Log("cannot remove rules: " + removed.ToString());
    exit_code = 2;
  } else if (const Status released = bridge.Release(); !released.ok()) {
    Log("cannot undo the bridge settings: " + released.ToString());
    exit_code = 2;
  }
  sinks->Close();
  Log(StatusLine(current, enforcer) + "; stopped");
  return exit_code;
}

}  // namespace flightwall
