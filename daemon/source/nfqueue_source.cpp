#include "source/nfqueue_source.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace flightwall {
namespace {

constexpr std::size_t kReceiveBufferSize = 0xffff + 8192;  // one copy_range packet + attributes
constexpr std::size_t kSendBufferSize = 16384;
constexpr std::size_t kMaxVerdictMessage = 128;  // header + verdict + mark / nested ct mark
constexpr Timestamp kInterfaceNameTtl = 10 * kMicrosPerSecond;

// Serial-number order (RFC 1982) so that packet ids may wrap around.
bool IdBefore(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }

std::string QueueName(std::uint16_t queue) { return "NFQUEUE queue " + std::to_string(queue); }

std::string ConfigError(std::uint16_t queue, const char* step, int err) {
  std::string message = QueueName(queue) + ": " + step + ": " + std::strerror(err);
  const KernelQueueStats bound = ReadKernelQueueStats(queue);
  if ((err == EPERM || err == EBUSY) && bound.found) {
    message += " (the queue is already bound by another process, netlink port " +
               std::to_string(bound.peer_portid) +
               ": stop it (another flightwall, an IDS?) or choose another queue number)";
  } else if (err == EPERM) {
    message += " (run as root or with CAP_NET_ADMIN)";
  }
  if (err == EOPNOTSUPP) message += " (this kernel lacks a needed NFQUEUE feature)";
  return message;
}

int ParseCtMark(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == CTA_MARK && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
    *static_cast<std::uint32_t*>(data) = ntohl(mnl_attr_get_u32(attr));
  }
  return MNL_CB_OK;
}

std::uint32_t U32Attr(const nlattr* attr) {
  return attr != nullptr && mnl_attr_get_payload_len(attr) >= 4 ? ntohl(mnl_attr_get_u32(attr)) : 0;
}

}  // namespace

struct NfqueueSource::Impl {
  struct Held {  // received, no verdict yet
    std::uint32_t id;
    std::uint32_t mark;
  };
  struct Pending {  // verdict given, not sent yet
    std::uint32_t id;
    NfqueueVerdict verdict;
    bool has_mark;
    std::uint32_t packet_mark;  // kRepeatMark: the packet's new mark
    std::uint32_t ct_mark;      // kConntrack
    std::uint32_t ct_mask;
  };
  struct InterfaceName {
    std::uint32_t index = 0;
    Timestamp fetched = 0;
    char name[IF_NAMESIZE] = {};
  };

  NfqueueOptions options;
  mnl_socket* socket = nullptr;
  int fd = -1;
  std::uint32_t portid = 0;
  std::uint32_t seq = 0;
  ConnmarkMethod method = ConnmarkMethod::kRepeatMark;
  std::vector<char> receive_buf = std::vector<char>(kReceiveBufferSize);
  std::size_t message_offset = 0;  // next unread message in receive_buf
  std::size_t message_end = 0;
  // Packet datagrams that arrived while Open() waited for config ACKs.
  std::vector<std::vector<char>> early;
  std::vector<Held> held;
  std::vector<Pending> pending;
  std::array<char, kSendBufferSize> send_buf{};
  std::size_t send_len = 0;
  std::array<InterfaceName, 16> if_names{};
  std::size_t if_next = 0;
  NfqueueStats stats;

  ~Impl() {
    if (socket != nullptr) mnl_socket_close(socket);  // closing unbinds the queue
  }

  // Sends a config message and waits for its ACK; 0 or an errno value.
  int Request(nlmsghdr* nlh) {
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++seq;
    if (mnl_socket_sendto(socket, nlh, nlh->nlmsg_len) < 0) return errno;
    for (int attempt = 0; attempt < 64; ++attempt) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) return ETIMEDOUT;
      const ssize_t n = recv(fd, receive_buf.data(), receive_buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR || errno == ENOBUFS) continue;
        return errno;
      }
      bool packets = false;
      int left = static_cast<int>(n);
      for (auto* m = reinterpret_cast<const nlmsghdr*>(receive_buf.data()); mnl_nlmsg_ok(m, left);
           m = mnl_nlmsg_next(m, &left)) {
        if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == seq) {
          const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
          return -err->error;
        }
        packets = packets || m->nlmsg_type != NLMSG_ERROR;
      }
      if (packets) early.emplace_back(receive_buf.data(), receive_buf.data() + n);
    }
    return ETIMEDOUT;
  }

  const char* InterfaceNameOf(std::uint32_t index, Timestamp now) {
    for (auto& entry : if_names) {
      if (entry.index == index && now - entry.fetched < kInterfaceNameTtl) return entry.name;
    }
    InterfaceName& slot = if_names[if_next++ % if_names.size()];
    slot.index = index;
    slot.fetched = now;
    if (if_indextoname(index, slot.name) == nullptr) slot.name[0] = '\0';
    return slot.name;
  }

  // Fills the packet from one NFQNL_MSG_PACKET message; false if unusable.
  bool ParsePacket(const nlmsghdr* nlh, RawPacket* packet, NfqueueMeta* meta) {
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr ||
        mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(nfqnl_msg_packet_hdr)) {
      return false;
    }
    nfqnl_msg_packet_hdr header{};
    std::memcpy(&header, mnl_attr_get_payload(attr[NFQA_PACKET_HDR]), sizeof header);
    *meta = NfqueueMeta{};
    meta->packet_id = ntohl(header.packet_id);
    meta->hw_protocol = ntohs(header.hw_protocol);
    meta->hook = header.hook;
    meta->mark = U32Attr(attr[NFQA_MARK]);
    meta->in_ifindex = U32Attr(attr[NFQA_IFINDEX_INDEV]);
    meta->out_ifindex = U32Attr(attr[NFQA_IFINDEX_OUTDEV]);
    if (attr[NFQA_CT] != nullptr)
      mnl_attr_parse_nested(attr[NFQA_CT], ParseCtMark, &meta->conntrack_mark);
    if (attr[NFQA_UID] != nullptr) {
      meta->has_uid = true;
      meta->uid = U32Attr(attr[NFQA_UID]);
      meta->gid = U32Attr(attr[NFQA_GID]);
    }

    Timestamp time = 0;
    if (attr[NFQA_TIMESTAMP] != nullptr &&
        mnl_attr_get_payload_len(attr[NFQA_TIMESTAMP]) >= sizeof(nfqnl_msg_packet_timestamp)) {
      nfqnl_msg_packet_timestamp ts{};
      std::memcpy(&ts, mnl_attr_get_payload(attr[NFQA_TIMESTAMP]), sizeof ts);
      time = PacketTimeOf(static_cast<std::int64_t>(be64toh(ts.sec)),
                          static_cast<std::int64_t>(be64toh(ts.usec)));
    }
    if (time == 0) time = ClockNow(CLOCK_REALTIME);  // queued packets rarely carry one
    if (meta->in_ifindex != 0) {
      std::memcpy(meta->in_interface, InterfaceNameOf(meta->in_ifindex, time), IF_NAMESIZE);
      meta->in_interface[IF_NAMESIZE - 1] = '\0';
    }

    std::span<const std::uint8_t> data;
    if (attr[NFQA_PAYLOAD] != nullptr) {
      data = {static_cast<const std::uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
              mnl_attr_get_payload_len(attr[NFQA_PAYLOAD])};
    }
    *packet = RawPacket{};
    packet->number = stats.received.fetch_add(1, std::memory_order_relaxed) + 1;
    packet->time = time;
    packet->link = LinkType::kRaw;
    packet->data = data;
    const std::uint32_t cap_len = U32Attr(attr[NFQA_CAP_LEN]);
    packet->wire_length = cap_len != 0 ? cap_len : static_cast<std::uint32_t>(data.size());
    held.push_back(Held{meta->packet_id, meta->mark});
    return true;
  }

  // Hands out the next packet message of the current datagram, if any.
  bool NextBuffered(RawPacket* packet, NfqueueMeta* meta) {
    while (message_offset < message_end) {
      int left = static_cast<int>(message_end - message_offset);
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(receive_buf.data() + message_offset);
      if (!mnl_nlmsg_ok(nlh, left)) {
        stats.receive_errors.fetch_add(1, std::memory_order_relaxed);
        message_offset = message_end;
        return false;
      }
      mnl_nlmsg_next(nlh, &left);
      message_offset = message_end - static_cast<std::size_t>(std::max(left, 0));
      if (nlh->nlmsg_type == NLMSG_ERROR) {  // a verdict the kernel refused
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err->error != 0) stats.verdict_errors.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) continue;
      if (ParsePacket(nlh, packet, meta)) return true;
      stats.receive_errors.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
  }

  void PutVerdict(std::uint32_t id, int verdict, int type, const Pending* marked) {
    if (send_len + kMaxVerdictMessage > send_buf.size()) SendVerdicts();
    nlmsghdr* nlh = nfq_nlmsg_put(send_buf.data() + send_len, type, options.queue);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), verdict);
    if (marked != nullptr && method == ConnmarkMethod::kRepeatMark) {
      nfq_nlmsg_verdict_put_mark(nlh, marked->packet_mark);
    } else if (marked != nullptr) {
      nlattr* nest = mnl_attr_nest_start(nlh, NFQA_CT);
      mnl_attr_put_u32(nlh, CTA_MARK, htonl(marked->ct_mark));
      if (marked->ct_mask != 0xffffffff)
        mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(marked->ct_mask));
      mnl_attr_nest_end(nlh, nest);
    }
    send_len += nlh->nlmsg_len;
  }

  void SendVerdicts() {
    if (send_len == 0) return;
    // Several verdict messages in one datagram: the kernel handles each.
    if (mnl_socket_sendto(socket, send_buf.data(), send_len) < 0) {
      stats.verdict_errors.fetch_add(1, std::memory_order_relaxed);
    }
    send_len = 0;
  }

  void Flush() {
    if (pending.empty()) return;
    std::sort(pending.begin(), pending.end(),
              [](const Pending& a, const Pending& b) { return IdBefore(a.id, b.id); });
    for (std::size_t i = 0; i < pending.size();) {
      const Pending& first = pending[i];
      std::size_t j = i;
      while (!first.has_mark && j + 1 < pending.size() && !pending[j + 1].has_mark &&
             pending[j + 1].verdict == first.verdict && pending[j + 1].id == pending[j].id + 1) {
        ++j;
      }
      const int verdict = first.verdict == NfqueueVerdict::kAccept ? NF_ACCEPT : NF_DROP;
      // A batch verdict applies to every queued id up to its own, so it is
      // only safe when no earlier packet is still held by the caller.
      const std::uint32_t last = pending[j].id;
      if (j > i && (held.empty() || IdBefore(last, held.front().id))) {
        PutVerdict(last, verdict, NFQNL_MSG_VERDICT_BATCH, nullptr);
        stats.batches.fetch_add(1, std::memory_order_relaxed);
      } else {
        for (std::size_t k = i; k <= j; ++k) {
          const Pending& v = pending[k];
          PutVerdict(v.id,
                     v.has_mark && method == ConnmarkMethod::kRepeatMark ? NF_REPEAT : verdict,
                     NFQNL_MSG_VERDICT, v.has_mark ? &v : nullptr);
        }
      }
      stats.verdicts.fetch_add(j - i + 1, std::memory_order_relaxed);
      i = j + 1;
    }
    pending.clear();
    SendVerdicts();
  }
};

NfqueueSource::NfqueueSource() : impl_(std::make_unique<Impl>()) {}

NfqueueSource::~NfqueueSource() { impl_->Flush(); }

Result<std::unique_ptr<NfqueueSource>> NfqueueSource::Open(const NfqueueOptions& options) {
  std::unique_ptr<NfqueueSource> source(new NfqueueSource());
  Impl& s = *source->impl_;
  s.options = options;
  s.held.reserve(options.max_queue_length + 1);
  s.pending.reserve(options.max_pending_verdicts + options.max_queue_length + 1);
  s.socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (s.socket == nullptr || mnl_socket_bind(s.socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    return Status::InFile(
        QueueName(options.queue),
        std::string("cannot open a netfilter netlink socket: ") + std::strerror(errno));
  }
  s.fd = mnl_socket_get_fd(s.socket);
  s.portid = mnl_socket_get_portid(s.socket);
  const int buffer =
      static_cast<int>(std::min<std::uint32_t>(options.socket_buffer_bytes, 1u << 30));
  if (setsockopt(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
    setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);  // capped by rmem_max
  }

  std::array<char, 4096> buf{};  // config messages are small
  nlmsghdr* nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, options.queue);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  if (const int err = s.Request(nlh); err != 0) {
    return Status::Error(ConfigError(options.queue, "cannot bind", err));
  }

  bool conntrack = options.want_conntrack && options.connmark_method != ConnmarkMethod::kRepeatMark;
  for (;;) {
    const std::uint32_t flags = NFQA_CFG_F_GSO | (options.want_uid_gid ? NFQA_CFG_F_UID_GID : 0) |
                                (conntrack ? NFQA_CFG_F_CONNTRACK : 0) |
                                (options.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
    nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, options.queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
    nfq_nlmsg_cfg_put_qmaxlen(nlh, options.max_queue_length);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(
        nlh, NFQA_CFG_MASK,
        htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_UID_GID | NFQA_CFG_F_CONNTRACK | NFQA_CFG_F_FAIL_OPEN));
    const int err = s.Request(nlh);
    if (err == 0) break;
    // Without CONFIG_NETFILTER_NETLINK_GLUE_CT the kernel refuses the
    // conntrack flag; marks then go through NF_REPEAT (see the header).
    if (err == EOPNOTSUPP && conntrack && options.connmark_method == ConnmarkMethod::kAuto) {
      conntrack = false;
      continue;
    }
    std::string error =
        ConfigError(options.queue, "cannot configure copy mode, length and flags", err);
    if (err == EOPNOTSUPP && conntrack) {
      error +=
          "; conntrack marks in verdicts need CONFIG_NETFILTER_NETLINK_GLUE_CT: use the "
          "repeat-mark method instead";
    }
    return Status::Error(std::move(error));
  }
  s.method = conntrack ? ConnmarkMethod::kConntrack : ConnmarkMethod::kRepeatMark;
  return source;
}

NfqueueSource::Received NfqueueSource::Receive(RawPacket* packet, NfqueueMeta* meta) {
  Impl& s = *impl_;
  const Timestamp deadline =
      ClockNow(CLOCK_MONOTONIC) + Timestamp{s.options.receive_timeout_ms} * 1000;
  for (;;) {
    if (s.NextBuffered(packet, meta)) return Received::kPacket;
    if (s.pending.size() >= s.options.max_pending_verdicts) s.Flush();
    ssize_t n;
    if (!s.early.empty()) {
      n = static_cast<ssize_t>(std::min(s.early.front().size(), s.receive_buf.size()));
      std::memcpy(s.receive_buf.data(), s.early.front().data(), static_cast<std::size_t>(n));
      s.early.erase(s.early.begin());
    } else {
      n = recv(s.fd, s.receive_buf.data(), s.receive_buf.size(), MSG_DONTWAIT | MSG_TRUNC);
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s.Flush();  // idle: release everything decided before sleeping
      const Timestamp left = deadline - ClockNow(CLOCK_MONOTONIC);
      if (left <= 0) return Received::kTimeout;
      pollfd p{s.fd, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>((left + 999) / 1000));
      if (ready == 0 || (ready < 0 && errno == EINTR)) return Received::kTimeout;
      if (ready < 0) {
        s.stats.receive_errors.fetch_add(1, std::memory_order_relaxed);
        return Received::kError;
      }
      continue;
    }
    if (n < 0) {
      if (errno == ENOBUFS) {  // the kernel lost messages: count, keep going
        s.stats.enobufs.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (errno == EINTR) return Received::kTimeout;
      s.stats.receive_errors.fetch_add(1, std::memory_order_relaxed);
      return Received::kError;
    }
    if (static_cast<std::size_t>(n) > s.receive_buf.size()) {  // MSG_TRUNC: cannot happen
      s.stats.receive_errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    s.message_offset = 0;
    s.message_end = static_cast<std::size_t>(n);
  }
}

void NfqueueSource::Verdict(std::uint32_t packet_id, NfqueueVerdict verdict,
                            std::uint32_t conntrack_mark, std::uint32_t conntrack_mask) {
  Impl& s = *impl_;
  std::uint32_t packet_mark = 0;
  // Usually the newest packet: search from the back.
  for (auto it = s.held.rbegin(); it != s.held.rend(); ++it) {
    if (it->id == packet_id) {
      packet_mark = it->mark;
      s.held.erase(std::next(it).base());
      break;
    }
  }
  Impl::Pending p{};
  p.id = packet_id;
  p.verdict = verdict;
  p.has_mark = conntrack_mark != 0;
  p.ct_mark = conntrack_mark & conntrack_mask;
  p.ct_mask = conntrack_mask;
  p.packet_mark = (packet_mark & ~conntrack_mask) | (conntrack_mark & conntrack_mask);
  s.pending.push_back(p);
}

void NfqueueSource::Flush() { impl_->Flush(); }

ConnmarkMethod NfqueueSource::ConnmarkMethodInUse() const { return impl_->method; }

std::uint16_t NfqueueSource::Queue() const { return impl_->options.queue; }

const NfqueueStats& NfqueueSource::Stats() const { return impl_->stats; }

KernelQueueStats ParseKernelQueueStats(std::string_view proc_text, std::uint16_t queue) {
  // Each line: queue peer_portid queue_total copy_mode copy_range
  // queue_dropped user_dropped id_sequence 1 (net/netfilter/nfnetlink_queue.c).
  KernelQueueStats out;
  while (!proc_text.empty()) {
    const std::size_t eol = proc_text.find('\n');
    const std::string_view line = proc_text.substr(0, eol);
    proc_text = eol == std::string_view::npos ? std::string_view() : proc_text.substr(eol + 1);
    std::uint64_t fields[8] = {};
    std::size_t count = 0;
    const char* p = line.data();
    const char* end = line.data() + line.size();
    while (count < 8) {
      while (p < end && (*p == ' ' || *p == '\t')) ++p;
      const auto [next, ec] = std::from_chars(p, end, fields[count]);
      if (ec != std::errc()) break;
      p = next;
      ++count;
    }
    if (count < 8 || fields[0] != queue) continue;
    out.found = true;
    out.peer_portid = static_cast<std::uint32_t>(fields[1]);
    out.queue_total = static_cast<std::uint32_t>(fields[2]);
    out.queue_dropped = fields[5];
    out.user_dropped = fields[6];
    out.id_sequence = static_cast<std::uint32_t>(fields[7]);
    return out;
  }
  return out;
}

KernelQueueStats ReadKernelQueueStats(std::uint16_t queue) {
  // /proc/self/net is this network namespace's view and stays visible under
  // systemd's ProcSubset=pid, which hides the /proc/net symlink.
  std::ifstream in("/proc/self/net/netfilter/nfnetlink_queue");
  if (!in) in.open("/proc/net/netfilter/nfnetlink_queue");
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return ParseKernelQueueStats(text.str(), queue);
}

}  // namespace flightwall
