#!/usr/bin/env bash
# The monitoring kit (monitoring/) against the real daemon:
#  - promtool check rules and promtool test rules (alerts_test.yml);
#  - the Grafana dashboard is valid JSON with a query on every panel;
#  - a real scrape of `flightwall run` (forward mode in a gateway namespace
#    of its own, a tablet namespace behind it) passes `promtool check metrics`, and
#    every metric the dashboard and the alerts use is in it;
#  - a Prometheus server in that namespace, loaded with alerts.yml, scrapes
#    the daemon and fires FlightwallLeakPrevented for a blocked transfer.
# Exit 77 (skip) without root, promtool, prometheus or the built binary.
# shellcheck disable=SC2015,SC2317  # ok/bad report lines use A && ok || bad (ok never fails); cleanup runs from the EXIT trap
set -euo pipefail

src="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
kit="$src/monitoring"
bin="${FLIGHTWALL:-}"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib/check.sh
source "$src/tests/integration/lib/check.sh"
# shellcheck source-path=SCRIPTDIR source=lib/procs.sh
source "$src/tests/integration/lib/procs.sh"

for t in promtool prometheus jq curl ip iptables-save timeout; do
  if ! command -v "$t" >/dev/null; then
    echo "SKIP: needs '$t' (run scripts/setup: prometheus provides promtool)"
    exit 77
  fi
done

# --- static checks ---------------------------------------------------------------
promtool check rules "$kit/alerts.yml" && ok "promtool check rules" || bad "promtool check rules"
(cd "$kit" && promtool test rules alerts_test.yml) && ok "promtool test rules" ||
  bad "promtool test rules"
if jq -e '.uid == "flightwall" and (.panels | length) > 0 and
          ([.panels[] | select(.type != "row") | (.targets | length) > 0
                        and all(.targets[]; (.expr | length) > 0)] | all)' \
  "$kit/grafana-dashboard.json" >/dev/null; then
  ok "grafana-dashboard.json: valid, every panel has a query"
else
  bad "grafana-dashboard.json is not valid or has a panel without a query"
fi

if [[ $EUID -ne 0 ]]; then
  echo "SKIP: the scrape part needs root (network namespace, NFQUEUE)"
  exit $((FAILED ? 1 : 77))
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "SKIP: the scrape part needs FLIGHTWALL (the built binary)"
  exit $((FAILED ? 1 : 77))
fi

# --- a real daemon ------------------------------------------------------------------
ns="fwmon$$"
ns_tab="fwmon$$-tab"
ns_inet="fwmon$$-inet"
work=$(mktemp -d)
dpid=""
ppid_=""
cleanup() {
  stop_pid "$ppid_"
  stop_pid "$dpid"
  for n in "$ns" "$ns_tab" "$ns_inet"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# The lab's wiring (scripts/flightwall_lab/topology.py): the tablet behind the
# gateway's lan0, and an "internet" namespace with no servers for the flight
# app to send to (nothing answers); documentation addresses only.
FW_LAB_PREFIX="fwmon$$" "$src/scripts/lab" wire "$ns_tab" "$ns" "$ns_inet" ||
  { bad "could not wire the test namespaces"; summary; exit 1; }

cat >"$work/policy.yaml" <<EOF
version: 1
name: monitoring-test
mode: enforce
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [198.51.100.53]
allow:
  - include: $src/rules/map-providers/openstreetmap.yaml
catalog:
  - name: test-cloud
    category: vendor-cloud
    cidrs: [198.51.100.0/24]
EOF
cat >"$work/flightwall.yaml" <<EOF
policy: $work/policy.yaml
intercept:
  mode: forward
  queue: 12
  backend: iptables
dns:
  state_file: $work/names.bin
events:
  path: $work/events.jsonl
metrics:
  listen: 127.0.0.1:9714
EOF
if ! "$bin" check --policy "$work/policy.yaml" >/dev/null 2>"$work/check.err"; then
  # The catalog entry's schema may differ; fall back to no catalog.
  sed -i '/^catalog:/,$d' "$work/policy.yaml"
fi

mkfifo "$work/out"
ip netns exec "$ns" timeout --foreground 300 "$bin" run --config "$work/flightwall.yaml" \
  >"$work/out" 2>"$work/err" &
dpid=$!
exec 3<"$work/out"
if ! read -r -t 20 first <&3 || [[ "$first" != READY ]]; then
  cat "$work/err"
  echo "FAIL: the daemon did not become READY"
  exit 1
fi

# Prometheus in the same namespace, scraping every second.
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $kit/alerts.yml
scrape_configs:
  - job_name: flightwall
    static_configs:
      - targets: ['127.0.0.1:9714']
EOF
ip netns exec "$ns" timeout --foreground 300 prometheus --config.file="$work/prometheus.yml" \
  --storage.tsdb.path="$work/tsdb" --web.listen-address=127.0.0.1:9090 \
  >"$work/prometheus.log" 2>&1 &
ppid_=$!
query() { # PROMQL -> number of result series
  ip netns exec "$ns" curl -sf --max-time 3 --get http://127.0.0.1:9090/api/v1/query \
    --data-urlencode "query=$1" | jq -r '.data.result | length' 2>/dev/null || echo 0
}
scraped=""
for _ in $(seq 100); do
  if [[ "$(query 'flightwall_attempts_total{category="vendor-cloud"} == 0 or flightwall_attempts_total == 0')" -gt 0 ]]; then
    scraped=1
    break
  fi
  sleep 0.2
done
[[ -n "$scraped" ]] && ok "Prometheus scrapes the daemon (attempt counters start at 0)" ||
  { tail -5 "$work/prometheus.log"; bad "Prometheus did not scrape the daemon"; }

# The tablet sends a datagram to an address no DNS answer named: a
# hard-coded IP, denied on its first payload packet. (A TCP SYN would wait
# for its payload, and nothing here answers the SYN.)
ip netns exec "$ns_tab" timeout 5 bash -c 'echo flight-log >/dev/udp/198.51.100.7/5000' || true
for _ in $(seq 50); do
  ip netns exec "$ns" curl -sf --max-time 5 http://127.0.0.1:9714/metrics |
    grep -qE '^flightwall_attempts_total\{[^}]*\} [1-9]' && break
  sleep 0.1
done

scrape=$(ip netns exec "$ns" curl -sf --max-time 5 http://127.0.0.1:9714/metrics || true)
echo "$scrape" >"$work/scrape.txt"
if promtool check metrics <"$work/scrape.txt"; then
  ok "promtool check metrics on a real scrape ($(grep -vc '^#' "$work/scrape.txt") samples)"
else
  bad "promtool check metrics found problems in the scrape"
fi
for m in flightwall_packets_total flightwall_flows_total flightwall_attempts_total \
  flightwall_dns_questions_total flightwall_bytes_total flightwall_verdict_latency_seconds_bucket \
  flightwall_queue_dropped_total flightwall_queue_user_dropped_total flightwall_queue_enobufs_total \
  flightwall_policy_reloads_total flightwall_names_cached flightwall_flows_active \
  flightwall_events_lost_total flightwall_build_info; do
  grep -q "^${m}[{ ]" "$work/scrape.txt" || bad "metric $m is missing from the scrape"
done
# What the kit queries must exist (a renamed metric would silently break it).
used=$(grep -ohE 'flightwall_[a-z_]+' "$kit/alerts.yml" "$kit/grafana-dashboard.json" | sort -u)
missing=""
for m in $used; do
  grep -q "^${m}[{ ]" "$work/scrape.txt" || missing+=" $m"
done
[[ -z "$missing" ]] && ok "every metric the dashboard and alerts use is in the scrape" ||
  bad "the kit uses metrics the daemon does not export:$missing"
grep -qE '^flightwall_attempts_total\{[^}]*\} [1-9]' "$work/scrape.txt" &&
  ok "the blocked transfer is counted in flightwall_attempts_total" ||
  { grep attempts "$work/scrape.txt"; tail -5 "$work/err"; bad "no attempt counted"; }

fired=""
for _ in $(seq 150); do
  if [[ "$(query 'ALERTS{alertname="FlightwallLeakPrevented",alertstate="firing",app="tablet"}')" -gt 0 ]]; then
    fired=1
    break
  fi
  sleep 0.2
done
[[ -n "$fired" ]] && ok "Prometheus fired FlightwallLeakPrevented from the real daemon's metrics" ||
  bad "FlightwallLeakPrevented did not fire within 30 s"
[[ "$(query 'ALERTS{alertname=~"FlightwallDown|FlightwallEventsLost|FlightwallQueueDrops|FlightwallReloadFailed"}')" -eq 0 ]] &&
  ok "no false alarm from a healthy daemon" || bad "a health alert fired for a healthy daemon"
summary
