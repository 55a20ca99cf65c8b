#!/usr/bin/env bash
# Faults under load for `flightwall run` (on_failure: closed), each witnessed
# from outside: tcpdump in the server namespace counts what crossed the
# gateway for destinations the policy denies, and must count zero.
#
#  1. Event-log disk full, then read-only. The event log lives on a small
#     tmpfs mounted in a private mount namespace of the gateway (nothing is
#     mounted in the root namespace). Under a client loop of allowed fetches
#     and denied uploads the disk is filled (ENOSPC), freed, filled again and
#     remounted read-only (EROFS), then made writable. Throughout: denied
#     stays denied, allowed still works, lost lines are counted
#     (flightwall_events_lost_total), each failure and recovery is logged
#     once (not per line), writing resumes by itself, and the log verifies
#     with the gaps recorded in the chain (lost_before).
#  2. Queue flood far beyond the daemon's rate, with allowed fetches and
#     denied uploads running: the kernel drops what the queue cannot hold
#     (counted in /proc/net/netfilter/nfnetlink_queue and the metrics,
#     logged once per episode), nothing reaches the denied destination, and
#     allowed fetches work again within a bounded time. FW_FLOOD_SECONDS
#     (default 8) sets how long the two senders flood.
#  3. ENOBUFS: with the smallest receive buffer the config takes
#     (intercept.receive_buffer_bytes: 65536), a burst of datagrams to new
#     flows overruns the queue socket's receive buffer. The daemon counts
#     it (flightwall_queue_enobufs_total), logs it, keeps running, does not
#     fail open, and recovers.
#  4. Many distinct flows and names (FW_LOAD_FLOWS, FW_LOAD_NAMES; default
#     200000 each; FW_LOAD_SECONDS caps each sender, default 240) against
#     small limits (flows 20000, named_addresses 50000), inspect:
#     every-packet: the daemon's RSS grows by less than the bound
#     `flightwall check --config` prints, evictions are counted, a denied
#     flow evicted from the table is still denied when it sends again, and
#     an address whose name binding was evicted is denied at SYN.
#
# Figures (rates, drops, recovery times, RSS) are printed as "  figure: ...".
# Runs as root (ctest); exit 77 when requirements are missing.
# The bash -c checks take their values as "$1"/"$2" on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
# shellcheck source=lib/client_loop.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/client_loop.sh"
dl_check_requirements daemon_load_fault_test || exit 77
for t in nsenter unshare mount; do
  command -v "$t" >/dev/null || { echo "SKIP: daemon_load_fault_test needs '$t'"; exit 77; }
done

FW_LOAD_FLOWS="${FW_LOAD_FLOWS:-200000}"
FW_LOAD_NAMES="${FW_LOAD_NAMES:-200000}"
# Longest each of the two senders of section 4 may run (raise it with 1M).
FW_LOAD_SECONDS="${FW_LOAD_SECONDS:-240}"
# How long section 2's senders flood the queue (a long run: 300 or more).
FW_FLOOD_SECONDS="${FW_FLOOD_SECONDS:-8}"

dl_test_up daemon_load_fault_test "fwl$$"

POLICY="$DL_DIR/policy.yaml"
CLOSED="$DL_DIR/closed.yaml"
dl_write_policy "$POLICY" enforce '  - name: load-names
    hosts: ["*.names.example"]
    ports: [443]'
dl_write_config "$CLOSED" "$POLICY" closed
cl_init
CL_FETCH_TIMEOUT=3
DENIED_HOSTS=$CL_DENIED_HOSTS
denied_payload() { dl_count "$1" "($DL_TCP_PAYLOAD) and ($DENIED_HOSTS)"; }
now_ms() { date +%s%3N; }
figure() { echo "  figure: $*"; }

# Background client (lib/client_loop.sh): per round an allowed fetch, a denied
# DNS question and the denied uploads. Bounded: 400 rounds or 240 s, plus 2
# rounds and 1 s per second of EXTRA (a longer phase). loop_start PHASE [EXTRA]
loop_start() { cl_loop_start "$1" $((400 + 2 * ${2:-0})) $((240 + ${2:-0})) dig; }
# Rounds of PHASE whose denied uploads did not all fail.
leaky_rounds() { grep "^$1 " "$DL_DIR/loop.log" | grep -vc ' denied=000/000/000$'; }

metric_sum() { # sum of every series of a metric family ("" when absent)
  dl_g curl -s --max-time 2 http://127.0.0.1:9714/metrics |
    awk -v m="$1" '{ n = $1; sub(/\{.*/, "", n) } n == m { s += $2; f = 1 } END { if (f) printf "%d\n", s }'
}
metric_above() { (($(metric_sum "$1") > $2)); }
log_lines() { grep -c -- "$2" "$1" 2>/dev/null; }
log_has() { grep -q -- "$2" "$1" 2>/dev/null; }
proc_drops() { # queue_dropped + user_dropped of queue 0 in the gateway
  dl_g cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '$1 == 0 { print $6 + $7 }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# --- 1. event-log disk full, then read-only -----------------------------------
LOGFS="$DL_DIR/logfs"
mkdir -p "$LOGFS"
DISK="$DL_DIR/disk.yaml"
dl_write_config "$DISK" "$POLICY" closed
sed -i "s|^  path: .*|  path: $LOGFS/events.jsonl|" "$DISK"
# A process that holds a private mount namespace of the gateway with a 1 MiB
# tmpfs on $LOGFS; the daemon joins it, so the tmpfs outlives the daemon
# (the log is read after it stopped) and the root namespace sees nothing.
ip netns exec "$DL_NS_G" unshare -m --propagation private bash -c \
  'mount -t tmpfs -o size=1m,mode=0755 fwlog "$1" && echo mounted >"$2" && exec sleep 600' \
  _ "$LOGFS" "$DL_DIR/logfs.ready" </dev/null >/dev/null 2>"$DL_DIR/logfs.err" &
HOLDER_PID=$!
in_mnt() { nsenter -t "$HOLDER_PID" -m -- "$@"; }
check "disk: tmpfs mounted in the gateway's private mount namespace" \
  dl_wait 50 test -s "$DL_DIR/logfs.ready"
check "disk: the tmpfs is not visible in the root mount namespace" \
  dl_not mountpoint -q "$LOGFS"

# dl_start_daemon, run inside the holder's mount and network namespaces.
start_daemon_in_holder() { # CONFIG NAME
  local i
  DL_DAEMON_LOG="$DL_DIR/logs/$2.stderr"
  DL_DAEMON_OUT="$DL_DIR/logs/$2.stdout"
  : >"$DL_DAEMON_OUT"
  nsenter -t "$HOLDER_PID" -m -n -- "$FLIGHTWALL" run --config "$1" \
    </dev/null >"$DL_DAEMON_OUT" 2>>"$DL_DAEMON_LOG" &
  DL_DAEMON_PID=$!
  for ((i = 0; i < 200; i++)); do
    grep -qx READY "$DL_DAEMON_OUT" && return 0
    kill -0 "$DL_DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  dl_log "flightwall run (tmpfs log) not READY: $(tail -n 5 "$DL_DAEMON_LOG")"
  return 1
}
fill_disk() { in_mnt dd if=/dev/zero of="$LOGFS/filler" bs=4k 2>/dev/null; in_mnt sync; }
log_size() { in_mnt stat -c %s "$LOGFS/events.jsonl" 2>/dev/null || echo 0; }
log_grows_past() { (($(log_size) > $1)); }
remount() { in_mnt mount -o "remount,$1" "$LOGFS" 2>/dev/null; }
# Remounting read-only fails (EBUSY) while a file there is open for
# writing: it succeeds once the failing daemon let go of its log.
remount_ro() { dl_wait 100 remount ro; }

dl_witness server "$DL_DIR/server-disk.pcap" "$DENIED_HOSTS"
SERVER_CAP=$DL_CAPTURE_PID
if start_daemon_in_holder "$DISK" disk; then
  D="$DL_DAEMON_LOG"
  loop_start before
  check "disk: allowed fetches work before the fault" dl_wait 200 cl_rounds_at_least before 200 2

  cl_phase full
  lost0=$(metric_sum flightwall_events_lost_total)
  fill_disk
  t0=$(now_ms)
  check "disk full: the daemon logs the failure (ENOSPC)" \
    dl_wait 100 log_has "$D" 'cannot write (No space left on device)'
  figure "disk full: failure logged $(($(now_ms) - t0)) ms after the disk filled"
  check "disk full: lost lines counted (flightwall_events_lost_total > ${lost0:-0})" \
    dl_wait 100 metric_above flightwall_events_lost_total "${lost0:-0}"
  check "disk full: allowed fetches still work" dl_wait 200 cl_rounds_at_least full 200 2
  check "disk full: the daemon is running" kill -0 "$DL_DAEMON_PID"

  cl_phase freed
  size=$(log_size)
  in_mnt rm -f "$LOGFS/filler"
  t0=$(now_ms)
  check "disk freed: the daemon logs that it writes again" \
    dl_wait 100 log_has "$D" 'writing again'
  figure "disk freed: writing again $(($(now_ms) - t0)) ms after space returned"
  check "disk freed: the log grows again" dl_wait 100 log_grows_past "$size"
  check "disk freed: allowed fetches work" dl_wait 200 cl_rounds_at_least freed 200 1

  cl_phase readonly
  fill_disk
  check "read-only: a second failure is logged" dl_wait 100 log_has "$D" '(failure 2)'
  if remount_ro; then
    check "read-only: the tmpfs is read-only" \
      dl_not in_mnt bash -c 'touch "$1" 2>/dev/null' _ "$LOGFS/probe"
    lost1=$(metric_sum flightwall_events_lost_total)
    check "read-only: the daemon logs the new cause (EROFS) once" \
      dl_wait 100 log_has "$D" 'still cannot write, now: Read-only file system'
    check "read-only: lost lines counted (flightwall_events_lost_total > ${lost1:-0})" \
      dl_wait 100 metric_above flightwall_events_lost_total "${lost1:-0}"
    check "read-only: allowed fetches still work" dl_wait 200 cl_rounds_at_least readonly 200 2
    cl_phase writable
    remount rw
    in_mnt rm -f "$LOGFS/filler"
    size=$(log_size)
    t0=$(now_ms)
    check "writable: the daemon logs that it writes again (second recovery)" \
      dl_wait 100 bash -c '(($(grep -c "writing again" "$1") >= 2))' _ "$D"
    figure "read-only -> writable: writing again $(($(now_ms) - t0)) ms after the remount"
    check "writable: the log grows again" dl_wait 100 log_grows_past "$size"
    check "writable: allowed fetches work" dl_wait 200 cl_rounds_at_least writable 200 1
  else
    check "read-only: remount the full tmpfs read-only once the daemon let go of its log" false
    remount rw
  fi
  cl_loop_stop
  lost=$(metric_sum flightwall_events_lost_total)
  figure "disk: flightwall_events_lost_total=$lost; client rounds per phase:" \
    "$(awk '{ print $1 }' "$DL_DIR/loop.log" | sort | uniq -c | tr -s ' \n' ' ')"
  for p in before full freed readonly writable; do
    check "disk: every denied upload failed in phase $p" equals 0 "$(leaky_rounds $p)"
  done
  dl_stop_daemon TERM
  check "disk: SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
  check "disk: each failure logged once, not per lost line (2 lines)" \
    equals 2 "$(log_lines "$D" 'cannot write (')"
  check "disk: each recovery logged once (2 lines)" equals 2 "$(log_lines "$D" 'writing again')"
  check "disk: at most a few event-log lines in the daemon's log" \
    test "$(log_lines "$D" 'event log ')" -le 5
  in_mnt cat "$LOGFS/events.jsonl" >"$DL_DIR/disk-events.jsonl"
  "$FLIGHTWALL" verify-log "$DL_DIR/disk-events.jsonl" >"$DL_DIR/disk-verify.txt" 2>&1
  verify_rc=$?
  sed 's/^/  verify-log: /' "$DL_DIR/disk-verify.txt" | head -n 8
  check "disk: the log verifies (chain intact across both failures)" equals 0 "$verify_rc"
  check "disk: the chain records the lost lines (lost_before on at least 2 lines)" \
    test "$(grep -c '"lost_before":' "$DL_DIR/disk-events.jsonl")" -ge 2
else
  check "disk: flightwall run with its log on the tmpfs reaches READY" false
fi
sleep 0.5
dl_capture_stop "$SERVER_CAP"
check "disk: zero payload packets reached the denied hosts" \
  equals 0 "$(denied_payload "$DL_DIR/server-disk.pcap")"
kill "$HOLDER_PID" 2>/dev/null
wait "$HOLDER_PID" 2>/dev/null

# --- 2. queue flood under load --------------------------------------------------
cat >"$DL_DIR/flood.py" <<'EOF'
"""Sends COUNT UDP datagrams of SIZE bytes to 203.0.113.88, each from one of
64 sockets to one of PORTS ports (new flows), as fast as possible, stopping
after SECONDS. Prints sent, errors, seconds."""
import socket
import sys
import time

count, seconds, size, ports = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + seconds
socks = []
for _ in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.0.2.10", 0))
    s.setblocking(False)
    socks.append(s)
payload = (b"LAT=46.51234;LON=6.63201;ALT=118;" * (size // 33 + 1))[:size]
sent = errors = 0
start = time.monotonic()
while sent < count:
    if sent % 2000 == 0 and time.monotonic() > deadline:
        break
    port = 1024 + (sent // 64) % ports
    try:
        socks[sent % 64].sendto(payload, ("203.0.113.88", port))
    except OSError:
        errors += 1
    sent += 1
print(sent, errors, round(time.monotonic() - start, 2))
EOF

# Allowed fetches back to back; each line "MS CODE" (ms since the epoch at
# its end). Bounded: 600 fetches or 120 s, more for a longer flood.
fetch_loop() {
  local end=$((SECONDS + 120 + FW_FLOOD_SECONDS)) i c
  for ((i = 0; i < 600 + 10 * FW_FLOOD_SECONDS && SECONDS < end; i++)); do
    [[ -e "$DL_DIR/fetch.stop" ]] && break
    c=$(DL_CURL_TIMEOUT=2 dl_fetch a.tiles.mapbox.com)
    echo "$(now_ms) $c" >>"$DL_DIR/fetch.log"
  done
}
# First successful fetch that ended after MS.
first_ok_after() { awk -v t="$1" '$1 >= t && $2 == 200 { print $1; exit }' "$DL_DIR/fetch.log"; }

dl_witness server "$DL_DIR/server-flood.pcap" \
  "(udp and dst host 203.0.113.88) or $DENIED_HOSTS"
SERVER_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$CLOSED" flood; then
  D="$DL_DAEMON_LOG"
  check "flood: allowed fetch before the flood" dl_fetch_ok a.tiles.mapbox.com
  loop_start flood "$FW_FLOOD_SECONDS"
  : >"$DL_DIR/fetch.log"
  rm -f "$DL_DIR/fetch.stop"
  fetch_loop &
  FETCH_PID=$!
  drops0=$(proc_drops)
  pkts0=$(metric_sum flightwall_packets_total)
  t0=$(now_ms)
  # Two senders in parallel: 150k small datagrams each (100k per second of a
  # longer flood, more than one sender sends), for at most FW_FLOOD_SECONDS.
  for n in 1 2; do
    dl_c timeout $((FW_FLOOD_SECONDS + 22)) python3 "$DL_DIR/flood.py" \
      $((FW_FLOOD_SECONDS <= 8 ? 150000 : 100000 * FW_FLOOD_SECONDS)) "$FW_FLOOD_SECONDS" 60 4000 >"$DL_DIR/flood$n.out" &
    eval "FLOOD$n=\$!"
  done
  wait "$FLOOD1" "$FLOOD2"
  t1=$(now_ms)
  read -r s1 _ d1 <"$DL_DIR/flood1.out"
  read -r s2 _ d2 <"$DL_DIR/flood2.out"
  sent=$((${s1:-0} + ${s2:-0}))
  secs=$(awk -v a="${d1:-0}" -v b="${d2:-0}" 'BEGIN { print (a > b ? a : b) }')
  sleep 1.5 # queue gauges refresh every 0.5 s
  drops1=$(proc_drops)
  pkts1=$(metric_sum flightwall_packets_total)
  judged=$((${pkts1:-0} - ${pkts0:-0}))
  figure "flood: offered $sent datagrams in ${secs}s ($(awk -v n="$sent" -v s="$secs" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')/s);" \
    "daemon judged $judged packets in $(((t1 - t0) / 1000))s+1.5s" \
    "($(awk -v n="$judged" -v ms="$((t1 - t0 + 1500))" 'BEGIN { printf "%d", n * 1000 / ms }')/s);" \
    "kernel dropped $((${drops1:-0} - ${drops0:-0}))"
  check "flood: the senders offered at least 50k datagrams" test "$sent" -ge 50000
  check "flood: the kernel counted queue overflow (${drops0:-?} -> ${drops1:-?})" \
    test "${drops1:-0}" -gt "${drops0:-0}"
  qd=$(metric_sum flightwall_queue_dropped_total)
  ud=$(metric_sum flightwall_queue_user_dropped_total)
  check "flood: metrics report the same drops as the kernel" \
    equals "${drops1:-x}" "$((${qd:-0} + ${ud:-0}))"
  check "flood: the daemon survived" kill -0 "$DL_DAEMON_PID"
  check "flood: the daemon logged the drop episode" \
    dl_wait 50 log_has "$D" 'the kernel is dropping packets'
  check "flood: allowed fetch works again after the flood" \
    dl_wait 100 dl_fetch_ok a.tiles.mapbox.com
  touch "$DL_DIR/fetch.stop"
  wait "$FETCH_PID"
  ok_at=$(first_ok_after "$t1")
  if [[ -n "$ok_at" ]]; then
    figure "flood: first allowed fetch completed $((ok_at - t1)) ms after the flood ended"
  fi
  figure "flood: allowed fetches during the flood: $(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b && $2 == 200' "$DL_DIR/fetch.log" | wc -l) ok of" \
    "$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b' "$DL_DIR/fetch.log" | wc -l)"
  check "flood: an allowed fetch completed within 10 s after the flood" \
    test -n "$ok_at" -a "$((${ok_at:-0} - t1))" -le 10000
  check "flood: the end of the drop episode is logged (quiet for 2 s)" \
    dl_wait 60 log_has "$D" 'packet drops stopped'
  check "flood: the drop episode is logged once, not per packet" \
    test "$(log_lines "$D" 'the kernel is dropping packets')" -le 2
  cl_loop_stop
  check "flood: every denied upload failed during the flood" equals 0 "$(leaky_rounds flood)"
  sleep 0.5
  dl_capture_stop "$SERVER_CAP"
  check "flood: server-side tcpdump lost nothing" \
    grep -q '^0 packets dropped by kernel' "$DL_DIR/server-flood.pcap.log"
  far_udp=$(dl_count "$DL_DIR/server-flood.pcap" 'udp and dst host 203.0.113.88')
  far_payload=$(denied_payload "$DL_DIR/server-flood.pcap")
  check "flood: zero datagrams reached the denied destination" equals 0 "$far_udp"
  check "flood: zero payload packets reached the denied hosts" equals 0 "$far_payload"
  figure "flood: held ${secs}s of flood with the gate shut (on_failure: closed):" \
    "$far_udp datagrams and $far_payload denied payload packets on the far side;" \
    "$(leaky_rounds flood) leaky client rounds of $(grep -c '^flood ' "$DL_DIR/loop.log")"

  dl_stop_daemon TERM
  check "flood: SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
else
  dl_capture_stop "$SERVER_CAP"
  check "flood: flightwall run reaches READY" false
fi

# --- 3. ENOBUFS ---------------------------------------------------------------
# The smallest receive buffer the config takes (64 KiB; the kernel doubles
# it): a burst overruns it long before the queue (4096 packets) is full.
SMALLBUF="$DL_DIR/smallbuf.yaml"
dl_write_config "$SMALLBUF" "$POLICY" closed
sed -i 's/^  on_failure: closed$/&\n  receive_buffer_bytes: 65536/' "$SMALLBUF"
dl_witness server "$DL_DIR/server-enobufs.pcap" "dst host 203.0.113.88 or $DENIED_HOSTS"
SERVER_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$SMALLBUF" enobufs; then
  D="$DL_DAEMON_LOG"
  check "enobufs: allowed fetch before the burst" dl_fetch_ok a.tiles.mapbox.com
  enobufs0=$(metric_sum flightwall_queue_enobufs_total)
  drops0=$(proc_drops)
  # Small datagrams to new flows, and 60 KB ones (reassembled by conntrack
  # before the queue, so each queued message is ~60 KB).
  read -r sent _ secs < <(dl_c timeout 30 python3 "$DL_DIR/flood.py" 60000 5 60 4000)
  read -r sent_big _ secs_big < <(dl_c timeout 30 python3 "$DL_DIR/flood.py" 500 5 60000 500)
  sleep 1.5
  enobufs1=$(metric_sum flightwall_queue_enobufs_total)
  drops1=$(proc_drops)
  figure "enobufs: $sent small datagrams in ${secs}s + $sent_big of 60 KB in ${secs_big}s;" \
    "flightwall_queue_enobufs_total ${enobufs0:-?} -> ${enobufs1:-?};" \
    "kernel queue_dropped+user_dropped ${drops0:-?} -> ${drops1:-?}"
  check "enobufs: the daemon counted receive-buffer overruns (flightwall_queue_enobufs_total)" \
    test "${enobufs1:-0}" -gt "${enobufs0:-0}"
  check "enobufs: the kernel counted the messages it could not deliver" \
    test "${drops1:-0}" -gt "${drops0:-0}"
  check "enobufs: the daemon logged the overruns" \
    dl_wait 50 log_has "$D" 'receive buffer overrun (ENOBUFS)'
  check "enobufs: logged once per episode, not per overrun" \
    test "$(log_lines "$D" 'receive buffer overrun (ENOBUFS)')" -le 2
  check "enobufs: the daemon keeps running" kill -0 "$DL_DAEMON_PID"
  t0=$(now_ms)
  check "enobufs: allowed fetch works again" dl_wait 100 dl_fetch_ok a.tiles.mapbox.com
  figure "enobufs: allowed fetch ok $(($(now_ms) - t0)) ms after the burst was checked"
  check "enobufs: denied uploads still fail" equals 000/000/000 "$(cl_upload_denied)"
  check "enobufs: the rules do not fail open (no --queue-bypass)" \
    dl_not bash -c 'ip netns exec "$1" iptables-save -t mangle | grep -q -- "--queue-bypass"' _ "$DL_NS_G"
  sleep 0.5
  dl_capture_stop "$SERVER_CAP"
  check "enobufs: zero datagrams (or fragments) reached the denied destination" \
    equals 0 "$(dl_count "$DL_DIR/server-enobufs.pcap" 'dst host 203.0.113.88')"
  check "enobufs: zero payload packets reached the denied hosts" \
    equals 0 "$(denied_payload "$DL_DIR/server-enobufs.pcap")"
  dl_stop_daemon TERM
  check "enobufs: SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
else
  dl_capture_stop "$SERVER_CAP"
  check "enobufs: flightwall run (receive_buffer_bytes: 65536) reaches READY" false
fi

# --- 4. many flows and names against small limits ------------------------------
# Names n-2001-db8-77--<a-b>.names.example answer AAAA 2001:db8:77::<a:b>
# (dnsmasq synth-domain), so every name binds its own address. dnsmasq is
# restarted without per-query logging for this.
sed -i '/^log-queries/d' "$DL_DIR/dnsmasq.conf"
echo 'synth-domain=names.example,2001:db8:77::/64,n-' >>"$DL_DIR/dnsmasq.conf"
kill "$(cat "$DL_DIR/pids/dnsmasq.pid")"
dl_wait 50 dl_not dl_listening "$DL_NS_S" u 203.0.113.53:53
dl_s dnsmasq --conf-file="$DL_DIR/dnsmasq.conf"
ip -n "$DL_NS_S" -6 route add local 2001:db8:77::/64 dev lo
synth_ok() { [[ "$(dl_s dig +time=1 +tries=1 +short @203.0.113.53 n-2001-db8-77--5.names.example AAAA)" == 2001:db8:77::5 ]]; }
check "many: dnsmasq synthesizes the load names" dl_wait 50 synth_ok

cat >"$DL_DIR/names.py" <<'EOF'
"""Asks COUNT distinct AAAA questions n-<2001:db8:77::N, ':' as '-'>.names.example
(N from FIRST) of 203.0.113.53, WINDOW outstanding at a time, for at most
SECONDS. Prints asked, answered, seconds."""
import ipaddress
import select
import socket
import struct
import sys
import time

first, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
WINDOW = 256
BASE = int(ipaddress.IPv6Address("2001:db8:77::"))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.10", 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.connect(("203.0.113.53", 53))
s.setblocking(False)


def question(i):
    address = ipaddress.IPv6Address(BASE + first + i)
    name = "n-" + str(address).replace(":", "-") + ".names.example"
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 28, 1)


asked = answered = 0
outstanding = {}
start = time.monotonic()
deadline = start + seconds
while (asked < count or outstanding) and time.monotonic() < deadline:
    while asked < count and len(outstanding) < WINDOW:
        try:
            s.send(question(asked))
        except BlockingIOError:
            break
        outstanding[asked & 0xFFFF] = time.monotonic()
        asked += 1
    r, _, _ = select.select([s], [], [], 0.05)
    while r:
        try:
            data = s.recv(4096)
        except BlockingIOError:
            break
        if outstanding.pop(struct.unpack(">H", data[:2])[0], None) is not None:
            answered += 1
    now = time.monotonic()
    for k in [k for k, t in outstanding.items() if now - t > 1.0]:
        del outstanding[k]  # lost (queue overflow): counted as unanswered
print(asked, answered, round(time.monotonic() - start, 2))
EOF

MANY="$DL_DIR/many.yaml"
dl_write_config "$MANY" "$POLICY" closed every-packet 0 $'limits:\n  flows: 20000\n  named_addresses: 50000'
sed -i "s|^  path: .*|  path: $DL_DIR/many-events.jsonl|" "$MANY"
"$FLIGHTWALL" check --config "$MANY" >"$DL_DIR/many-check.txt" 2>&1
sed 's/^/  check: /' "$DL_DIR/many-check.txt" | grep -i -m 3 'memory\|bound\|MiB\|bytes'
# The bound in bytes: "... N bytes ..." or "... X MiB ...".
BOUND=$(awk 'tolower($0) ~ /memory/ {
    for (i = 1; i < NF; i++) {
      if ($(i + 1) ~ /^bytes/) { print $i; exit }
      if ($(i + 1) ~ /^MiB/) { printf "%d\n", $i * 1048576; exit }
      if ($(i + 1) ~ /^KiB/) { printf "%d\n", $i * 1024; exit }
    } }' "$DL_DIR/many-check.txt")
check "many: flightwall check --config prints the memory bound (${BOUND:-none} bytes)" \
  test -n "$BOUND"

dl_witness server "$DL_DIR/server-many.pcap" \
  "(udp and dst host 203.0.113.88) or (tcp and net 2001:db8:77::/64)"
SERVER_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$MANY" many; then
  D="$DL_DAEMON_LOG"
  rss0=$(rss_kb "$DL_DAEMON_PID")
  # The name whose binding the flood will evict, and a flow denied early.
  dl_c dig +time=2 +tries=1 +short n-2001-db8-77--1.names.example AAAA >"$DL_DIR/first-name.txt"
  check "many: the first load name resolves through the gateway" \
    grep -qx 2001:db8:77::1 "$DL_DIR/first-name.txt"
  dl_c python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.10", 40999)); s.sendto(b"early", ("203.0.113.88", 999))'
  # RSS sampled every 0.5 s while the load runs.
  (
    while kill -0 "$DL_DAEMON_PID" 2>/dev/null && [[ ! -e "$DL_DIR/rss.stop" ]]; do
      rss_kb "$DL_DAEMON_PID"
      sleep 0.5
    done
  ) >"$DL_DIR/rss.log" &
  RSS_PID=$!
  fe0=$(metric_sum flightwall_flows_evicted_total)
  ne0=$(metric_sum flightwall_names_evicted_total)
  dp0=$(proc_drops)
  pk0=$(metric_sum flightwall_packets_total)
  t0=$(now_ms)
  # Distinct flows: 64 sockets x ports; paced by the queue (what overflows
  # is dropped by the kernel and counted, never passed).
  read -r fsent _ fsecs < <(dl_c timeout $((FW_LOAD_SECONDS + 60)) python3 "$DL_DIR/flood.py" \
    "$FW_LOAD_FLOWS" "$FW_LOAD_SECONDS" 20 \
    "$(((FW_LOAD_FLOWS + 63) / 64))")
  t1=$(now_ms)
  pk1=$(metric_sum flightwall_packets_total)
  read -r nasked nanswered _ < <(dl_c timeout $((FW_LOAD_SECONDS + 60)) python3 "$DL_DIR/names.py" \
    16 "$FW_LOAD_NAMES" "$FW_LOAD_SECONDS")
  t2=$(now_ms)
  sleep 1
  touch "$DL_DIR/rss.stop"
  wait "$RSS_PID"
  fe1=$(metric_sum flightwall_flows_evicted_total)
  ne1=$(metric_sum flightwall_names_evicted_total)
  dp1=$(proc_drops)
  rss_max=$(sort -n "$DL_DIR/rss.log" | tail -n 1)
  figure "many: $fsent distinct UDP flows offered in $(((t1 - t0) / 1000)) s (sender ${fsecs}s);" \
    "daemon judged $((${pk1:-0} - ${pk0:-0})) packets;" \
    "flightwall_flows_evicted_total ${fe0:-?} -> ${fe1:-?}; kernel queue drops ${dp0:-?} -> ${dp1:-?}"
  figure "many: $nasked distinct names asked, $nanswered answered in $(((t2 - t1) / 1000)) s;" \
    "flightwall_names_evicted_total ${ne0:-?} -> ${ne1:-?}; names cached $(metric_sum flightwall_names_cached)"
  figure "many: RSS ${rss0:-?} KiB at READY, max ${rss_max:-?} KiB; growth" \
    "$(((${rss_max:-0} - ${rss0:-0}) * 1024)) bytes vs bound ${BOUND:-?} bytes"
  check "many: the daemon survived" kill -0 "$DL_DAEMON_PID"
  check "many: flow evictions counted (flightwall_flows_evicted_total grew)" \
    test "${fe1:-0}" -gt "${fe0:-0}"
  check "many: name evictions counted (flightwall_names_evicted_total grew)" \
    test "${ne1:-0}" -gt "${ne0:-0}"
  check "many: most names were answered (${nanswered:-0} of ${nasked:-0})" \
    test "${nanswered:-0}" -ge "$((FW_LOAD_NAMES / 2))"
  check "many: active flows within the limit" test "$(metric_sum flightwall_flows_active)" -le 20000
  check "many: cached names within the limit" test "$(metric_sum flightwall_names_cached)" -le 50000
  check "many: RSS growth within the bound flightwall check prints" \
    test "$(((${rss_max:-0} - ${rss0:-0}) * 1024))" -le "${BOUND:-0}"

  # The flow denied first, long evicted, sends again from the same port.
  dl_c python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.10", 40999)); s.sendto(b"again", ("203.0.113.88", 999))'
  # The first name's binding was evicted: its address no longer attests
  # the name, so a connection to it is denied at the SYN.
  code=$(DL_CURL_TIMEOUT=3 dl_fetch n-2001-db8-77--1.names.example / -6 -k \
    --resolve 'n-2001-db8-77--1.names.example:443:[2001:db8:77::1]')
  check "many: the evicted name's address is refused (curl $code)" equals 000 "$code"
  # Control: a freshly resolved name's address is let through to the server
  # (which refuses: nothing listens there).
  dl_c dig +time=2 +tries=1 +short n-2001-db8-77--ab-cdef.names.example AAAA >/dev/null
  DL_CURL_TIMEOUT=3 dl_fetch n-2001-db8-77--ab-cdef.names.example / -6 -k \
    --resolve 'n-2001-db8-77--ab-cdef.names.example:443:[2001:db8:77::ab:cdef]' >/dev/null
  sleep 0.5
  dl_capture_stop "$SERVER_CAP"
  check "many: no datagram of the denied flows reached the server (first one evicted and resent)" \
    equals 0 "$(dl_count "$DL_DIR/server-many.pcap" 'udp and dst host 203.0.113.88')"
  check "many: no SYN reached the address whose binding was evicted" \
    equals 0 "$(dl_count "$DL_DIR/server-many.pcap" 'tcp and dst host 2001:db8:77::1')"
  check "many: control: the SYN to a freshly bound address reached the server" \
    test "$(dl_count "$DL_DIR/server-many.pcap" 'tcp and dst host 2001:db8:77::ab:cdef')" -gt 0
  dl_stop_daemon TERM
  check "many: SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
  check "many: the refused SYN was logged as a denial (no-dns-attestation)" \
    grep -q '"dst":"2001:db8:77::1".*"verdict":"deny".*"reason":"no-dns-attestation"' \
    "$DL_DIR/many-events.jsonl"
else
  dl_capture_stop "$SERVER_CAP"
  check "many: flightwall run reaches READY" false
fi

dl_finish
