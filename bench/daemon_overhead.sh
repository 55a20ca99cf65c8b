#!/usr/bin/env bash
# What `flightwall run` costs the traffic it allows, measured in one run in
# the daemon test namespaces (tests/integration/lib/daemon_lab.sh: client ->
# gateway running the daemon -> server). Not a test: it prints figures.
#
#   bench/daemon_overhead.sh [--bulk-mb N] [--connections N] [--runs N]
#                            [--modes "none decisions every-packet"]
#
# For each mode -- none (no daemon, no rules: the baseline), decisions (the
# default: decided connections bypass user space by connmark) and
# every-packet (inspect: every-packet) -- it measures:
#  - bulk TCP throughput to an allowed host: curl downloads an N MB file
#    (default 200) from nginx, over plain HTTP (port 80) and over HTTPS,
#    RUNS times each (default 3), median reported; plus the daemon's CPU time
#    (utime+stime from /proc) spent per GB moved;
#  - the latency of new allowed connections: N (default 300) curl processes
#    each open a new HTTPS connection (DNS through the gateway, then TCP and
#    TLS): p50/p99 of curl's time_namelookup, time_connect - time_namelookup
#    (TCP handshake), time_appconnect - time_connect (TLS handshake) and
#    time_total.
# iperf3 is not used (not in scripts/setup); nginx+curl stand in for it.
# Veth offloads are off by default, as in scripts/lab (DL_OFFLOADS=on keeps
# them). Needs root and what the daemon tests need.
set -uo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FLIGHTWALL_SOURCE_DIR="$SRC"
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=tests/integration/lib/daemon_lab.sh
source "$SRC/tests/integration/lib/daemon_lab.sh"

BULK_MB=200
CONNS=300
RUNS=3
MODES="none decisions every-packet"
while (($#)); do
  case "$1" in
    --bulk-mb) BULK_MB="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    *) echo "usage: $0 [--bulk-mb N] [--connections N] [--runs N] [--modes LIST]" >&2; exit 2 ;;
  esac
done

if ! dl_check_requirements daemon_overhead >&2; then exit 2; fi
export DL_BULK_MB="$BULK_MB"
dl_init "fwb$$"
dl_up || { echo "daemon_overhead: could not build the namespaces" >&2; exit 1; }

POLICY="$DL_DIR/policy.yaml"
# The lab policy, with port 80 allowed for the tile hosts (plain-HTTP bulk).
dl_write_policy "$POLICY" enforce
sed -i 's/^    ports: \[443\]$/    ports: [443, 80]/' "$POLICY"

# median / percentile of numbers on stdin (nearest rank).
pct() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
  i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'; }

daemon_cpu_ticks() { # utime + stime of the daemon, in clock ticks
  [[ -n "${DL_DAEMON_PID:-}" ]] || { echo 0; return; }
  awk '{ print $14 + $15 }' "/proc/$DL_DAEMON_PID/stat" 2>/dev/null || echo 0
}
HZ=$(getconf CLK_TCK)

# bulk SCHEME: sets BULK_SPEED (median MB/s of RUNS downloads) and BULK_CPU
# (daemon CPU s/GB).
bulk() {
  local scheme="$1" i out speeds=() c0 c1 bytes=0
  BULK_CPU=""
  c0=$(daemon_cpu_ticks)
  for ((i = 0; i < RUNS; i++)); do
    out=$(dl_c curl -s -o /dev/null --max-time 120 --cacert "$DL_CA" \
      -w '%{http_code} %{speed_download} %{size_download}' "$scheme://a.tiles.mapbox.com/bulk.bin")
    read -r code speed size <<<"$out"
    if [[ "$code" != 200 || "$size" != $((BULK_MB * 1024 * 1024)) ]]; then
      echo "  warning: $scheme download failed: $out" >&2
      continue
    fi
    speeds+=("$speed")
    bytes=$((bytes + size))
  done
  c1=$(daemon_cpu_ticks)
  [[ -n "${DL_DAEMON_PID:-}" ]] || { BULK_CPU="-"; c1=0; c0=0; }
  [[ "$BULK_CPU" == "-" ]] || BULK_CPU=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v b="$bytes" \
    'BEGIN { if (b == 0) print "nan"; else printf "%.2f", d / hz / (b / 1e9) }')
  BULK_SPEED=$(printf '%s\n' "${speeds[@]}" | awk 'NF { printf "%.1f\n", $1 / 1e6 }' | pct 50)
}

# latency: runs CONNS new HTTPS connections; prints the four p50/p99 pairs (ms).
latency() {
  local i f="$DL_DIR/latency.txt" failed=0
  : >"$f"
  for ((i = 0; i < CONNS; i++)); do
    dl_c curl -s -o /dev/null --max-time 5 --cacert "$DL_CA" \
      -w '%{http_code} %{time_namelookup} %{time_connect} %{time_appconnect} %{time_total}\n' \
      "https://a.tiles.mapbox.com/v4/mapbox.satellite/1/0/0.png" >>"$f" || failed=$((failed + 1))
  done
  local ok
  ok=$(awk '$1 == 200' "$f" | wc -l)
  ((ok == CONNS)) || echo "  warning: $((CONNS - ok)) of $CONNS connections failed" >&2
  local col
  for col in dns tcp tls total; do
    local expr
    # awk expressions over curl's fields, not shell expansions.
    # shellcheck disable=SC2016
    case $col in
      dns) expr='$2' ;; tcp) expr='$3 - $2' ;; tls) expr='$4 - $3' ;; total) expr='$5' ;;
    esac
    local values
    values=$(awk '$1 == 200 { printf "%.3f\n", ('"$expr"') * 1000 }' "$f")
    printf '%s %s ' "$(pct 50 <<<"$values")" "$(pct 99 <<<"$values")"
  done
  echo
}

echo "daemon_overhead: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "kernel $(uname -r), offloads ${DL_OFFLOADS:-off}; $FLIGHTWALL"
echo "bulk: ${BULK_MB} MB x $RUNS per scheme (median); latency: $CONNS new HTTPS connections (ms)"
printf '%-13s %10s %10s %9s %9s | %-14s %-14s %-14s %-14s | %s\n' mode "HTTP MB/s" "HTTPS MB/s" \
  "cpu s/GB" "(https)" "dns p50/p99" "tcp p50/p99" "tls p50/p99" "total p50/p99" "verdict us/pkts"
for mode in $MODES; do
  if [[ "$mode" != none ]]; then
    dl_write_config "$DL_DIR/$mode.yaml" "$POLICY" closed "$mode"
    if ! dl_start_daemon "$DL_DIR/$mode.yaml" "$mode"; then
      echo "$mode: daemon did not start (see above)"
      continue
    fi
  fi
  dl_fetch_ok a.tiles.mapbox.com || echo "  warning: allowed fetch failed in mode $mode" >&2
  bulk http
  http=$BULK_SPEED cpu_http=$BULK_CPU
  bulk https
  https=$BULK_SPEED cpu_https=$BULK_CPU
  read -r d50 d99 t50 t99 s50 s99 a50 a99 < <(latency)
  vlat=-
  if [[ "$mode" != none ]]; then
    # Mean time inside the daemon from receive to verdict, over this mode.
    vlat=$(dl_g curl -s --max-time 2 http://127.0.0.1:9714/metrics | awk '
      $1 == "flightwall_verdict_latency_seconds_sum" { s = $2 }
      $1 == "flightwall_verdict_latency_seconds_count" { c = $2 }
      END { if (c > 0) printf "%.1f/%d", s / c * 1e6, c; else print "-" }')
  fi
  printf '%-13s %10s %10s %9s %9s | %-14s %-14s %-14s %-14s | %s\n' "$mode" "$http" "$https" \
    "$cpu_http" "$cpu_https" "$d50/$d99" "$t50/$t99" "$s50/$s99" "$a50/$a99" "$vlat"
  if [[ "$mode" != none ]]; then dl_stop_daemon TERM; fi
done
echo "(cpu s/GB: CPU seconds the daemon spent per GB downloaded, HTTP then HTTPS; - = no daemon."
echo " verdict us/pkts: mean receive-to-verdict time inside the daemon and packets queued, whole mode.)"
