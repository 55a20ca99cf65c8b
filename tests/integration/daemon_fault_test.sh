#!/usr/bin/env bash
# Fault injection for `flightwall run`, witnessed from outside as an auditor
# would: tcpdump on the server side counts what crossed the gateway.
#
#  1. on_failure: closed. A client loop uploads to denied hosts (TLS with a
#     hard-coded address, IPv4 and IPv6, and plain TCP to a hard-coded IP)
#     and fetches from an allowed host while the daemon is SIGKILLed and
#     restarted. No payload byte reaches a denied destination before, during
#     or after the kill; while the daemon is dead no new connection passes
#     (not even to an allowed host), the rules stay installed (a SIGKILL
#     cleans nothing up) and a connection decided before the kill finishes;
#     a restart restores the allowed traffic.
#  2. on_failure: open. With the daemon killed, traffic passes the queue
#     (--queue-bypass): allowed fetches work and a denied upload reaches the
#     server, proving the setting is honoured. `flightwall rules --remove`
#     then cleans up what the dead daemon left.
#  3. Queue flood. 200k UDP datagrams to a denied destination, far beyond
#     the queue length: the kernel counts the overflow (/proc/net/netfilter/
#     nfnetlink_queue and the daemon's metrics), no datagram reaches the
#     server, and allowed traffic works again afterwards.
#  4. A stuck event log. The log is a FIFO nobody reads, so the daemon's
#     event writer blocks in write(2) once the pipe is full: enforcement
#     must not notice. A burst of denied flows is still denied (nothing on
#     the server side), an allowed fetch still works, the events that found
#     no room are counted (flightwall_events_lost_total), and once the pipe
#     is read again SIGTERM exits 0 and the log verifies with the loss
#     recorded in its chain (lost_before).
#
# Runs as root (ctest); exit 77 when requirements are missing.
# The bash -c checks take their values as "$1"/"$2" on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
# shellcheck source=lib/client_loop.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/client_loop.sh"
dl_test_up daemon_fault_test "fwf$$"

POLICY="$DL_DIR/policy.yaml"
CLOSED="$DL_DIR/closed.yaml"
OPEN="$DL_DIR/open.yaml"
dl_write_policy "$POLICY" enforce
dl_write_config "$CLOSED" "$POLICY" closed
dl_write_config "$OPEN" "$POLICY" open
cl_init
# The uploads include TLS naming flightlog.dji.com to the tile server's
# address, attested by the allowed fetch before it, so the SYN passes and
# the held ClientHello is what gets judged (lib/client_loop.sh).
CL_FRONT=1
DENIED_HOSTS=$CL_DENIED_HOSTS
# Server-side captures also hold the tile server: the fronting upload goes
# there. Payload to the denied hosts is counted with DENIED_HOSTS, the
# fronting upload by its name, which a leak would carry in clear (SNI).
CAPTURE_HOSTS="$DENIED_HOSTS or host 198.51.100.10"
denied_payload() { dl_count "$1" "($DL_TCP_PAYLOAD) and ($DENIED_HOSTS)"; }
name_bytes() {
  local n
  n=$(grep -a -c flightlog.dji.com "$1")
  # Leave evidence for a failing run: which frames carried the name.
  if [[ $n != 0 ]] && command -v tshark >/dev/null; then
    tshark -r "$1" -Y 'frame contains "flightlog.dji.com"' -T fields -e frame.number \
      -e frame.time_relative -e ip.src -e ipv6.src -e tcp.srcport -e tcp.dstport -e tcp.flags.str \
      -e tls.handshake.extensions_server_name 2>/dev/null | sed 's/^/    name seen: /' >&2
  fi
  echo "$n"
}

rounds_in_phase() { (($(grep -c "^$1 " "$DL_DIR/loop.log" 2>/dev/null) >= $2)); }

queue_bound() { dl_g cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '$1 == 0' | grep -q .; }
daemon_dead() { ! kill -0 "$1" 2>/dev/null; }

# --- 1. on_failure: closed, SIGKILL mid-traffic -----------------------------
dl_witness server "$DL_DIR/server-closed.pcap" "$CAPTURE_HOSTS"
SERVER_CAP=$DL_CAPTURE_PID
dl_witness client "$DL_DIR/client-closed.pcap" "$DENIED_HOSTS"
CLIENT_CAP=$DL_CAPTURE_PID

if ! dl_start_daemon "$CLOSED" closed; then
  echo "FAIL: flightwall run (on_failure: closed) reaches READY"
  echo "$PASSED passed, $((FAILED + 1)) failed"
  exit 1
fi
check "closed: daemon READY, queue 0 bound in the gateway" queue_bound
check "closed: rules installed in the gateway's mangle table" dl_rules_jump_present
check "closed: allowed host fetched through the daemon" dl_fetch_ok a.tiles.mapbox.com
check "closed: denied name is refused (no connection)" \
  equals 000 "$(dl_fetch flightlog.dji.com /upload --data x=1)"
check "closed: denied uploads to hard-coded addresses fail" equals 000/000/000/000 "$(cl_upload_denied)"

cl_loop_start up1 150 90
check "closed: client loop fetches the allowed host while the daemon runs" \
  dl_wait 200 cl_rounds_at_least up1 200 2

# A download decided (allowed) before the kill; limited so it outlives it.
dl_c curl -s -o /dev/null --max-time 30 --limit-rate 400k --cacert "$DL_CA" \
  -w '%{http_code} %{size_download}' https://a.tiles.mapbox.com/slow.bin \
  >"$DL_DIR/inflight.out" 2>&1 &
INFLIGHT_PID=$!
sleep 1

KILLED_PID=$DL_DAEMON_PID
cl_phase down
kill -KILL "$KILLED_PID"
wait "$KILLED_PID" 2>/dev/null
DL_DAEMON_PID=""
check "closed: daemon is dead after SIGKILL" daemon_dead "$KILLED_PID"
check "closed: nothing bound to queue 0 any more" dl_not queue_bound
check "closed: rules stay installed after SIGKILL (no cleanup ran)" dl_rules_jump_present
check "closed: new connection to the allowed host fails while down (DNS queued, no reader)" \
  equals 000 "$(dl_fetch a.tiles.mapbox.com)"
check "closed: new TCP connection to the allowed address fails while down (no DNS needed)" \
  equals 000 "$(dl_fetch a.tiles.mapbox.com / --resolve a.tiles.mapbox.com:443:198.51.100.10)"
check "closed: denied uploads fail while down" equals 000/000/000/000 "$(cl_upload_denied)"
check "closed: client loop ran while down" dl_wait 300 rounds_in_phase down 2
check "closed: every client round while down failed its allowed fetch" \
  equals 0 "$(cl_rounds down 200)"
wait "$INFLIGHT_PID"
check "closed: connection allowed before the kill finished (connmark bypass)" \
  equals "200 2097152" "$(cat "$DL_DIR/inflight.out")"

cl_phase up2
if dl_start_daemon "$CLOSED" closed-restart; then
  check "closed: restarted daemon restores the allowed fetch" dl_fetch_ok a.tiles.mapbox.com
  check "closed: restarted daemon still denies the uploads" equals 000/000/000/000 "$(cl_upload_denied)"
  check "closed: client loop fetches again after the restart" \
    dl_wait 200 cl_rounds_at_least up2 200 1
else
  check "closed: restart reaches READY" false
fi
cl_loop_stop
sleep 0.5
dl_capture_stop "$SERVER_CAP"
dl_capture_stop "$CLIENT_CAP"
echo "  client loop: $(grep -c . "$DL_DIR/loop.log") rounds; $(cl_rounds up1 200) + $(cl_rounds up2 200)" \
  "allowed fetches with the daemon up, $(cl_rounds down 200) while down"

TRIED=$(dl_count "$DL_DIR/client-closed.pcap" "dst host 198.51.100.20 or dst host 2001:db8:100::20 or dst host 203.0.113.77")
check "closed: the client did try the denied hosts ($TRIED packets left it for them)" \
  test "$TRIED" -gt 0
check "closed: server-side tcpdump lost nothing" \
  grep -q '^0 packets dropped by kernel' "$DL_DIR/server-closed.pcap.log"
check "closed: zero payload packets reached the denied hosts (before, during, after the kill)" \
  equals 0 "$(denied_payload "$DL_DIR/server-closed.pcap")"
check "closed: the fronting upload's name never reached the tile server" \
  equals 0 "$(name_bytes "$DL_DIR/server-closed.pcap")"
check "closed: the fronting uploads were judged on their held ClientHello (events)" \
  grep -q '"dst":"198.51.100.10".*"hostname":"flightlog.dji.com".*"verdict":"deny"' "$DL_DIR/events.jsonl"

dl_stop_daemon TERM
check "closed: SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
check "closed: SIGTERM removes the rules (enforce mode)" dl_not dl_rules_present

# --- 2. on_failure: open ------------------------------------------------------
dl_witness server "$DL_DIR/server-open.pcap" "$CAPTURE_HOSTS"
SERVER_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$OPEN" open; then
  check "open: rules use --queue-bypass" \
    bash -c 'ip netns exec "$1" iptables-save -t mangle | grep -q -- "--queue-bypass"' _ "$DL_NS_G"
  check "open: allowed host fetched while the daemon runs" dl_fetch_ok a.tiles.mapbox.com
  check "open: denied upload fails while the daemon runs" equals 000/000/000/000 "$(cl_upload_denied)"
  before=$(denied_payload "$DL_DIR/server-open.pcap")
  before_name=$(name_bytes "$DL_DIR/server-open.pcap")
  KILLED_PID=$DL_DAEMON_PID
  kill -KILL "$KILLED_PID"
  wait "$KILLED_PID" 2>/dev/null
  DL_DAEMON_PID=""
  check "open: rules stay installed after SIGKILL" dl_rules_jump_present
  check "open: allowed name resolves and fetches with the daemon dead (bypass)" \
    dl_fetch_ok a.tiles.mapbox.com
  codes=$(DL_CURL_TIMEOUT=4 cl_upload_denied)
  check "open: denied uploads pass with the daemon dead (fail-open honoured: $codes)" \
    test "${codes//000/}" == "$codes"
  sleep 0.5
  dl_capture_stop "$SERVER_CAP"
  after=$(denied_payload "$DL_DIR/server-open.pcap")
  check "open: no payload reached the denied hosts while the daemon ran" equals 0 "$before"
  check "open: the fronting name did not reach the tile server while the daemon ran" \
    equals 0 "$before_name"
  check "open: the fronting name reached the tile server once it was dead" \
    test "$(name_bytes "$DL_DIR/server-open.pcap")" -gt 0
  check "open: payload reached the denied hosts once it was dead ($after packets)" \
    test "$after" -gt 0
  check "open: flightwall rules --remove cleans up after the dead daemon" \
    dl_g "$FLIGHTWALL" rules --remove --config "$OPEN"
  check "open: no flightwall chain left" dl_not dl_rules_present
else
  dl_capture_stop "$SERVER_CAP"
  check "open: flightwall run (on_failure: open) reaches READY" false
fi

# --- 3. queue flood -------------------------------------------------------------
cat >"$DL_DIR/flood.py" <<'EOF'
"""Sends COUNT UDP datagrams to 203.0.113.88 ports 10000-13999 from 50
sockets, as fast as possible, stopping after SECONDS. Prints sent, errors."""
import socket
import sys
import time

count, seconds = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + seconds
socks = []
for _ in range(50):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.0.2.10", 0))
    s.setblocking(False)
    socks.append(s)
payload = b"LAT=46.51234;LON=6.63201;ALT=118;" * 2
sent = errors = 0
start = time.monotonic()
while sent < count:
    if sent % 5000 == 0 and time.monotonic() > deadline:
        break
    port = 10000 + (sent // 50) % 4000
    try:
        socks[sent % 50].sendto(payload, ("203.0.113.88", port))
    except OSError:
        errors += 1
    sent += 1
print(sent, errors, round(time.monotonic() - start, 2))
EOF

proc_drops() { # queue_dropped + user_dropped of queue 0 in the gateway
  dl_g cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '$1 == 0 { print $6 + $7 }'
}
metric_sum() { # sum of every series of a metric family
  dl_g curl -s --max-time 2 http://127.0.0.1:9714/metrics |
    awk -v m="$1" '{ n = $1; sub(/\{.*/, "", n) } n == m { s += $2; f = 1 } END { if (f) printf "%d\n", s }'
}

dl_witness server "$DL_DIR/server-flood.pcap" "udp and dst host 203.0.113.88"
SERVER_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$CLOSED" flood; then
  check "flood: allowed fetch before the flood" dl_fetch_ok a.tiles.mapbox.com
  before=$(proc_drops)
  read -r sent errors secs < <(dl_c timeout 60 python3 "$DL_DIR/flood.py" 200000 20)
  echo "  flood: ${sent:-?} datagrams in ${secs:-?} s (${errors:-?} send errors)"
  check "flood: the sender sent at least 100k datagrams" test "${sent:-0}" -ge 100000
  sleep 1.5 # the daemon refreshes its queue gauges every 0.5 s
  after=$(proc_drops)
  echo "  /proc/net/netfilter/nfnetlink_queue: $(dl_g cat /proc/net/netfilter/nfnetlink_queue | awk '$1 == 0')"
  check "flood: kernel counted queue overflow (queue_dropped+user_dropped ${before:-?} -> ${after:-?})" \
    test "${after:-0}" -gt "${before:-0}"
  qd=$(metric_sum flightwall_queue_dropped_total)
  ud=$(metric_sum flightwall_queue_user_dropped_total)
  echo "  metrics: flightwall_queue_dropped_total=${qd:-absent} flightwall_queue_user_dropped_total=${ud:-absent}"
  check "flood: metrics report the overflow" test "$((${qd:-0} + ${ud:-0}))" -gt 0
  check "flood: metrics agree with the kernel" equals "${after:-x}" "$((${qd:-0} + ${ud:-0}))"
  check "flood: daemon survived the flood" kill -0 "$DL_DAEMON_PID"
  check "flood: allowed fetch works again after the flood" \
    dl_wait 100 dl_fetch_ok a.tiles.mapbox.com
  sleep 0.5
  dl_capture_stop "$SERVER_CAP"
  check "flood: server-side tcpdump lost nothing" \
    grep -q '^0 packets dropped by kernel' "$DL_DIR/server-flood.pcap.log"
  check "flood: zero datagrams reached the denied destination" \
    equals 0 "$(dl_count "$DL_DIR/server-flood.pcap" udp)"
  dl_stop_daemon TERM
  check "flood: SIGTERM after the flood exits 0 and removes the rules" \
    bash -c '[[ $1 == 0 ]] && ! ip netns exec "$2" iptables-save -t mangle | grep -q FLIGHTWALL' \
    _ "$DL_DAEMON_RC" "$DL_NS_G"
else
  dl_capture_stop "$SERVER_CAP"
  check "flood: flightwall run reaches READY" false
fi

# --- 4. a stuck event log ------------------------------------------------------
FIFO="$DL_DIR/events.fifo"
STUCK="$DL_DIR/stuck.yaml"
mkfifo "$FIFO"
# A reader that never reads (its own process, so no child of this script
# holds the FIFO open): writes block once the pipe is full.
sleep 300 <>"$FIFO" &
HOLD_PID=$!
dl_write_config "$STUCK" "$POLICY" closed decisions 0 $'limits:\n  event_queue: 64'
sed -i "s|^  path: .*|  path: $FIFO|" "$STUCK"
dl_witness server "$DL_DIR/server-stuck.pcap" "udp and dst host 203.0.113.88"
SERVER_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$STUCK" stuck; then
  # 20k denied UDP flows: far more events than the pipe (64 KiB) and the
  # event queue (64 here) hold.
  read -r sent errors secs < <(dl_c timeout 60 python3 "$DL_DIR/flood.py" 20000 20)
  echo "  stuck log: ${sent:-?} datagrams to new flows in ${secs:-?} s"
  check "stuck log: allowed fetch works while the event writer is blocked" \
    dl_wait 50 dl_fetch_ok a.tiles.mapbox.com
  lost_metric() { (($(metric_sum flightwall_events_lost_total) > 0)); }
  check "stuck log: events that found no room are counted (flightwall_events_lost_total)" \
    dl_wait 50 lost_metric
  echo "  metrics: flightwall_events_lost_total=$(metric_sum flightwall_events_lost_total)"
  check "stuck log: the daemon's main loop still answers (metrics scrape)" \
    test -n "$(metric_sum flightwall_packets_total)"
  sleep 0.5
  dl_capture_stop "$SERVER_CAP"
  check "stuck log: zero datagrams reached the denied destination" \
    equals 0 "$(dl_count "$DL_DIR/server-stuck.pcap" udp)"
  cat "$FIFO" >"$DL_DIR/stuck-events.jsonl" &
  CAT_PID=$!
  kill "$HOLD_PID"
  dl_stop_daemon TERM
  wait "$CAT_PID"
  check "stuck log: SIGTERM exits 0 once the log is read again" equals 0 "$DL_DAEMON_RC"
  "$FLIGHTWALL" verify-log "$DL_DIR/stuck-events.jsonl" >"$DL_DIR/stuck-verify.txt" 2>&1
  verify_rc=$?
  sed 's/^/  verify-log: /' "$DL_DIR/stuck-verify.txt" | head -n 6
  check "stuck log: the log verifies (chain intact)" equals 0 "$verify_rc"
  check "stuck log: the chain records the lost events (lost_before)" \
    grep -q '"lost_before":' "$DL_DIR/stuck-events.jsonl"
else
  kill "$HOLD_PID"
  dl_capture_stop "$SERVER_CAP"
  check "stuck log: flightwall run reaches READY" false
fi

dl_finish
