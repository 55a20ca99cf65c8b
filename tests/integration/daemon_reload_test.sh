#!/usr/bin/env bash
# Signals to a running `flightwall run`, checked by what the client can and
# cannot reach through the gateway:
#  - SIGHUP with a broken policy (YAML syntax error, then a schema error)
#    keeps enforcing the old one (a denied host stays denied, an allowed host
#    stays allowed); the daemon logs why (file:line) and counts
#    flightwall_policy_reloads_total{result="failure"}.
#  - SIGHUP with a valid changed policy (adding tile.openstreetmap.org) takes
#    effect and counts a success.
#  - SIGUSR1 after a logrotate-style mv reopens the event log; the rotated
#    and the new file verify as one chain with `flightwall verify-log` (and a
#    tampered copy does not).
#  - mode: lockdown refuses a loosening reload, accepts a tightening one, and
#    after SIGTERM leaves the drop rules installed (traffic stays blocked)
#    until `flightwall rules --remove --config F`.
# Runs as root (ctest); exit 77 when requirements are missing.
# The bash -c checks take their values as "$1"/"$2" on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_test_up daemon_reload_test "fwr$$"

POLICY="$DL_DIR/policy.yaml"
CFG="$DL_DIR/flightwall.yaml"
EVENTS="$DL_DIR/events.jsonl"
OSM=(tile.openstreetmap.org /1/0/0.png)
dl_write_policy "$POLICY" enforce "" daemon-lab-v1
dl_write_config "$CFG" "$POLICY" closed

# log_count PATTERN: lines of the daemon's stderr matching PATTERN.
log_count() { grep -c -- "$1" "$DL_DAEMON_LOG" 2>/dev/null; }
log_grew() { (($(log_count "$1") > $2)); }
# reloads success|failure: flightwall_policy_reloads_total for that result.
# The brief names the labels success/failure, daemon/sink/metrics.h ok/failed:
# both spellings are read (only one exists), so the count is what is checked.
reloads() {
  local a b
  case "$1" in
    success) a=success b=ok ;;
    *) a=failure b=failed ;;
  esac
  dl_g curl -s --max-time 2 http://127.0.0.1:9714/metrics | awk -v a="$a" -v b="$b" '
    $1 == "flightwall_policy_reloads_total{result=\"" a "\"}" ||
    $1 == "flightwall_policy_reloads_total{result=\"" b "\"}" { s += $2 }
    END { printf "%d\n", s }'
}
reloads_are() { [[ "$(reloads "$1")" == "$2" ]]; }

# signal_and_wait SIG PATTERN: sends SIG, then waits (5 s) for a new stderr
# line matching PATTERN.
signal_and_wait() {
  local n
  n=$(log_count "$2")
  kill -"$1" "$DL_DAEMON_PID"
  dl_wait 50 log_grew "$2" "$n"
}
hup() { signal_and_wait HUP "$1"; }

if ! dl_start_daemon "$CFG" enforce; then
  echo "FAIL: flightwall run reaches READY"
  echo "0 passed, 1 failed"
  exit 1
fi
check "v1: allowed host a.tiles.mapbox.com fetched" dl_fetch_ok a.tiles.mapbox.com
check "v1: denied host flightlog.dji.com refused" equals 000 "$(dl_fetch flightlog.dji.com /upload --data x=1)"
check "v1: tile.openstreetmap.org not yet allowed" equals 000 "$(dl_fetch "${OSM[@]}")"

# --- broken policies keep the running one -------------------------------------
fail0=$(reloads failure)
fail0=${fail0:-0}
cp "$POLICY" "$DL_DIR/policy.v1"
printf 'version: 1\nname: broken\nallow:\n  - name: [unclosed\n' >"$POLICY"
check "broken YAML: SIGHUP logs 'reload failed'" hup "reload failed"
check "broken YAML: the log names the file and line" \
  grep -qE -- "$POLICY:[0-9]+" "$DL_DAEMON_LOG"
check "broken YAML: reloads_total{result=\"failure\"} went $fail0 -> $((fail0 + 1))" \
  dl_wait 20 reloads_are failure "$((fail0 + 1))"
check "broken YAML: allowed host still allowed" dl_fetch_ok a.tiles.mapbox.com
check "broken YAML: denied host still denied" equals 000 "$(dl_fetch flightlog.dji.com /upload --data x=1)"

# A well-formed file the schema rejects (misspelt key), naming the new host:
# the host must not become reachable.
dl_write_policy "$POLICY" enforce '  - name: openstreetmap-tiles
    hostz: [tile.openstreetmap.org]
    ports: [443]' daemon-lab-bad
check "schema error: SIGHUP logs 'reload failed'" hup "reload failed"
check "schema error: the log says what is wrong ('hostz')" grep -q "hostz" "$DL_DAEMON_LOG"
check "schema error: failure counter at $((fail0 + 2))" equals "$((fail0 + 2))" "$(reloads failure)"
check "schema error: tile.openstreetmap.org still denied" equals 000 "$(dl_fetch "${OSM[@]}")"
check "schema error: allowed host still allowed" dl_fetch_ok a.tiles.mapbox.com

# --- a valid changed policy takes effect --------------------------------------
ok0=$(reloads success)
ok0=${ok0:-0}
dl_write_policy "$POLICY" enforce "$DL_OSM_RULE" daemon-lab-v2
check "v2: SIGHUP logs the reload of 'daemon-lab-v2'" hup "reloaded policy 'daemon-lab-v2'"
check "v2: reloads_total{result=\"success\"} at $((ok0 + 1))" equals "$((ok0 + 1))" "$(reloads success)"
check "v2: tile.openstreetmap.org now allowed" dl_fetch_ok "${OSM[@]}"
check "v2: a.tiles.mapbox.com still allowed" dl_fetch_ok a.tiles.mapbox.com
check "v2: flightlog.dji.com still denied" equals 000 "$(dl_fetch flightlog.dji.com /upload --data x=1)"

# --- SIGUSR1: logrotate-style reopen ------------------------------------------
lines() {
  local n
  n=$(grep -c . "$1" 2>/dev/null)
  echo "${n:-0}"
}
check "events: the log has lines before rotation" test "$(lines "$EVENTS")" -gt 0
mv "$EVENTS" "$EVENTS.1"
rotated_lines=$(lines "$EVENTS.1")
check "SIGUSR1: daemon logs the reopen" signal_and_wait USR1 "event log reopened"
dl_fetch_ok a.tiles.mapbox.com
dl_fetch flightlog.dji.com /upload --data x=1 >/dev/null
check "SIGUSR1: new events go to a new file at the path" dl_wait 30 test -s "$EVENTS"
check "SIGUSR1: the rotated file got no more lines" equals "$rotated_lines" "$(lines "$EVENTS.1")"
check "SIGUSR1: the new file's first prev is the rotated file's last hash" \
  python3 - "$EVENTS.1" "$EVENTS" <<'EOF'
import json, sys
last = json.loads(open(sys.argv[1]).read().splitlines()[-1])
first = json.loads(open(sys.argv[2]).read().splitlines()[0])
if first.get("prev") != last.get("hash") or not last.get("hash"):
    print(f"  prev {first.get('prev')!r} != hash {last.get('hash')!r}")
    sys.exit(1)
EOF
dl_stop_daemon TERM
check "enforce: SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
check "enforce: SIGTERM removes the rules" dl_not dl_rules_present
check "verify-log: rotated + new file verify as one chain" \
  "$FLIGHTWALL" verify-log "$EVENTS.1" "$EVENTS"
check "verify-log: the new file alone verifies (continues an earlier file)" \
  "$FLIGHTWALL" verify-log "$EVENTS"
# Negative control: the check above can fail. Change one verdict in a copy.
sed '2s/"verdict":"[a-z]*"/"verdict":"tampered"/' "$EVENTS.1" >"$DL_DIR/tampered.jsonl"
check "verify-log: a tampered copy fails (exit 1) naming line 2" \
  bash -c '! cmp -s "$1" "$2" || exit 1; out=$("$3" verify-log "$2" 2>&1); rc=$?
           [[ $rc == 1 && $out == *"line 2"* ]] || { echo "  rc $rc: $out"; exit 1; }' \
  _ "$EVENTS.1" "$DL_DIR/tampered.jsonl" "$FLIGHTWALL"

# --- lockdown -------------------------------------------------------------------
LPOLICY="$DL_DIR/lockdown.yaml"
LCFG="$DL_DIR/flightwall-lockdown.yaml"
dl_write_policy "$LPOLICY" lockdown "" lockdown-v1
dl_write_config "$LCFG" "$LPOLICY" closed
if dl_start_daemon "$LCFG" lockdown; then
  check "lockdown: allowed host fetched" dl_fetch_ok a.tiles.mapbox.com
  fail0=$(reloads failure)
  fail0=${fail0:-0}
  dl_write_policy "$LPOLICY" lockdown "$DL_OSM_RULE" lockdown-looser
  check "lockdown: loosening reload refused, with the reason logged" \
    hup "reload refused in lockdown mode"
  check "lockdown: refusal counted as a failed reload" equals "$((fail0 + 1))" "$(reloads failure)"
  check "lockdown: tile.openstreetmap.org still denied" equals 000 "$(dl_fetch "${OSM[@]}")"
  # Tightening is accepted: only api.mapbox.com stays allowed.
  dl_write_policy "$LPOLICY" lockdown "" lockdown-tight api.mapbox.com
  check "lockdown: tightening reload accepted" hup "reloaded policy 'lockdown-tight'"
  check "lockdown: api.mapbox.com still allowed" dl_fetch_ok api.mapbox.com
  check "lockdown: a.tiles.mapbox.com now denied" equals 000 "$(dl_fetch a.tiles.mapbox.com)"
  dl_stop_daemon TERM
  check "lockdown: SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
  check "lockdown: the daemon says it leaves the rules" \
    grep -q "lockdown: leaving the interception rules" "$DL_DAEMON_LOG"
  check "lockdown: rules still installed after exit" dl_rules_jump_present
  check "lockdown: allowed host blocked with the daemon gone" \
    equals 000 "$(dl_fetch api.mapbox.com)"
  check "lockdown: hard-coded address blocked with the daemon gone" \
    equals 000 "$(dl_fetch api.mapbox.com / --resolve api.mapbox.com:443:198.51.100.10)"
  check "lockdown: flightwall rules --remove --config succeeds" \
    dl_g "$FLIGHTWALL" rules --remove --config "$LCFG"
  check "lockdown: no flightwall chain left" dl_not dl_rules_present
  check "lockdown: traffic flows again once the rules are removed" dl_fetch_ok api.mapbox.com
else
  check "lockdown: flightwall run reaches READY" false
fi

dl_finish
