/* nfq_reference: the smallest useful NFQUEUE consumer, as a yardstick.
 *
 * It binds one queue, accepts every packet with one verdict per packet (no
 * batching, no parsing) and counts. scripts/bench queues the lab's forwarded
 * traffic to it to measure what queueing every packet costs by itself, so
 * flightwall's `every-packet` figures can be read against the kernel's own
 * ceiling rather than against no queue alone.
 *
 *   nfq_reference [--gso] [--copy N] [--seconds S] [--maxlen N] QUEUE
 *
 *   --gso        set NFQA_CFG_F_GSO: GSO/GRO super-packets are queued whole
 *                instead of being segmented before the queue
 *   --copy N     copy range: the first N bytes of each packet reach user space
 *                (default 65535, the whole packet)
 *   --seconds S  exit after S seconds (default 900), bounded whatever happens
 *   --maxlen N   queue length in the kernel (default 1024, the kernel's)
 *
 * Prints READY on stdout once bound; on SIGTERM, SIGINT or the deadline it
 * prints "packets=N bytes=B enobufs=E" on stderr and exits 0. Single thread;
 * needs CAP_NET_ADMIN in the network namespace it runs in.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

struct counters {
  uint64_t packets;
  uint64_t bytes;
  uint64_t enobufs;
};

static struct mnl_socket* g_nl;
static uint32_t g_queue;
static char* g_send_buf;

static int send_verdict(uint32_t id) {
  struct nlmsghdr* nlh = nfq_nlmsg_put(g_send_buf, NFQNL_MSG_VERDICT, g_queue);
  nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
  return mnl_socket_sendto(g_nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

static int on_packet(const struct nlmsghdr* nlh, void* data) {
  struct counters* c = data;
  struct nlattr* attr[NFQA_MAX + 1] = {0};
  if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL) return MNL_CB_OK;
  const struct nfqnl_msg_packet_hdr* ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
  uint32_t len = attr[NFQA_PAYLOAD] ? mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]) : 0;
  if (attr[NFQA_CAP_LEN]) len = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN]));
  c->packets++;
  c->bytes += len;
  if (send_verdict(ntohl(ph->packet_id)) != 0) {
    perror("nfq_reference: verdict");
    return MNL_CB_ERROR;
  }
  return MNL_CB_OK;
}

static int configure(uint32_t queue, int gso, uint32_t copy, uint32_t maxlen) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  if (mnl_socket_sendto(g_nl, nlh, nlh->nlmsg_len) < 0) return -1;

  nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy);
  nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
  if (gso) {
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
  }
  return mnl_socket_sendto(g_nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

static void usage(const char* argv0) {
  fprintf(stderr, "usage: %s [--gso] [--copy N] [--seconds S] [--maxlen N] QUEUE\n", argv0);
}

static int parse_u32(const char* text, uint32_t max, uint32_t* out) {
  char* end = NULL;
  errno = 0;
  unsigned long v = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v > max) return -1;
  *out = (uint32_t)v;
  return 0;
}

int main(int argc, char** argv) {
  int gso = 0;
  uint32_t copy = 0xffff;
  uint32_t seconds = 900;
  uint32_t maxlen = 1024;
  int have_queue = 0;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    int bad = 0;
    if (strcmp(a, "--gso") == 0) {
      gso = 1;
    } else if (strcmp(a, "--copy") == 0 && i + 1 < argc) {
      bad = parse_u32(argv[++i], 0xffff, &copy);
    } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
      bad = parse_u32(argv[++i], 86400, &seconds);
    } else if (strcmp(a, "--maxlen") == 0 && i + 1 < argc) {
      bad = parse_u32(argv[++i], 1u << 20, &maxlen);
    } else if (a[0] != '-' && !have_queue) {
      bad = parse_u32(a, 65535, &g_queue);
      have_queue = 1;
    } else {
      bad = 1;
    }
    if (bad) {
      usage(argv[0]);
      return 2;
    }
  }
  if (!have_queue) {
    usage(argv[0]);
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: a signal ends the blocking recv */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  g_nl = mnl_socket_open(NETLINK_NETFILTER);
  if (g_nl == NULL || mnl_socket_bind(g_nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    perror("nfq_reference: netlink socket");
    return 1;
  }
  /* No ENOBUFS reports stop the loop; they are counted instead. */
  int one = 1;
  mnl_socket_setsockopt(g_nl, NETLINK_NO_ENOBUFS, &one, sizeof one);
  /* Wake up every 200 ms to check the deadline. */
  struct timeval tick = {.tv_sec = 0, .tv_usec = 200000};
  setsockopt(mnl_socket_get_fd(g_nl), SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);

  if (configure(g_queue, gso, copy, maxlen) != 0) {
    perror("nfq_reference: bind queue");
    mnl_socket_close(g_nl);
    return 1;
  }
  const uint32_t portid = mnl_socket_get_portid(g_nl);
  const size_t buf_size = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
  char* buf = malloc(buf_size);
  g_send_buf = malloc(MNL_SOCKET_BUFFER_SIZE);
  if (buf == NULL || g_send_buf == NULL) {
    fprintf(stderr, "nfq_reference: out of memory\n");
    return 1;
  }
  printf("READY\n");
  fflush(stdout);

  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  struct counters c = {0, 0, 0};
  int rc = 0;
  while (!g_stop) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= (time_t)seconds) break;
    ssize_t n = mnl_socket_recvfrom(g_nl, buf, buf_size);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ENOBUFS) {
        c.enobufs++;
        continue;
      }
      perror("nfq_reference: recv");
      rc = 1;
      break;
    }
    if (mnl_cb_run(buf, (size_t)n, 0, portid, on_packet, &c) < 0) {
      perror("nfq_reference: packet");
      rc = 1;
      break;
    }
  }
  fprintf(stderr, "packets=%" PRIu64 " bytes=%" PRIu64 " enobufs=%" PRIu64 "\n", c.packets, c.bytes,
          c.enobufs);
  free(buf);
  free(g_send_buf);
  mnl_socket_close(g_nl);
  return rc;
}
