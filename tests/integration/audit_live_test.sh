#!/usr/bin/env bash
# `flightwall audit --live`: flightwall captures by itself (libpcap, no
# tcpdump) on the gateway of the daemon lab while a real client fetches map
# tiles by name (dnsmasq, nginx, curl) and, in one session, uploads to a
# denied name. Checks:
#   - stopped by SIGINT (or SIGTERM, or --duration), the live audit gives the
#     same verdict, exit code and attempts as `flightwall audit` of the file
#     it wrote (--write, also when rotated into several files);
#   - drops forced in the kernel's capture buffer (a small --buffer-kb and
#     the audit stopped with SIGSTOP while 2 MiB pass) make it inconclusive
#     (exit 3) with the drops in the report;
#   - the written file cut short is inconclusive (exit 3);
#   - a capture without one flight-app packet is inconclusive (exit 3).
# Safety: everything runs in the lab's own namespaces (lib/daemon_lab.sh);
# documentation addresses only; every wait is bounded. Exit 77 (skip)
# without root or a tool.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_test_up audit_live_test "fal$$"
POLICY="$DL_DIR/policy.yaml"
dl_write_policy "$POLICY" enforce
LIVE_PID=""

# live_start NAME [ARGS...]: `flightwall audit --live lan0` in the gateway,
# writing $DL_DIR/NAME.{pcap,json}; returns once it said it is capturing.
live_start() {
  local name="$1"
  shift
  ip netns exec "$DL_NS_G" "$FLIGHTWALL" audit --policy "$POLICY" --live lan0 \
    --write "$DL_DIR/$name.pcap" --report-json "$DL_DIR/$name.json" \
    --junit "$DL_DIR/$name.xml" "$@" >"$DL_DIR/$name.out" 2>"$DL_DIR/$name.err" &
  LIVE_PID=$!
  dl_wait 100 grep -q "capturing on lan0" "$DL_DIR/$name.err"
}

# live_wait NAME: waits (at most 20 s) for the live audit to end; LIVE_RC.
live_wait() {
  if ! dl_wait 200 eval "! kill -0 $LIVE_PID"; then
    echo "  live audit $1 did not stop; killing it"
    kill -KILL "$LIVE_PID" 2>/dev/null
  fi
  wait "$LIVE_PID"
  LIVE_RC=$?
}

# file_audit NAME FILES...: `flightwall audit` of what the live audit wrote.
file_audit() {
  local name="$1"
  shift
  "$FLIGHTWALL" audit --policy "$POLICY" --report-json "$DL_DIR/$name.file.json" -q "$@" \
    >"$DL_DIR/$name.file.out" 2>&1
  FILE_RC=$?
}

json_true() { [[ "$(json "$@")" == True ]]; }
json() { # json FILE PYTHON_EXPR_ON_r
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# The attempts of two reports, as sets of (dst, port, host, reason, leaked).
same_attempts() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def keys(p):
    return sorted((f["dst"], f["dport"], f["hostname"], f["reason"], f["leaked"])
                  for f in json.load(open(p))["attempts"])
a, b = keys(sys.argv[1]), keys(sys.argv[2])
if a != b:
    print(f"  live {a}\n  file {b}")
sys.exit(a != b)
PY
}

# 1. A leaky session stopped by SIGINT: live == file audit, exit 1.
check "leaky: live audit started" live_start leaky
check "leaky: allowed tile fetched by name" dl_fetch_ok a.tiles.mapbox.com
check "leaky: upload to the denied name answered" \
  dl_fetch_ok "$DL_CDN_DENIED" /upload -X POST --data 'flight log'
kill -INT "$LIVE_PID"
live_wait leaky
check "leaky: live audit exits 1 (leak)" equals 1 "$LIVE_RC"
check "leaky: live verdict leak" equals leak "$(json "$DL_DIR/leaky.json" 'r["verdict"]')"
check "leaky: live report names the denied host" \
  grep -q "\"hostname\": \"$DL_CDN_DENIED\"" "$DL_DIR/leaky.json"
check "leaky: live report has the capture statistics" \
  equals "lan0 0 0" "$(json "$DL_DIR/leaky.json" \
    'r["capture"]["interface"]+" "+str(r["capture"]["dropped_kernel"])+" "+str(r["capture"]["dropped_interface"])')"
file_audit leaky "$DL_DIR/leaky.pcap"
check "leaky: file audit of the written capture exits 1 too" equals 1 "$FILE_RC"
check "leaky: same verdict" equals "$(json "$DL_DIR/leaky.json" 'r["verdict"]')" \
  "$(json "$DL_DIR/leaky.file.json" 'r["verdict"]')"
check "leaky: same attempts and leaks" same_attempts "$DL_DIR/leaky.json" "$DL_DIR/leaky.file.json"
check "leaky: same packet count" equals "$(json "$DL_DIR/leaky.json" 'r["counters"]["packets"]')" \
  "$(json "$DL_DIR/leaky.file.json" 'r["counters"]["packets"]')"

# 2. A clean session stopped by SIGTERM, written in rotated files.
check "clean: live audit started" live_start clean --rotate-mb 1
check "clean: tile fetched by name" dl_fetch_ok a.tiles.mapbox.com
check "clean: 2 MiB from the tile server" dl_fetch_ok a.tiles.mapbox.com /slow.bin
kill -TERM "$LIVE_PID"
live_wait clean
check "clean: live audit exits 0" equals 0 "$LIVE_RC"
check "clean: live verdict clean" equals clean "$(json "$DL_DIR/clean.json" 'r["verdict"]')"
mapfile -t CLEAN_FILES < <(json "$DL_DIR/clean.json" '"\n".join(r["capture"]["files"])')
check "clean: rotated into several files" test "${#CLEAN_FILES[@]}" -ge 2
check "clean: the first file is the --write path" equals "$DL_DIR/clean.pcap" "${CLEAN_FILES[0]}"
file_audit clean "${CLEAN_FILES[@]}"
check "clean: file audit of the rotated files exits 0" equals 0 "$FILE_RC"
check "clean: same verdict" equals clean "$(json "$DL_DIR/clean.file.json" 'r["verdict"]')"
check "clean: same packet count" equals "$(json "$DL_DIR/clean.json" 'r["counters"]["packets"]')" \
  "$(json "$DL_DIR/clean.file.json" 'r["counters"]["packets"]')"

# 3. The written capture cut short: inconclusive.
head -c $(($(stat -c %s "$DL_DIR/clean.pcap") - 10)) "$DL_DIR/clean.pcap" >"$DL_DIR/cut.pcap"
file_audit cut "$DL_DIR/cut.pcap"
check "cut file: exit 3 (inconclusive)" equals 3 "$FILE_RC"
check "cut file: verdict inconclusive" equals inconclusive "$(json "$DL_DIR/cut.file.json" 'r["verdict"]')"
check "cut file: the problem is the truncated file" equals truncated-file \
  "$(json "$DL_DIR/cut.file.json" 'r["evidence_problems"][0]["kind"]')"

# 4. Drops forced: a 64 KiB capture buffer, the audit stopped while 2 MiB pass.
check "drops: live audit started" live_start drops --buffer-kb 64
kill -STOP "$LIVE_PID"
check "drops: 2 MiB fetched while the audit is stopped" dl_fetch_ok a.tiles.mapbox.com /slow.bin
kill -CONT "$LIVE_PID"
kill -INT "$LIVE_PID"
live_wait drops
check "drops: exit 3 (inconclusive)" equals 3 "$LIVE_RC"
check "drops: verdict inconclusive" equals inconclusive "$(json "$DL_DIR/drops.json" 'r["verdict"]')"
check "drops: kernel drops in the report" \
  json_true "$DL_DIR/drops.json" 'r["capture"]["dropped_kernel"] > 0'
check "drops: capture-drops named as the reason" \
  json_true "$DL_DIR/drops.json" '"capture-drops" in r["evidence_problem_counts"]'
check "drops: JUnit has an error testcase for it" \
  grep -q '<testcase classname="flightwall.evidence" name="capture-drops">' "$DL_DIR/drops.xml"

# 5. --duration ends the capture by itself; nothing of the app: inconclusive.
check "quiet: live audit started" live_start quiet --duration 2s
live_wait quiet
check "quiet: ended by --duration with exit 3 (no flight-app traffic)" equals 3 "$LIVE_RC"
check "quiet: the reason is no flight-app traffic" \
  json_true "$DL_DIR/quiet.json" '"no-flight-app-traffic" in r["evidence_problem_counts"]'

dl_finish
