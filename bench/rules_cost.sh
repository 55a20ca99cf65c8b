#!/usr/bin/env bash
# What flightwall's iptables rules cost the kernel, with no queue at all:
# iperf3 through the daemon tests' router namespace, offloads off (every
# packet wire-sized), in ROUNDS interleaved rounds of
#   none       no rule in the gateway
#   conntrack  one rule that needs conntrack (-m conntrack ... -j ACCEPT)
#   long       the ruleset a `decisions` daemon installs, NFQUEUE turned into
#              ACCEPT, no connection decided: every packet crosses the whole
#              chain (what a decided connection crossed before the fast path)
#   decided    the same behind one rule that marks every connection decided-
#              allowed: packets take the fast path, as a decided connection's
#              do (scripts/bench's (a') row)
# and prints each round's Gbit/s and the median per configuration.
#
#   sudo bench/rules_cost.sh [ROUNDS (4)] [SECONDS per run (4)]
#
# As root, after a build (FLIGHTWALL, or the first build directory found).
# Namespaces only, documentation addresses only; the lab is removed on exit.
set -uo pipefail
ROUNDS=${1:-4}
SECS=${2:-4}
[[ $EUID -eq 0 ]] || { echo "rules_cost: run as root (network namespaces)" >&2; exit 2; }
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FLIGHTWALL_SOURCE_DIR="$SRC"
# shellcheck source=tests/integration/lib/daemon_lab.sh
source "$SRC/tests/integration/lib/daemon_lab.sh"
# shellcheck source=bench/lib/rules.sh
source "$SRC/bench/lib/rules.sh"
dl_check_requirements rules_cost >&2 || exit 2
for t in iperf3 jq; do
  command -v "$t" >/dev/null || { echo "rules_cost: needs $t (scripts/setup)" >&2; exit 2; }
done

export DL_OFFLOADS=on
dl_init "rc$$"
dl_up || exit 1
dl_s setsid -f iperf3 -s -B 198.51.100.10 -p 5201 </dev/null >/dev/null 2>&1
dl_wait 50 dl_listening "$DL_NS_S" t "198.51.100.10:5201" || { echo "iperf3 server not up" >&2; exit 1; }
for n in "$DL_NS_C:eth0" "$DL_NS_G:lan0" "$DL_NS_G:wan0" "$DL_NS_S:eth0"; do
  ip netns exec "${n%%:*}" python3 "$SRC/scripts/lab.d/no_offload.py" "${n##*:}" || exit 1
done

# The daemon's ruleset, read while it runs, then the daemon stopped.
POLICY="$DL_DIR/policy.yaml"
dl_write_policy "$POLICY" enforce '  - name: bench-iperf3
    cidrs: [198.51.100.10/32]
    ports: ["5201"]
    transports: [tcp]
    allow_without_name: true'
dl_write_config "$DL_DIR/decisions.yaml" "$POLICY" closed decisions 0
dl_start_daemon "$DL_DIR/decisions.yaml" decisions || exit 1
dl_g iptables-save -t mangle >"$DL_DIR/daemon.rules"
dl_stop_daemon TERM
grep -q -- '-j NFQUEUE' "$DL_DIR/daemon.rules" || { echo "no NFQUEUE rule in the daemon's ruleset" >&2; exit 1; }

empty() { grep -E '^(\*|COMMIT|:[^ ]+ (ACCEPT|DROP) )' "$DL_DIR/daemon.rules" | dl_g iptables-restore; }
use_config() { # CONFIG
  empty
  case "$1" in
    none) ;;
    conntrack) dl_g iptables -t mangle -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT ;;
    long) rules_without_queue "$DL_DIR/daemon.rules" | dl_g iptables-restore ;;
    decided) rules_without_queue "$DL_DIR/daemon.rules" decided | dl_g iptables-restore ;;
  esac
}
gbit() {
  dl_c timeout $((SECS + 15)) iperf3 -c 198.51.100.10 -p 5201 -t "$SECS" -J 2>/dev/null |
    jq '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100'
}

CONFIGS=(none conntrack long decided)
declare -A RESULTS
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${CONFIGS[@]}"; do
    use_config "$c"
    v=$(gbit)
    echo "round $r $c ${v:-failed}"
    RESULTS[$c]+="${v:-} "
  done
done
empty
echo "== median Gbit/s over $ROUNDS rounds (ratio to none)"
none=$(tr ' ' '\n' <<<"${RESULTS[none]}" | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
for c in "${CONFIGS[@]}"; do
  tr ' ' '\n' <<<"${RESULTS[$c]}" | sed '/^$/d' | sort -n |
    awk -v c="$c" -v n="$none" '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      printf "%-10s %6.2f  (%.2f)\n", c, m, (n > 0 ? m / n : 0) }'
done
