#!/usr/bin/env bash
# `flightwall status` against a running daemon and a stopped one, in the
# daemon lab (lib/daemon_lab.sh); the control socket lives under the test's
# temp dir (control.socket in the config).
#  - Before the start and after SIGTERM: exit 3, "flightwall is not running
#    (no control socket at PATH)", --json says "running": false; the socket
#    file is gone after the stop.
#  - Running: exit 0; policy name and sha256 match `flightwall check`, mode
#    enforce, queue 0 listed, socket mode 0660; --json parses (python3 and jq
#    when installed); a denied upload to flightlog.dji.com appears in
#    last_denials with its host, app and reason, and in the summary.
#  - A client that connects and sends nothing does not keep the daemon from
#    answering the next status (cut off after 1 s).
#  - Degraded (exit 1): after a failed reload (broken policy) until a good
#    one, and in policy mode audit; the reason is printed.
#  - Usage errors exit 2.
# Runs as root (ctest); exit 77 when requirements are missing.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_test_up daemon_status_test "fws$$"

POLICY="$DL_DIR/policy.yaml"
CFG="$DL_DIR/flightwall.yaml"
SOCK="$DL_DIR/run/control.sock"
dl_write_policy "$POLICY" enforce "" daemon-lab-status
dl_write_config "$CFG" "$POLICY" closed decisions 0 "control:
  socket: $SOCK"

# status ARGS...: runs `flightwall status` (bounded), output in $OUT, exit in $RC.
status() {
  OUT=$(timeout 10 "$FLIGHTWALL" status "$@" 2>&1)
  RC=$?
}
rc_is() { equals "$1" "$RC" || { echo "$OUT" | head -n 20; return 1; }; }
out_has() { grep -qF -- "$1" <<<"$OUT" || { echo "  no '$1' in:"; echo "$OUT" | head -n 30; return 1; }; }
# json EXPR: a Python expression over the --json reply `j`.
json() { python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$OUT"; }
log_count() { grep -c -- "$1" "$DL_DAEMON_LOG" 2>/dev/null; }
log_grew() { (($(log_count "$1") > $2)); }
hup_and_wait() { # PATTERN
  local n
  n=$(log_count "$1")
  kill -HUP "$DL_DAEMON_PID"
  dl_wait 50 log_grew "$1" "$n"
}

# --- before the start ---------------------------------------------------------
status --config "$CFG"
check "not started: exit 3" rc_is 3
check "not started: says not running and names the socket" \
  out_has "flightwall is not running (no control socket at $SOCK)"
status --socket "$SOCK" --json
check "not started: --json exit 3" rc_is 3
check "not started: --json says running false" equals False "$(json 'j["running"]')"

# --- running ------------------------------------------------------------------
if ! dl_start_daemon "$CFG" status; then
  echo "FAIL: flightwall run reaches READY"
  echo "$PASSED passed, $((FAILED + 1)) failed"
  exit 1
fi
check "running: the control socket exists with mode 0660" equals 660 "$(stat -c %a "$SOCK" 2>&1)"
check "running: the control socket is a socket" test -S "$SOCK"

sha=$("$FLIGHTWALL" check --policy "$POLICY" | sed -n 's/^sha256: //p')
status --config "$CFG"
check "running: exit 0" rc_is 0
check "running: summary says running and ok" out_has "flightwall is running: ok"
check "running: summary names the policy and mode" out_has "daemon-lab-status (enforce)"
check "running: summary carries check's sha256 ($sha)" out_has "sha256 $sha"
check "running: summary lists queue 0" out_has "queue        0:"
check "running: summary names the event log" out_has "$DL_DIR/events.jsonl"

status --socket "$SOCK" --json
check "json: exit 0" rc_is 0
check "json: parses with python3 -m json.tool" python3 -m json.tool <<<"$OUT" >/dev/null
if command -v jq >/dev/null; then
  check "json: parses with jq" jq -e .running <<<"$OUT" >/dev/null
fi
check "json: running true" equals True "$(json 'j["running"]')"
check "json: state ok" equals ok "$(json 'j["state"]')"
check "json: pid is the daemon's" equals "$DL_DAEMON_PID" "$(json 'j["pid"]')"
check "json: policy name" equals daemon-lab-status "$(json 'j["policy"]["name"]')"
check "json: policy sha256 matches flightwall check" equals "$sha" "$(json 'j["policy"]["sha256"]')"
check "json: mode enforce" equals enforce "$(json 'j["policy"]["mode"]')"
check "json: intercept forward/iptables" equals forward/iptables \
  "$(json 'j["intercept"]["mode"] + "/" + j["intercept"]["backend"]')"
check "json: queues [0]" equals "[0]" "$(json '[q["queue"] for q in j["queues"]]')"
check "json: config path" equals "$CFG" "$(json 'j["config"]')"

# An allowed fetch and a denied upload; the denial reaches last_denials (the
# main loop publishes twice a second: poll, bounded).
check "allowed fetch works" dl_fetch_ok a.tiles.mapbox.com
check "denied upload is refused" equals 000 "$(dl_fetch flightlog.dji.com /upload --data x=1)"
denied_listed() {
  status --socket "$SOCK" --json
  [[ "$(json 'any(d["hostname"] == "flightlog.dji.com" for d in j["last_denials"])')" == True ]]
}
check "json: the denial of flightlog.dji.com is in last_denials (within 5 s)" dl_wait 50 denied_listed
# The name is denied at its DNS question (never answered), so that is the denial.
check "json: the denial is the DNS question, app tablet, with a reason" equals "dns tablet 53 True" \
  "$(json '" ".join(str(x) for x in next(([d["event"], d["app"], d["dport"], bool(d["reason"])] for d in j["last_denials"] if d["hostname"] == "flightlog.dji.com"), ["none"]))')"
# A hard-coded address (no name): a denied flow with its destination.
dl_c curl -s -o /dev/null --max-time 3 http://203.0.113.77:8443/ >/dev/null 2>&1
flow_listed() {
  status --socket "$SOCK" --json
  [[ "$(json 'any(d["dst"] == "203.0.113.77" and d["dport"] == 8443 and d["event"] == "flow" for d in j["last_denials"])')" == True ]]
}
check "json: the denied flow to 203.0.113.77:8443 is in last_denials" dl_wait 50 flow_listed
check "json: denials are newest first (the flow before the DNS question)" equals 203.0.113.77 \
  "$(json 'j["last_denials"][0]["dst"]')"
check "json: accepted packets counted" test "$(json 'j["packets"]["accepted"]')" -gt 0
check "json: event log lines written" test "$(json 'j["event_log"]["lines_written"]')" -gt 0
status --socket "$SOCK"
check "summary: the denial is listed with its host" out_has "flightlog.dji.com"
# shellcheck disable=SC2001 # one prefix per line, not one substitution
sed 's/^/  | /' <<<"$OUT"  # what an operator sees, for the log

# --- a silent client does not block the next one ------------------------------
python3 - "$SOCK" "$DL_DIR/silent.ready" >"$DL_DIR/silent.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
open(sys.argv[2], "w").close()
s.settimeout(8)
try:
    data = s.recv(1)  # the daemon closes on us: b""
    print("closed" if data == b"" else "data")
except socket.timeout:
    print("still open")
PY
silent=$!
check "silent client connected" dl_wait 50 test -e "$DL_DIR/silent.ready"
t0=$(date +%s%N)
status --socket "$SOCK"
t1=$(date +%s%N)
check "with a silent client connected, status still answers (exit 0)" rc_is 0
check "and within 3 s ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 3000
wait "$silent"
check "the silent client was cut off by the daemon" equals closed "$(cat "$DL_DIR/silent.out")"

# --- degraded: a failed reload, then audit mode -------------------------------
cp "$POLICY" "$DL_DIR/policy.good"
printf 'version: 1\nname: broken\nallow:\n  - name: [unclosed\n' >"$POLICY"
check "broken policy: SIGHUP logs 'reload failed'" hup_and_wait "reload failed"
reload_failed_shown() {
  status --socket "$SOCK"
  [[ $RC == 1 ]] && grep -qF "DEGRADED: the last policy reload failed" <<<"$OUT"
}
check "failed reload: status exits 1 and says why (within 5 s)" dl_wait 50 reload_failed_shown
status --socket "$SOCK" --json
check "failed reload: json state degraded, reload.last failed" equals "degraded failed" \
  "$(json 'j["state"] + " " + j["reload"]["last"]')"
cp "$DL_DIR/policy.good" "$POLICY"
check "good policy: SIGHUP reloads" hup_and_wait "reloaded policy 'daemon-lab-status'"
ok_again() { status --socket "$SOCK"; [[ $RC == 0 ]]; }
check "good reload: status exits 0 again" dl_wait 50 ok_again
dl_write_policy "$POLICY" audit "" daemon-lab-status-audit
check "audit policy: SIGHUP reloads" hup_and_wait "reloaded policy 'daemon-lab-status-audit'"
audit_shown() {
  status --socket "$SOCK"
  [[ $RC == 1 ]] && grep -qF "daemon-lab-status-audit (audit)" <<<"$OUT" &&
    grep -qF "DEGRADED: policy mode is audit" <<<"$OUT"
}
check "audit mode: status exits 1 and says so" dl_wait 50 audit_shown

# --- usage errors -------------------------------------------------------------
status --socket "$SOCK" --config "$CFG"
check "usage: --socket with --config exits 2" rc_is 2
printf 'policy: %s\ncontrol:\n  socket: relative.sock\n' "$POLICY" >"$DL_DIR/bad.yaml"
status --config "$DL_DIR/bad.yaml"
check "usage: a config with a relative control.socket exits 2" rc_is 2
check "usage: the error names the file and line" out_has "$DL_DIR/bad.yaml:3"

# --- stopped ------------------------------------------------------------------
dl_stop_daemon TERM
check "stop: the daemon exited 0" equals 0 "$DL_DAEMON_RC"
check "stop: the control socket file is gone" dl_not test -e "$SOCK"
status --config "$CFG"
check "stopped: exit 3" rc_is 3
check "stopped: says not running" out_has "flightwall is not running (no control socket at $SOCK)"
status --socket "$SOCK" --json
check "stopped: --json exit 3 and running false" equals "3 False" "$RC $(json 'j["running"]')"
check "root namespace netfilter state unchanged" dl_root_unchanged

dl_summary
