#!/usr/bin/env bash
# `flightwall run` with 2 and then 4 queues (one worker thread each) under
# mixed allowed and denied traffic over IPv4 and IPv6, while a SIGHUP every
# 100 ms alternates a valid and a broken policy:
#  - every allowed tile fetch works (IPv4 and IPv6), every denied upload
#    fails, and the far side (tcpdump in the server namespace) sees no byte
#    for a denied host and no denied name;
#  - DNS and the connections it attests land on different queues (the
#    kernel's per-queue counters show each queue worked), so a name learned
#    by one worker attests a flow on another;
#  - the daemon stays up, counts the reloads, and its events name the right
#    app and rule; the chain verifies.
# Runs as root (ctest); exit 77 when requirements are missing.
# The awk and python programs are single-quoted on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_test_up daemon_workers_test "fww$$"
T0=$SECONDS
POLICY="$DL_DIR/policy.yaml"
GOOD="$DL_DIR/good.yaml"
BROKEN="$DL_DIR/broken.yaml"
EVENTS="$DL_DIR/events.jsonl"
FAR="$DL_DIR/far.pcap"
dl_write_policy "$GOOD" enforce "" daemon-lab-workers
printf 'version: 1\nname: [broken\n' >"$BROKEN"
cp "$GOOD" "$POLICY"

# queue_packets Q: packets the kernel queued to Q so far (id sequence).
queue_packets() { dl_g awk -v q="$1" '$1 == q { print $8 }' /proc/net/netfilter/nfnetlink_queue; }

run_phase() { # run_phase QUEUES ("0-1" or "0-3")
  local queues="$1" cfg="$DL_DIR/flightwall-$1.yaml" i ok=0 bad=0 denied_ok=0 n
  dl_write_config "$cfg" "$POLICY" closed decisions "$queues"
  if ! dl_start_daemon "$cfg" "workers-$queues"; then
    check "queues $queues: flightwall run reaches READY" false
    return
  fi
  # SIGHUP every 100 ms, alternating a valid and a broken policy, while the
  # client works. Bounded: 25 s at most.
  (
    for ((i = 0; i < 250; i++)); do
      [[ -e "$DL_DIR/stop-hup" ]] && break
      if ((i % 2)); then cp "$BROKEN" "$POLICY"; else cp "$GOOD" "$POLICY"; fi
      kill -HUP "$DL_DAEMON_PID" 2>/dev/null || break
      sleep 0.1
    done
    cp "$GOOD" "$POLICY"
  ) &
  local hupper=$!
  for ((i = 0; i < 40; i++)); do
    local fam=-4
    ((i % 2)) && fam=-6
    if [[ "$(dl_fetch a.tiles.mapbox.com /v4/mapbox.satellite/1/0/0.png "$fam")" == 200 ]]; then
      ok=$((ok + 1))
    else
      bad=$((bad + 1))
    fi
    [[ "$(dl_fetch flightlog.dji.com /upload "$fam" --data "secret=$i")" == 000 ]] &&
      denied_ok=$((denied_ok + 1))
    # DNS over TCP for an allowed name (answered) and a denied one (refused).
    dl_c dig +tcp +time=2 +tries=1 +short api.mapbox.com A >/dev/null 2>&1
  done
  touch "$DL_DIR/stop-hup"
  wait "$hupper"
  rm -f "$DL_DIR/stop-hup"
  check "queues $queues: 40/40 allowed tile fetches worked during reloads ($ok ok, $bad failed)" \
    equals 40 "$ok"
  check "queues $queues: 40/40 denied uploads failed" equals 40 "$denied_ok"
  check "queues $queues: the daemon is still running" kill -0 "$DL_DAEMON_PID"
  n=$(dl_metric 'flightwall_policy_reloads_total{result="ok"}')
  check "queues $queues: reloads counted (${n:-0} ok)" test "${n:-0}" -ge 5
  n=$(dl_metric 'flightwall_policy_reloads_total{result="failed"}')
  check "queues $queues: broken reloads counted (${n:-0} failed)" test "${n:-0}" -ge 5
  local first last used=0 q
  first=${queues%-*}
  last=${queues#*-}
  for ((q = first; q <= last; q++)); do
    n=$(queue_packets "$q")
    ((${n:-0} > 0)) && used=$((used + 1))
  done
  check "queues $queues: more than one queue carried packets ($used used)" test "$used" -gt 1
  dl_stop_daemon TERM
  check "queues $queues: clean exit" equals 0 "$DL_DAEMON_RC"
}

dl_capture_start "$DL_NS_S" eth0 "$FAR" || {
  echo "FAIL: tcpdump on the far side"
  exit 1
}
FAR_CAP=$DL_CAPTURE_PID
run_phase 0-1
run_phase 0-3
sleep 0.3 # the last packets reach the capture file
dl_capture_stop "$FAR_CAP"

# Far side: nothing for the denied host, no denied name.
check "far side: no TCP payload to the vendor address" \
  equals 0 "$(dl_count "$FAR" "dst host 198.51.100.20 and $DL_TCP_PAYLOAD")"
check "far side: no packet carries the denied name" \
  equals 0 "$(tcpdump -r "$FAR" -A 2>/dev/null | grep -c flightlog)"
check "far side: allowed tiles went out" test "$(dl_count "$FAR" "dst host 198.51.100.10")" -gt 0
check "events: the denied uploads are logged for app tablet" \
  grep -q '"app":"tablet".*"hostname":"flightlog.dji.com".*"verdict":"deny"' "$EVENTS"
check "events: the allowed fetches name rule mapbox-tiles" \
  grep -q '"hostname":"a.tiles.mapbox.com".*"verdict":"allow".*"rule":"mapbox-tiles"' "$EVENTS"
check "events: every allowed TLS flow names app tablet and a rule" python3 -c '
import json, sys
bad = [e for e in map(json.loads, open(sys.argv[1]))
       if e.get("event") == "flow" and e.get("verdict") == "allow"
       and e.get("name_source") == "sni" and (e.get("app") != "tablet" or not e.get("rule"))]
sys.exit(1 if bad else 0)' "$EVENTS"
check "the event log's hash chain verifies" "$FLIGHTWALL" verify-log "$EVENTS"
# Under a sanitizer build (CI runs this test with ThreadSanitizer) a report
# would land in the daemon's stderr.
check "no sanitizer report from the daemon" dl_not grep -q "Sanitizer" "$DL_DIR"/logs/*.stderr
echo "  ran in $((SECONDS - T0)) s"
dl_finish
