#!/usr/bin/env bash
# The CI soak: `scripts/soak` for SOAK_MINUTES (default 3) against the
# flightwall under test, 2 queues, mixed allowed, denied and adversarial
# traffic, SIGHUP reloads. The soak itself judges the bounds (RSS, fds, held
# packets, far-side leaks, allowed success rate, daemon alive) and exits 1 on
# a breach; this test checks that it ran its full length and left its
# evidence. Runs as root (ctest); exit 77 when requirements are missing.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_check_requirements soak_test || exit 77
command -v ip6tables >/dev/null || { echo "SKIP: soak_test needs ip6tables"; exit 77; }
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3

MINUTES="${SOAK_MINUTES:-3}"
OUT=$(mktemp -d /tmp/flightwall-soak-test.XXXXXX)
# Kept when a check failed (soak.csv, summary.json, soak.png, daemon.stderr).
trap '((FAILED)) && echo "  soak output kept in $OUT" || rm -rf -- "$OUT"' EXIT
T0=$SECONDS
FLIGHTWALL="$FLIGHTWALL" "$DL_SRC/scripts/soak" "$MINUTES" --out "$OUT" >"$OUT/soak.log" 2>&1
RC=$?
cat "$OUT/soak.log"

check "scripts/soak $MINUTES exits 0 (every bound held)" equals 0 "$RC"
rows=$( (wc -l <"$OUT/soak.csv") 2>/dev/null || echo 0)
check "soak.csv has a row per second (${rows} lines for ${MINUTES} min)" \
  test "${rows:-0}" -ge $((MINUTES * 60 * 9 / 10))
check "summary.json says pass" "$PY" -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["pass"] else 1)' "$OUT/summary.json"
summary_value() { # KEY.KEY...
  "$PY" -c 'import json, sys
v = json.load(open(sys.argv[1]))["figures"]
for k in sys.argv[2].split("."):
    v = v[k]
print(int(v))' "$OUT/summary.json" "$1" 2>/dev/null
}
n=$(summary_value allowed.ok)
check "allowed fetches ran (${n:-0})" test "${n:-0}" -gt $((MINUTES * 60))
n=$(summary_value denied.blocked)
check "denied attempts ran and were blocked (${n:-0})" test "${n:-0}" -gt $((MINUTES * 10))
n=$(summary_value adversary.runs)
check "attack-kit runs (${n:-0})" test "${n:-0}" -gt $((MINUTES * 5))
n=$(summary_value latency_us.p99_median_1s)
check "p99 verdict latency recorded per second (median ${n:-none} us)" \
  test "${n:-0}" -gt 0 -a "${n:-0}" -le 100000
n=$(summary_value reloads.ok)
check "reloads applied (${n:-0})" test "${n:-0}" -ge $((MINUTES * 3 - 1))
if "$PY" -c 'import matplotlib' 2>/dev/null; then
  check "soak.png written" test -s "$OUT/soak.png"
else
  echo "SKIP: no python3-matplotlib: no plot check"
fi
prefix=$(sed -n 's|.*lab in /tmp/flightwall-\(fsk[0-9]*\)\..*|\1|p' "$OUT/soak.log" | head -n 1)
lab_gone() { [[ -n "$prefix" ]] && ! ip netns list | grep -q "^$prefix-"; }
check "the soak's namespaces are gone (${prefix:-no prefix})" lab_gone
echo "  ran in $((SECONDS - T0)) s"
dl_summary
