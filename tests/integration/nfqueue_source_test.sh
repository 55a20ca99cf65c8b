#!/usr/bin/env bash
# NfqueueSource and PacketInjector against the real kernel, witnessed from
# outside. Two namespaces joined by a veth: client (192.0.2.10,
# 2001:db8:1::10) and server (198.51.100.10, 2001:db8:2::10). Inside the
# server namespace only, iptables/ip6tables queue UDP 9999/9996, TCP 9998 and
# UDP 53 to NFQUEUE 3, where nfqueue_probe accepts payloads containing "ok"
# (setting the allowed connmark bits) and drops the rest, answering with an
# ICMP unreachable, a TCP reset or a DNS REFUSED. Checks:
#  1. the server's listener got only the "ok" datagrams (v4 and v6);
#  2. the client's socket got the ICMP error, its connect() a fast refusal,
#     dig a REFUSED status, and tcpdump on the client side saw those replies;
#  3. the verdict's mark reached the connection (iptables connmark counter,
#     with the pre-set "governed" bit kept: the mask is honoured);
#  4. a held packet is not released by later batched verdicts;
#  5. without the probe, queued packets are dropped (fail closed), and with
#     --queue-bypass they pass.
# Exit 77 (skip) without root, a needed tool, namespaces, or the probe binary
# (NFQUEUE_PROBE, or nfqueue_probe next to the flightwall build).
# The bash -c checks take their values as "$1"/"$2" on purpose.
# shellcheck disable=SC2016
set -uo pipefail

SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
HELPER="$SRC/tests/integration/net_probe.py"

PROBE="${NFQUEUE_PROBE:-}"
if [[ -z "$PROBE" && -n "${FLIGHTWALL:-}" ]]; then
  build=$(cd "$(dirname "$FLIGHTWALL")/.." && pwd)
  for candidate in "$build/tests/nfqueue_probe" "$build/nfqueue_probe" \
    "$build/tests/integration/nfqueue_probe"; do
    if [[ -x "$candidate" ]]; then PROBE="$candidate"; fi
  done
fi
if [[ $EUID -ne 0 ]]; then
  echo "SKIP: nfqueue_source_test needs root (network namespaces, NFQUEUE)"
  exit 77
fi
if [[ -z "$PROBE" || ! -x "$PROBE" ]]; then
  echo "SKIP: nfqueue_probe not found (set NFQUEUE_PROBE or build the nfqueue_probe target)"
  exit 77
fi
for t in ip iptables ip6tables tcpdump python3 dig timeout; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: nfqueue_source_test needs '$t'"
    exit 77
  fi
done

NS_C="fwnqc$$"
NS_S="fwnqs$$"
if ! ip netns add "$NS_C" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"
  exit 77
fi
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns del "$NS_S" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/integration/lib/check.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/check.sh"
in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }
# wait_for FILE PATTERN [TENTHS]: bounded poll for a line in FILE.
wait_for() {
  local i
  for ((i = 0; i < ${3:-50}; i++)); do
    if grep -q -- "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "  timed out waiting for '$2' in $(basename "$1")"
  return 1
}
has_line() { grep -qx -- "$2" "$1"; }
lacks() { ! grep -q -- "$2" "$1"; }
counter() { # counter CMD CHAIN RULE-FRAGMENT: packets of the first matching rule
  in_s "$1" -L "$2" -v -n -x | awk -v f="$3" 'index($0, f) { print $1; exit }'
}
start_probe() { # start_probe LOG ARGS...: runs the probe in the server namespace
  local log="$1"
  shift
  # ip netns exec execs the probe: $! is the probe itself.
  ip netns exec "$NS_S" "$PROBE" --queue 3 --seconds 60 "$@" >"$log" 2>&1 &
  PROBE_PID=$!
  PIDS+=("$PROBE_PID")
  wait_for "$log" '^ready'
}
stop_probe() {
  kill -TERM "$PROBE_PID" 2>/dev/null
  wait "$PROBE_PID" 2>/dev/null
}

# --- topology: created inside the namespaces, never in the root one ---------
ip netns add "$NS_S"
ip link add nqc0 netns "$NS_C" type veth peer name nqs0 netns "$NS_S"
in_c ip link set lo up
in_s ip link set lo up
in_c ip addr add 192.0.2.10/24 dev nqc0
in_c ip -6 addr add 2001:db8:1::10/64 dev nqc0 nodad
in_s ip addr add 198.51.100.10/24 dev nqs0
in_s ip -6 addr add 2001:db8:2::10/64 dev nqs0 nodad
in_c ip link set nqc0 up
in_s ip link set nqs0 up
in_c ip route add 198.51.100.0/24 dev nqc0
in_c ip -6 route add 2001:db8:2::/64 dev nqc0
in_s ip route add 192.0.2.0/24 dev nqs0
in_s ip -6 route add 2001:db8:1::/64 dev nqs0

MASK=0x30000000
for ipt in iptables ip6tables; do
  # A "governed" bit set before the queue: the verdict must keep it.
  in_s "$ipt" -t mangle -A PREROUTING -p udp --dport 9999 -j CONNMARK --set-xmark 0x40000000/0x40000000
  # Repeat-mark contract (see nfqueue_source.h): save, then decide by packet mark.
  in_s "$ipt" -A INPUT -m mark --mark 0x10000000/$MASK -j CONNMARK --save-mark --nfmask $MASK --ctmask $MASK
  in_s "$ipt" -A INPUT -m mark --mark 0x10000000/$MASK -j ACCEPT
  in_s "$ipt" -A INPUT -p udp --dport 9999 -m connmark --mark 0x50000000/0x70000000
  in_s "$ipt" -A INPUT -p udp --dport 9999 -j NFQUEUE --queue-num 3
  in_s "$ipt" -A INPUT -p udp --dport 9996 -j NFQUEUE --queue-num 3
  in_s "$ipt" -A INPUT -p tcp --dport 9998 -j NFQUEUE --queue-num 3
  in_s "$ipt" -A INPUT -p udp --dport 53 -j NFQUEUE --queue-num 3
done

RECEIVED="$WORK/received.txt"
touch "$RECEIVED"
ip netns exec "$NS_S" python3 "$HELPER" listen "$RECEIVED" 198.51.100.10 2001:db8:2::10 >"$WORK/listener.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/listener.log" '^listening' || exit 1

ip netns exec "$NS_C" tcpdump -n -U --immediate-mode -Z root -i nqc0 -w "$WORK/client.pcap" 'icmp or icmp6 or tcp or udp port 53' \
  >"$WORK/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
wait_for "$WORK/tcpdump.log" 'listening on' || exit 1

# --- 1-3: verdicts, marks, injected replies ----------------------------------
start_probe "$WORK/probe1.log" || exit 1
echo "probe: $(head -1 "$WORK/probe1.log")"
SECOND=$(in_s "$PROBE" --queue 3 --seconds 1 2>&1)
check "a second process cannot take the bound queue, and is told why" \
  grep -q 'already bound by another process' <<<"$SECOND"
# Paced: a second datagram racing the first one's verdict would get its own
# unconfirmed conntrack entry and miss the mark.
in_c python3 "$HELPER" udp-paced "$RECEIVED" 198.51.100.10 9999 ok-1 ok-2 ok-3
in_c python3 "$HELPER" udp-paced "$RECEIVED" 2001:db8:2::10 9999 ok-v6-1 ok-v6-2
V4_ERR=$(in_c python3 "$HELPER" udp-error 198.51.100.10 9999 bad-1)
V6_ERR=$(in_c python3 "$HELPER" udp-error 2001:db8:2::10 9999 bad-v6-1)
read -r TCP4 TCP4_MS < <(in_c python3 "$HELPER" tcp 198.51.100.10 9998)
read -r TCP6 TCP6_MS < <(in_c python3 "$HELPER" tcp 2001:db8:2::10 9998)
DIG4=$(in_c dig +tries=1 +time=3 @198.51.100.10 denied.example A 2>&1)
DIG6=$(in_c dig +tries=1 +time=3 @2001:db8:2::10 denied.example AAAA 2>&1)
# The last "ok" datagram is the barrier for the listener file.
check "listener received ok-3" wait_for "$RECEIVED" '^ok-3$'
check "listener received ok-v6-2" wait_for "$RECEIVED" '^ok-v6-2$'
check "listener received all five ok datagrams" bash -c '[[ $(grep -c "^ok-" "$1") -eq 5 ]]' _ "$RECEIVED"
check "dropped datagrams never reached the listener" lacks "$RECEIVED" 'bad'
check "IPv4 client socket got the ICMP admin-prohibited error (EHOSTUNREACH)" [ "$V4_ERR" = EHOSTUNREACH ]
check "IPv6 client socket got the ICMPv6 admin-prohibited error (EACCES)" [ "$V6_ERR" = EACCES ]
check "IPv4 TCP connect refused by the injected reset within 1 s" \
  bash -c '[[ $1 == refused && $2 -lt 1000 ]]' _ "$TCP4" "$TCP4_MS"
check "IPv6 TCP connect refused by the injected reset within 1 s" \
  bash -c '[[ $1 == refused && $2 -lt 1000 ]]' _ "$TCP6" "$TCP6_MS"
check "no TCP connection was accepted" lacks "$RECEIVED" 'tcp-accepted'
check "dig over IPv4 got the injected REFUSED" grep -q 'status: REFUSED' <<<"$DIG4"
check "dig over IPv6 got the injected REFUSED" grep -q 'status: REFUSED' <<<"$DIG6"
check "REFUSED answer echoes the question" grep -q '^;denied.example.*IN.*A' <<<"$DIG4"
check "connmark allowed bits set, governed bit kept (IPv4: ok-2, ok-3)" \
  [ "$(counter iptables INPUT 'connmark match  0x50000000/0x70000000')" = 2 ]
check "connmark allowed bits set, governed bit kept (IPv6: ok-v6-2)" \
  [ "$(counter ip6tables INPUT 'connmark match  0x50000000/0x70000000')" = 1 ]
if [[ -n "${NFQ_DEBUG:-}" ]]; then in_s iptables -L INPUT -v -n -x; in_s ip6tables -L INPUT -v -n -x; fi
stop_probe
echo "probe: $(tail -1 "$WORK/probe1.log")"
check "probe saw the queue in /proc/net/netfilter/nfnetlink_queue" grep -q 'kernel_found=1' "$WORK/probe1.log"
check "no verdict or receive errors" grep -q 'receive_errors=0 verdict_errors=0' "$WORK/probe1.log"

kill -INT "$TCPDUMP_PID" 2>/dev/null
wait "$TCPDUMP_PID" 2>/dev/null
SEEN=$(tcpdump -n -r "$WORK/client.pcap" 2>/dev/null)
if [[ -n "${NFQ_DEBUG:-}" ]]; then echo "$SEEN"; cat "$WORK/tcpdump.log"; fi
check "tcpdump (client side): ICMP admin prohibited from the server" \
  grep -q '198.51.100.10 > 192.0.2.10: ICMP host 198.51.100.10 unreachable - admin prohibited' <<<"$SEEN"
check "tcpdump (client side): ICMPv6 admin prohibited from the server" \
  grep -qE '2001:db8:2::10 > 2001:db8:1::10: ICMP6, destination unreachable, +unreachable prohibited' <<<"$SEEN"
check "tcpdump (client side): TCP RST from the server's port 9998 (v4 and v6)" \
  bash -c '[[ $(grep -cE "\.9998 > .*Flags \[R\.\]" <<<"$1") -ge 2 ]]' _ "$SEEN"
check "tcpdump (client side): DNS REFUSED answers" \
  bash -c '[[ $(grep -c "Refused" <<<"$1") -ge 2 ]]' _ "$SEEN"

# --- 4: a held packet survives later (batched) verdicts ---------------------
start_probe "$WORK/probe2.log" --accept-all --hold 1 || exit 1
in_c python3 "$HELPER" udp 198.51.100.10 9996 held-1
wait_for "$WORK/probe2.log" 'held' || true
in_c python3 "$HELPER" udp 198.51.100.10 9996 $(seq -f 'after-%g' 1 50)
check "packets after the held one pass" wait_for "$RECEIVED" '^after-50$'
check "the held packet is still held" lacks "$RECEIVED" 'held-1'
stop_probe
check "the held packet passes once its verdict is given" wait_for "$RECEIVED" '^held-1$'

# --- throughput (reported, loosely checked) ----------------------------------
start_probe "$WORK/probe3.log" --accept-all || exit 1
in_c python3 "$HELPER" blast 198.51.100.10 9996 20000 >"$WORK/blast.log"
in_c python3 "$HELPER" udp 198.51.100.10 9996 after-blast
wait_for "$RECEIVED" '^after-blast$' 100 || true
stop_probe
echo "blast: $(cat "$WORK/blast.log"); probe: $(tail -1 "$WORK/probe3.log")"
check "every received packet got a verdict" \
  bash -c 'r=$(grep -o "received=[0-9]*" "$1" | cut -d= -f2); v=$(grep -o " verdicts=[0-9]*" "$1" | cut -d= -f2); [[ -n $r && $r == "$v" && $r -gt 0 ]]' _ "$WORK/probe3.log"

# --- 5: fail closed without the daemon; --queue-bypass passes ---------------
in_c python3 "$HELPER" udp 198.51.100.10 9999 ok-no-daemon
in_c python3 "$HELPER" udp 198.51.100.10 9997 barrier-1 # not queued
check "barrier datagram arrives" wait_for "$RECEIVED" '^barrier-1$'
check "queued datagram is dropped while no process is bound (fail closed)" \
  lacks "$RECEIVED" 'ok-no-daemon'
in_s iptables -R INPUT 4 -p udp --dport 9999 -j NFQUEUE --queue-num 3 --queue-bypass
in_c python3 "$HELPER" udp 198.51.100.10 9999 bypass-1
check "with --queue-bypass the datagram passes" wait_for "$RECEIVED" '^bypass-1$'

summary
