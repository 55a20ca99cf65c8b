#!/usr/bin/env bash
# The fleet recipe (monitoring/fleet/) run for real: two ground stations, each
# a daemon lab (lib/daemon_lab.sh) whose gateway runs `flightwall run`, an
# rsyslogd with rsyslog-flightwall.conf tailing its events.jsonl and an edge
# Prometheus with prometheus-edge.yml; a "fleet" namespace joined to both
# gateways by a bridge runs the collector rsyslogd (rsyslog-collector.conf)
# and a central Prometheus (prometheus-federation.yml).
#  (a) the collector's file for each station is byte for byte the station's
#      events.jsonl, and `flightwall verify-log` accepts the copy, also
#      against the chain head published through federation;
#  (b) a collector outage loses nothing: lines written while it is down
#      arrive after it restarts (disk-assisted forwarding queue);
#  (c) the central Prometheus holds flightwall series of both stations,
#      told apart by ground_station, each with a blocked attempt counted;
#  (d) every process the test started stops by its recorded pid and the
#      namespaces are gone.
# The recipe files are used as shipped; only placeholders, paths and
# intervals are replaced (sed). Nothing runs in the root namespace: the
# rsyslogds load no imuxsock (no /dev/log) and use their own work dirs and
# pid files. Runs as root (ctest); exit 77 when requirements are missing.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_check_requirements fleet_shipping_test || exit 77
for t in rsyslogd prometheus jq cmp; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: fleet_shipping_test needs '$t' (run scripts/setup: packages rsyslog, prometheus, jq)"
    exit 77
  fi
done

kit="$DL_SRC/monitoring/fleet"
FLEET_NS="fwfleet$$"
FLEET_ADDR=198.51.100.254 # collector and central Prometheus, on the fleet bridge
declare -A PREFIX=([a]="fwfa$$" [b]="fwfb$$")
declare -A GS_ADDR=([a]=198.51.100.201 [b]=198.51.100.202)
declare -A LAB_DIR LAB_PID LAB_LOG LAB_OUT SENDER_PID EDGE_PID
FLEET_DIR=$(mktemp -d "/tmp/flightwall-fleet$$.XXXXXX")
COLLECTOR_PID=""
CENTRAL_PID=""
TORN_DOWN=0

# Two labs in one shell: daemon_lab.sh keeps one lab's state in DL_*
# globals, so each lab's state is stored and selected around every call.
lab_store() {
  LAB_DIR[$1]=$DL_DIR
  LAB_PID[$1]=${DL_DAEMON_PID:-}
  LAB_LOG[$1]=${DL_DAEMON_LOG:-}
  LAB_OUT[$1]=${DL_DAEMON_OUT:-}
}
lab_select() {
  DL_PREFIX=${PREFIX[$1]}
  DL_NS_C="$DL_PREFIX-c"
  DL_NS_G="$DL_PREFIX-g"
  DL_NS_S="$DL_PREFIX-s"
  DL_DIR=${LAB_DIR[$1]}
  DL_CA="$DL_DIR/certs/ca.crt"
  DL_DAEMON_PID=${LAB_PID[$1]}
  DL_DAEMON_LOG=${LAB_LOG[$1]}
  DL_DAEMON_OUT=${LAB_OUT[$1]}
  DL_CAPTURE_PIDS=()
}

alive() { [[ -n "$1" ]] && _dl_alive "$1"; }
stop_pid() { # PID: TERM, wait up to 10 s, then KILL; true when it is gone
  local p="$1" i
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    alive "$p" || break
    sleep 0.1
  done
  alive "$p" && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  ! alive "$p"
}

teardown() {
  local rc=$? l
  ((TORN_DOWN)) && return "$rc"
  TORN_DOWN=1
  stop_pid "$CENTRAL_PID"
  stop_pid "$COLLECTOR_PID"
  for l in a b; do
    stop_pid "${EDGE_PID[$l]:-}"
    stop_pid "${SENDER_PID[$l]:-}"
    [[ -n "${LAB_DIR[$l]:-}" ]] || continue
    lab_select "$l"
    dl_down
  done
  [[ -e "/run/netns/$FLEET_NS" ]] && ip netns del "$FLEET_NS"
  if [[ "${DL_KEEP:-0}" == 1 ]]; then echo "kept $FLEET_DIR"; else rm -rf -- "$FLEET_DIR"; fi
  return "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

fail_setup() {
  echo "FAIL: $1"
  [[ -n "${2:-}" && -f "$2" ]] && tail -n 20 "$2"
  echo "$PASSED passed, $((FAILED + 1)) failed"
  exit 1
}

# Background processes are started with `ip netns exec` itself (it execs),
# never through a shell function, so that $! is the process's own pid.
fleet() { ip netns exec "$FLEET_NS" "$@"; }

# --- two ground stations --------------------------------------------------------
for l in a b; do
  dl_init "${PREFIX[$l]}"
  lab_store "$l"
  dl_up 2>"$DL_DIR/up.log" || fail_setup "build lab $l (namespaces and servers)" "$DL_DIR/up.log"
  dl_write_policy "$DL_DIR/policy.yaml" enforce "" "fleet-gs-$l"
  dl_write_config "$DL_DIR/flightwall.yaml" "$DL_DIR/policy.yaml" closed
  dl_start_daemon "$DL_DIR/flightwall.yaml" || fail_setup "flightwall run in lab $l reaches READY"
  lab_store "$l"
done
trap teardown EXIT # dl_init installed its own

# --- the fleet network: one bridge, a veth to each gateway ----------------------
ip netns add "$FLEET_NS"
ip -n "$FLEET_NS" link set lo up
ip -n "$FLEET_NS" link add br0 type bridge
ip -n "$FLEET_NS" addr add "$FLEET_ADDR/26" dev br0
ip -n "$FLEET_NS" link set br0 up
for l in a b; do
  ip -n "$FLEET_NS" link add "gs${l}0" type veth peer name fleet0 netns "${PREFIX[$l]}-g"
  ip -n "$FLEET_NS" link set "gs${l}0" master br0 up
  ip -n "${PREFIX[$l]}-g" addr add "${GS_ADDR[$l]}/26" dev fleet0
  ip -n "${PREFIX[$l]}-g" link set fleet0 up
done
reaches() { ip netns exec "$1" ping -c1 -W1 "$2"; }
for l in a b; do
  dl_wait 50 reaches "${PREFIX[$l]}-g" "$FLEET_ADDR" || fail_setup "gateway $l reaches the fleet bridge"
done

# --- rsyslog: the recipe, placeholders replaced ----------------------------------
# write_rsyslog_main DIR RECIPE_COPY: a master config that includes the
# recipe as Debian's rsyslog.conf includes /etc/rsyslog.d/*.conf, with a work
# dir of its own, no imuxsock (no /dev/log), and rsyslogd's own messages in a
# file of the test (never the machine's journal).
write_rsyslog_main() {
  printf '%s\n' "global(workDirectory=\"$1\" processInternalMessages=\"on\")" \
    "include(file=\"$2\")" "action(type=\"omfile\" file=\"$1/internal.log\")" >"$1/main.conf"
}
start_collector() {
  ip netns exec "$FLEET_NS" rsyslogd -n -f "$FLEET_DIR/collector/main.conf" -i "$FLEET_DIR/collector/rsyslogd.pid" \
    </dev/null >>"$FLEET_DIR/collector/rsyslogd.log" 2>&1 &
  COLLECTOR_PID=$!
  dl_wait 100 dl_listening "$FLEET_NS" t "$FLEET_ADDR:514"
}
mkdir -p "$FLEET_DIR"/{collector,central,stations}
sed -e "s/COLLECTOR_ADDRESS/$FLEET_ADDR/" -e "s#FLEET_LOG_DIR#$FLEET_DIR/stations#" \
  "$kit/rsyslog-collector.conf" >"$FLEET_DIR/collector/recipe.conf"
write_rsyslog_main "$FLEET_DIR/collector" "$FLEET_DIR/collector/recipe.conf"
rsyslogd -N1 -f "$FLEET_DIR/collector/main.conf" >"$FLEET_DIR/collector/check.log" 2>&1 ||
  fail_setup "rsyslogd -N1 accepts the collector recipe" "$FLEET_DIR/collector/check.log"
start_collector || fail_setup "collector rsyslogd listens on $FLEET_ADDR:514" "$FLEET_DIR/collector/rsyslogd.log"

for l in a b; do
  d="${LAB_DIR[$l]}/rsyslog"
  mkdir -p "$d"
  sed -e "s/GROUND_STATION_NAME/gs-$l/" -e "s/COLLECTOR_ADDRESS/$FLEET_ADDR/" \
    -e "s#/var/log/flightwall/events.jsonl#${LAB_DIR[$l]}/events.jsonl#" \
    "$kit/rsyslog-flightwall.conf" >"$d/recipe.conf"
  write_rsyslog_main "$d" "$d/recipe.conf"
  rsyslogd -N1 -f "$d/main.conf" >"$d/check.log" 2>&1 ||
    fail_setup "rsyslogd -N1 accepts the ground-station recipe" "$d/check.log"
  ip netns exec "${PREFIX[$l]}-g" rsyslogd -n -f "$d/main.conf" -i "$d/rsyslogd.pid" \
    </dev/null >"$d/rsyslogd.log" 2>&1 &
  SENDER_PID[$l]=$!
done

# --- Prometheus: edges in the gateways, the central one in the fleet namespace ----
for l in a b; do
  d="${LAB_DIR[$l]}/prometheus"
  mkdir -p "$d"
  sed -e "s/GROUND_STATION_NAME/gs-$l/" -e 's/\(scrape_interval\|evaluation_interval\): 15s/\1: 1s/' \
    -e "s#/usr/share/flightwall/monitoring/alerts.yml#$DL_SRC/monitoring/alerts.yml#" \
    "$kit/prometheus-edge.yml" >"$d/prometheus.yml"
  ip netns exec "${PREFIX[$l]}-g" prometheus --config.file="$d/prometheus.yml" \
    --storage.tsdb.path="$d/tsdb" --web.listen-address="${GS_ADDR[$l]}:9090" \
    </dev/null >"$d/prometheus.log" 2>&1 &
  EDGE_PID[$l]=$!
done
sed -e "s/GS_A_ADDRESS/${GS_ADDR[a]}/" -e "s/GS_B_ADDRESS/${GS_ADDR[b]}/" \
  -e 's/scrape_interval: 30s/scrape_interval: 1s/' \
  "$kit/prometheus-federation.yml" >"$FLEET_DIR/central/prometheus.yml"
ip netns exec "$FLEET_NS" prometheus --config.file="$FLEET_DIR/central/prometheus.yml" \
  --storage.tsdb.path="$FLEET_DIR/central/tsdb" --web.listen-address=127.0.0.1:9090 \
  </dev/null >"$FLEET_DIR/central/prometheus.log" 2>&1 &
CENTRAL_PID=$!

# --- traffic through each daemon --------------------------------------------------
traffic() { # LAB: an allowed tile, a denied upload, a hard-coded address
  lab_select "$1"
  check "gs-$1: allowed tile fetch works" dl_fetch_ok a.tiles.mapbox.com
  check "gs-$1: upload to flightlog.dji.com is refused" \
    equals 000 "$(dl_fetch flightlog.dji.com /upload --data x=1)"
  dl_c curl -s -o /dev/null --max-time 3 http://203.0.113.77:8443/ >/dev/null 2>&1
  local i
  for ((i = 0; i < 5; i++)); do # more lines: tiles, and a map host this policy denies
    dl_fetch a.tiles.mapbox.com >/dev/null
    dl_fetch tile.openstreetmap.org /1/0/0.png >/dev/null
  done
}
events() { echo "${LAB_DIR[$1]}/events.jsonl"; }
copy() { echo "$FLEET_DIR/stations/gs-$1/events.jsonl"; }
lines() { if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi; }
has_denied_flow() { grep -c '"dst":"203.0.113.77".*"verdict":"deny"' "$(events "$1")" >/dev/null; }
shipped() { [[ -s "$(events "$1")" ]] && cmp -s "$(events "$1")" "$(copy "$1")"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
verify_copy() { "$FLIGHTWALL" verify-log "$(copy "$1")" >"$FLEET_DIR/verify-$1.log" 2>&1; }

for l in a b; do traffic "$l"; done
for l in a b; do
  check "gs-$l: the denied flow to 203.0.113.77 is in events.jsonl" dl_wait 50 has_denied_flow "$l"
done
t0=$(date +%s%N)
for l in a b; do
  check "(a) gs-$l: the collector's copy is byte for byte events.jsonl (within 20 s)" \
    dl_wait 200 shipped "$l"
done
ship_ms=$(ms_since "$t0")
echo "  shipped $(lines "$(events a)") + $(lines "$(events b)") lines; all on the collector ${ship_ms} ms after the traffic ended"
for l in a b; do
  check "(a) gs-$l: the copy holds the denied upload's DNS question" \
    grep -q '"hostname":"flightlog.dji.com".*"verdict":"deny"' "$(copy "$l")"
  check "(a) gs-$l: flightwall verify-log accepts the collector's copy" verify_copy "$l"
done
check "(a) the two stations are filed apart (different chains)" \
  dl_not cmp -s "$(copy a)" "$(copy b)"

# --- (b) a collector outage -------------------------------------------------------
check "(b) the collector stops (SIGTERM to pid $COLLECTOR_PID)" stop_pid "$COLLECTOR_PID"
COLLECTOR_PID=""
declare -A BEFORE_EVENTS BEFORE_COPY
for l in a b; do
  BEFORE_EVENTS[$l]=$(lines "$(events "$l")")
  BEFORE_COPY[$l]=$(lines "$(copy "$l")")
done
for l in a b; do traffic "$l"; done
grew() { (($(lines "$(events "$1")") > BEFORE_EVENTS[$1])); }
for l in a b; do
  check "(b) gs-$l: events.jsonl grew during the outage" dl_wait 50 grew "$l"
done
for l in a b; do
  check "(b) gs-$l: nothing reached the stopped collector" \
    equals "${BEFORE_COPY[$l]}" "$(lines "$(copy "$l")")"
done
t0=$(date +%s%N)
check "(b) the collector restarts" start_collector
for l in a b; do
  check "(b) gs-$l: after the restart the copy is again byte for byte events.jsonl (within 30 s)" \
    dl_wait 300 shipped "$l"
done
recover_ms=$(ms_since "$t0")
echo "  outage: $(($(lines "$(events a)") - BEFORE_EVENTS[a])) + $(($(lines "$(events b)") - BEFORE_EVENTS[b])) lines written while the collector was down, all delivered ${recover_ms} ms after its restart"
for l in a b; do
  check "(b) gs-$l: verify-log accepts the copy after the outage" verify_copy "$l"
  check "(b) gs-$l: the sender's forwarding action was suspended and resumed (its own log)" \
    dl_wait 50 grep -q "omfwd.*resumed" "${LAB_DIR[$l]}/rsyslog/internal.log"
done

# --- (c) federation -----------------------------------------------------------------
query() { # PROMQL: the result vector as JSON lines {station, value, labels}
  fleet curl -sf --max-time 3 --get http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$1" |
    jq -c '.data.result[] | {gs: .metric.ground_station, v: .value[1], m: .metric}' 2>/dev/null
}
stations_of() { query "$1" | jq -r .gs | sort | paste -sd' '; }
both_stations() { [[ "$(stations_of "$1")" == "gs-a gs-b" ]]; }
check "(c) central Prometheus: flightwall_build_info of both stations (within 30 s)" \
  dl_wait 300 both_stations 'count by (ground_station) (flightwall_build_info)'
check "(c) central Prometheus: a blocked attempt counted for each station" \
  dl_wait 100 both_stations 'sum by (ground_station) (flightwall_attempts_total) > 0'
check "(c) the federated series keep the edge's job label" \
  both_stations 'count by (ground_station) (flightwall_build_info{job="flightwall"})'
echo "  central: $(query 'sum by (ground_station) (flightwall_attempts_total)' | jq -r '"\(.gs)=\(.v)"' | paste -sd' ') blocked attempts"

# The chain head each daemon publishes, read at the central server, vouches
# for the shipped copy: verify-log --expect-seq/--expect-head.
last_seq() { tail -n 1 "$(events "$1")" | jq -r .seq; }
central_seq() {
  query "flightwall_event_chain_seq{ground_station=\"gs-$1\"}" | jq -r .v
}
head_current() { [[ "$(central_seq "$1")" == "$(last_seq "$1")" ]]; }
for l in a b; do
  check "(c) gs-$l: the central server has the daemon's chain head (seq $(last_seq "$l"))" \
    dl_wait 100 head_current "$l"
  head8=$(query "flightwall_event_chain_head_info{ground_station=\"gs-$l\"}" | jq -r .m.head)
  check "(c) gs-$l: verify-log accepts the copy against the federated head ($head8)" \
    "$FLIGHTWALL" verify-log --expect-seq "$(last_seq "$l")" --expect-head "$head8" "$(copy "$l")" \
    >"$FLEET_DIR/verify-head-$l.log" 2>&1
  sed -n '1p' "$FLEET_DIR/verify-head-$l.log"
done

# --- (d) everything stops by its pid ------------------------------------------------
started=("$CENTRAL_PID" "$COLLECTOR_PID" "${EDGE_PID[a]}" "${EDGE_PID[b]}"
  "${SENDER_PID[a]}" "${SENDER_PID[b]}" "${LAB_PID[a]}" "${LAB_PID[b]}")
for l in a b; do
  check "(d) gs-$l: the sender rsyslogd was running until now" alive "${SENDER_PID[$l]}"
  check "(d) gs-$l: the edge Prometheus was running until now" alive "${EDGE_PID[$l]}"
done
stopped_all=1
for p in "${started[@]}"; do stop_pid "$p" || stopped_all=0; done
check "(d) every process the test started (${#started[@]}) stopped by its pid" equals 1 "$stopped_all"
# Witness: nothing is left in the namespaces where those processes ran.
check "(d) no process is left in the fleet and gateway namespaces" equals "" \
  "$(for ns in "$FLEET_NS" "${PREFIX[a]}-g" "${PREFIX[b]}-g"; do ip netns pids "$ns"; done)"
CENTRAL_PID="" COLLECTOR_PID="" LAB_PID=([a]="" [b]="") EDGE_PID=() SENDER_PID=()
teardown
gone=1
for ns in "$FLEET_NS" "${PREFIX[a]}"-{c,g,s} "${PREFIX[b]}"-{c,g,s}; do
  [[ -e "/run/netns/$ns" ]] && gone=0
done
check "(d) the namespaces are gone" equals 1 "$gone"
dl_summary
