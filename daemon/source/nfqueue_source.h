// NfqueueSource: packets from one kernel NFQUEUE (libnetfilter_queue over
// libmnl), and the verdicts that release them.
//
// The daemon binds one source per queue number, each on its own thread.
// Receive() blocks (or times out) and hands out packets as RawPackets
// (LinkType::kRaw) plus the queue metadata policy selection needs (input
// interface, socket uid/gid in output mode, marks). Every packet must get
// exactly one verdict; a verdict may be deferred (the packet is "held") while
// the engine waits for more bytes of a ClientHello. A held packet's bytes are
// not kept in user space (the kernel keeps the packet until its verdict);
// the engine keeps what it needs to judge the flow, and Receive() reuses its
// buffer.
//
// Verdicts for runs of consecutive packet ids with the same outcome are sent
// as one batch message (NFQNL_MSG_VERDICT_BATCH) where the library allows.
// The netlink receive buffer is sized by Options::socket_buffer_bytes;
// ENOBUFS (the kernel dropped queue messages because we were slow) is
// counted in Stats and never stalls the loop.
//
// Connection marks. The daemon marks decided connections so the kernel
// passes/drops their later packets without queueing them. Two methods:
//  - kConntrack: the verdict carries NFQA_CT/CTA_MARK (+CTA_MARK_MASK). Needs
//    CONFIG_NETFILTER_NETLINK_GLUE_CT; without it the kernel refuses
//    NFQA_CFG_F_CONNTRACK and would silently ignore the mark.
//  - kRepeatMark (Suricata's "repeat-mark"): the verdict is NF_REPEAT with
//    the packet mark's masked bits set to the wanted connmark bits; the hook's
//    chain is re-run from its start, where the rules must save those bits to
//    the connmark and then accept/drop the packet by its packet mark, before
//    any NFQUEUE rule, e.g. (iptables):
//      -m mark --mark A/M -j CONNMARK --save-mark --nfmask M --ctmask M
//      -m mark --mark A/M -j ACCEPT     (A = allowed bits, M = verdict mask)
//      -m mark --mark D/M -j CONNMARK --save-mark --nfmask M --ctmask M
//      -m mark --mark D/M -j DROP
//    Without those rules a repeated packet is queued again (a loop).
// kAuto uses kConntrack when the kernel accepts it, else kRepeatMark;
// ConnmarkMethodInUse() says which. Verdicts without a mark are plain.
//
// Thread-safety: one thread per source; Stats() may be read from any thread
// (atomics).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "source/raw_packet.h"

namespace flightwall {

enum class ConnmarkMethod : std::uint8_t { kAuto, kConntrack, kRepeatMark };

struct NfqueueOptions {
  std::uint16_t queue = 0;
  std::uint32_t max_queue_length = 4096;        // packets the kernel keeps waiting for us
  std::uint32_t socket_buffer_bytes = 8 << 20;  // SO_RCVBUF(FORCE)
  bool fail_open = false;        // NFQA_CFG_F_FAIL_OPEN: accept when the queue is full
  bool want_uid_gid = true;      // NFQA_CFG_F_UID_GID (output mode selection)
  bool want_conntrack = true;    // NFQA_CFG_F_CONNTRACK: lets verdicts set the connmark
  int receive_timeout_ms = 500;  // Receive() returns kTimeout after this (for shutdown/watchdog)
  ConnmarkMethod connmark_method = ConnmarkMethod::kAuto;
  // Verdicts kept back while packets keep arriving, sent as batches; they
  // are always sent before Receive() waits for the kernel.
  std::uint32_t max_pending_verdicts = 64;
};

struct NfqueueMeta {
  std::uint32_t packet_id = 0;
  std::uint16_t hw_protocol = 0;  // ETH_P_IP / ETH_P_IPV6
  std::uint8_t hook = 0;          // NF_INET_* hook the packet was queued from
  std::uint32_t mark = 0;
  std::uint32_t conntrack_mark = 0;  // 0 when unknown
  std::uint32_t in_ifindex = 0;
  std::uint32_t out_ifindex = 0;
  char in_interface[16] = {};  // IFNAMSIZ; empty when none
  bool has_uid = false;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

enum class NfqueueVerdict : std::uint8_t { kAccept, kDrop };

struct NfqueueStats {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> verdicts{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> enobufs{0};  // receive buffer overruns (messages lost)
  std::atomic<std::uint64_t> receive_errors{0};
  std::atomic<std::uint64_t> verdict_errors{0};
};

// The kernel's own counters for a queue (/proc/net/netfilter/nfnetlink_queue).
struct KernelQueueStats {
  bool found = false;
  std::uint32_t peer_portid = 0;    // netlink port of the bound process
  std::uint32_t queue_total = 0;    // packets waiting now
  std::uint64_t queue_dropped = 0;  // dropped because the queue was full
  std::uint64_t user_dropped = 0;   // dropped because the netlink socket was full
  std::uint32_t id_sequence = 0;
};
// Reads the calling thread's network namespace's table; found = false when
// the queue is not bound (or the file is missing: module not loaded).
KernelQueueStats ReadKernelQueueStats(std::uint16_t queue);
// The same from the file's text (testable without a kernel).
KernelQueueStats ParseKernelQueueStats(std::string_view proc_text, std::uint16_t queue);

class NfqueueSource {
 public:
  // What Receive() got: a packet, nothing before the timeout, or a socket
  // error (counted in receive_errors).
  enum class Received : std::uint8_t { kPacket, kTimeout, kError };

  // On failure the Status names the queue and says what to do ("run as root
  // or with CAP_NET_ADMIN", "queue N is already bound by another process").
  // The kernel answers EPERM in both cases; the queue's presence in
  // /proc/net/netfilter/nfnetlink_queue tells them apart.
  static Result<std::unique_ptr<NfqueueSource>> Open(const NfqueueOptions& options);
  ~NfqueueSource();
  NfqueueSource(const NfqueueSource&) = delete;
  NfqueueSource& operator=(const NfqueueSource&) = delete;

  // Fills *packet (data valid until the next Receive) and *meta. Packets come
  // one at a time even when the kernel sent several in one read.
  Received Receive(RawPacket* packet, NfqueueMeta* meta);
  // Queues a verdict; sent at the latest by Flush() or when Receive() is
  // about to wait. conntrack_mark != 0 sets the connection mark's bits under
  // conntrack_mask to conntrack_mark (other bits kept), by the method above.
  void Verdict(std::uint32_t packet_id, NfqueueVerdict verdict, std::uint32_t conntrack_mark = 0,
               std::uint32_t conntrack_mask = 0xffffffff);
  void Flush();
  ConnmarkMethod ConnmarkMethodInUse() const;

  std::uint16_t Queue() const;
  const NfqueueStats& Stats() const;

 private:
  NfqueueSource();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightwall
