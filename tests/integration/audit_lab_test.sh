#!/usr/bin/env bash
# `flightwall audit` on local-data-mode sessions recorded with real clients in
# the namespace lab (scripts/lab):
#  1. the committed captures tests/data/lab/{leaky,tiles-only}.pcap;
#  2. as root, sessions recorded afresh in a lab this test builds and removes
#     (nginx's access log is the independent witness that the uploads the
#     audit calls leaks really reached the vendor server).
# A leaky session must exit 1 with exactly the expected leaks and no tile
# flow among them; a tiles-only session must exit 0. Reports must be
# deterministic and the event log's hash chain intact.
set -uo pipefail
SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
FW="${FLIGHTWALL:-$SRC/build/daemon/flightwall}"
DATA="$SRC/tests/data/lab"
POLICY="$DATA/lab-policy.yaml"
CHECK="$SRC/tests/integration/check_audit_report.py"
WORK=$(mktemp -d)
FAILED=0
LAB_UP=0
cleanup() {
  if ((LAB_UP)); then "$SRC/scripts/lab" down >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
pass() { echo "PASS: $*"; }

verify_chain() { # the event log's hash chain, recomputed independently
  python3 - "$1" <<'PY'
import hashlib, json, sys
prev = ""
for n, line in enumerate(open(sys.argv[1]), 1):
    obj = json.loads(line)
    h = obj.pop("hash")
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if obj["prev"] != prev or hashlib.sha256((prev + "\n" + body).encode()).hexdigest() != h:
        print(f"chain broken at line {n}")
        sys.exit(1)
    prev = h
print(f"chain intact over {n} lines")
PY
}

audit_scenario() { # audit_scenario NAME CAPTURE EXPECTED_EXIT
  local name="$1" capture="$2" want="$3" out="$WORK/$1"
  mkdir -p "$out"
  "$FW" audit --policy "$POLICY" --report-json "$out/r1.json" --report-html "$out/r.html" \
    --junit "$out/j.xml" --events "$out/e1.jsonl" "$capture" >"$out/stdout" 2>&1
  local rc=$?
  if [[ $rc -eq $want ]]; then pass "$name: exit $rc"; else
    fail "$name: exit $rc, expected $want"; cat "$out/stdout"; fi
  if python3 "$CHECK" "$out/r1.json" "$DATA/${name%%@*}.expected.json"; then
    pass "$name: attempts and leaks are exactly the expected ones"
  else fail "$name: report differs from $DATA/${name%%@*}.expected.json"; fi
  "$FW" audit --policy "$POLICY" --report-json "$out/r2.json" --events "$out/e2.jsonl" -q \
    "$capture" >/dev/null 2>&1
  if cmp -s "$out/r1.json" "$out/r2.json" && cmp -s "$out/e1.jsonl" "$out/e2.jsonl"; then
    pass "$name: JSON report and events are byte-identical across runs"
  else fail "$name: output differs between two runs of the same input"; fi
  if verify_chain "$out/e1.jsonl"; then pass "$name: event hash chain"; else fail "$name: event hash chain"; fi
  if grep -q '<svg' "$out/r.html" && grep -q 'Evidence inputs' "$out/r.html" &&
     ! grep -qiE '<script|https?://[a-z]' <(grep -v 'xmlns=' "$out/r.html"); then
    pass "$name: HTML report is self-contained with its chart"
  else fail "$name: HTML report"; fi
  local leaks failures
  leaks=$(python3 -c 'import json,sys;print(len(json.load(open(sys.argv[1]))["leaks"]))' "$out/r1.json")
  failures=$(python3 -c 'import sys,xml.etree.ElementTree as E;r=E.parse(sys.argv[1]).getroot();print(r.get("failures"))' "$out/j.xml")
  if [[ ($leaks -eq 0 && $failures -eq 0) || ($leaks -gt 0 && $failures -gt 0) ]]; then
    pass "$name: JUnit shows $failures failing destination(s) for $leaks leak(s)"
  else fail "$name: JUnit failures=$failures but leaks=$leaks"; fi
}

# 1. Committed captures.
audit_scenario leaky "$DATA/leaky.pcap" 1
audit_scenario tiles-only "$DATA/tiles-only.pcap" 0
# Standard input gives the same findings.
"$FW" audit --policy "$POLICY" --report-json "$WORK/stdin.json" -q - <"$DATA/leaky.pcap" >/dev/null 2>&1
if python3 "$CHECK" "$WORK/stdin.json" "$DATA/leaky.expected.json" >/dev/null; then
  pass "capture on standard input"; else fail "capture on standard input"; fi
# --fail-on attempts turns attempts without leaks into failures; tiles-only has none.
"$FW" audit --policy "$POLICY" --fail-on attempts -q "$DATA/tiles-only.pcap" >/dev/null 2>&1
rc=$?
if [[ $rc -eq 0 ]]; then pass "--fail-on attempts on a clean session"
else fail "--fail-on attempts on a clean session (exit $rc)"; fi

# --baseline: the tiles-only session as the last app version's audit, the
# leaky one as the new version's: the vendor destinations are new.
"$FW" audit --policy "$POLICY" --report-json "$WORK/v1.json" -q "$DATA/tiles-only.pcap" >/dev/null 2>&1
"$FW" audit --policy "$POLICY" --baseline "$WORK/v1.json" --report-json "$WORK/v2.json" \
  --junit "$WORK/v2.xml" "$DATA/leaky.pcap" >"$WORK/v2.txt" 2>&1
rc=$?
if [[ $rc -eq 1 ]] && python3 - "$WORK/v2.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["baseline"]
added = {d["host"] for d in b["added"]}
more = {d["host"] for d in b["more_bytes"]}
sys.exit(0 if "flightlog.dji.com" in added and "a.tiles.mapbox.com" not in added
         and "a.tiles.mapbox.com" in more and not b["removed"] else 1)
PY
then pass "--baseline: the newer capture's vendor destinations are new (exit $rc)"
else fail "--baseline: new destinations (exit $rc)"; cat "$WORK/v2.txt"; fi
if grep -q '^  NEW     flightlog.dji.com \[flight-logs\]' "$WORK/v2.txt" &&
  grep -q 'testsuite name="changes since .*v1.json" .*failures="[1-9]' "$WORK/v2.xml"; then
  pass "--baseline: the summary and the JUnit suite list them"
else fail "--baseline: summary / JUnit"; fi
# The other way round: the vendor destinations are gone, nothing is new.
"$FW" audit --policy "$POLICY" --report-json "$WORK/v2only.json" -q "$DATA/leaky.pcap" >/dev/null 2>&1
"$FW" audit --policy "$POLICY" --baseline "$WORK/v2only.json" --report-json "$WORK/v3.json" -q \
  "$DATA/tiles-only.pcap" >/dev/null 2>&1
if python3 -c 'import json, sys
b = json.load(open(sys.argv[1]))["baseline"]
sys.exit(0 if not b["added"] and "flightlog.dji.com" in {d["host"] for d in b["removed"]} else 1)' \
  "$WORK/v3.json"; then pass "--baseline: destinations gone since"
else fail "--baseline: gone"; fi
"$FW" audit --policy "$POLICY" --baseline "$DATA/leaky.pcap" -q "$DATA/tiles-only.pcap" >"$WORK/bad.txt" 2>&1
rc=$?
if [[ $rc -eq 2 ]] && grep -q -- "--baseline .*leaky.pcap: not JSON" "$WORK/bad.txt"; then
  pass "--baseline: a capture given as baseline is refused with what to give (exit 2)"
else fail "--baseline: bad file (exit $rc): $(cat "$WORK/bad.txt")"; fi

# A campaign of two scenarios: idle (the tiles-only session) and flying (the
# leaky one), each audited on its own, compared in one report.
mkdir -p "$WORK/campaign"
"$FW" audit --policy "$POLICY" --scenario "idle=$DATA/tiles-only.pcap" \
  --scenario "flying=$DATA/leaky.pcap" --report-json "$WORK/campaign/c.json" \
  --report-html "$WORK/campaign/c.html" --junit "$WORK/campaign/c.xml" >"$WORK/campaign/c.txt" 2>&1
rc=$?
if [[ $rc -eq 1 ]] && python3 - "$WORK/campaign/c.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
verdicts = {s["name"]: s["verdict"] for s in c["scenarios"]}
rows = {r["host"]: r["scenarios"] for r in c["matrix"]}
log = rows.get("flightlog.dji.com", {})
tiles = rows.get("a.tiles.mapbox.com", {})
sys.exit(0 if c["verdict"] == "leak" and verdicts == {"idle": "clean", "flying": "leak"}
         and log.get("idle") is None and log["flying"]["leaks"] >= 1
         and log["flying"]["first_seen_s"] >= 0
         and tiles["idle"] and tiles["flying"] else 1)
PY
then pass "campaign: a verdict per scenario, leak overall, the upload only in 'flying' (exit $rc)"
else fail "campaign: verdicts and matrix (exit $rc)"; cat "$WORK/campaign/c.txt"; fi
if grep -q '<testsuite name="idle" ' "$WORK/campaign/c.xml" &&
  grep -q '<testsuite name="flying" .*failures="[1-9]' "$WORK/campaign/c.xml"; then
  pass "campaign: JUnit has one testsuite per scenario"
else fail "campaign: JUnit testsuites"; fi
if grep -q 'href="c-flying.html"' "$WORK/campaign/c.html" && [[ -s "$WORK/campaign/c-idle.html" ]] &&
  grep -q '<h1>Local data mode verification report</h1>' "$WORK/campaign/c-flying.html"; then
  pass "campaign: the HTML page links each scenario's full report"
else fail "campaign: HTML pages"; fi
# A campaign's baseline is compared scenario by scenario: the earlier
# release flew without uploading (tiles-only for both scenarios).
"$FW" audit --policy "$POLICY" --scenario "idle=$DATA/tiles-only.pcap" \
  --scenario "flying=$DATA/tiles-only.pcap" --report-json "$WORK/campaign/v1.json" -q >/dev/null 2>&1
"$FW" audit --policy "$POLICY" --scenario "idle=$DATA/tiles-only.pcap" \
  --scenario "flying=$DATA/leaky.pcap" --baseline "$WORK/campaign/v1.json" \
  --report-json "$WORK/campaign/v2.json" --junit "$WORK/campaign/v2.xml" -q >/dev/null 2>&1
if python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
b = {s["name"]: s["report"]["baseline"] for s in c["scenarios"]}
sys.exit(0 if not b["idle"]["added"]
         and "flightlog.dji.com" in {d["host"] for d in b["flying"]["added"]} else 1)' \
  "$WORK/campaign/v2.json" && grep -q '<testsuite name="flying: changes since .*v1.json" .*failures="[1-9]' \
  "$WORK/campaign/v2.xml"; then
  pass "campaign --baseline: new destinations only where the flight uploads, in JSON and JUnit"
else fail "campaign --baseline"; fi

# The same campaign from a campaign file, captures named relative to it.
ln -sf "$DATA/tiles-only.pcap" "$WORK/campaign/idle.pcap"
ln -sf "$DATA/leaky.pcap" "$WORK/campaign/flight.pcap"
cat >"$WORK/campaign/pilot.yaml" <<'Y'
app: lab app
version: "2.0"
device: lab tablet
scenarios:
  - name: idle
    description: the map open, no flight
    captures: [idle.pcap]
  - name: flying
    captures: [flight.pcap]
Y
(cd / && "$FW" audit --policy "$POLICY" --campaign "$WORK/campaign/pilot.yaml" \
  --report-json "$WORK/campaign/f.json" -q >/dev/null 2>&1)
rc=$?
if python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
m = c["campaign"]
sys.exit(0 if m["app"] == "lab app" and m["version"] == "2.0" and len(m["sha256"]) == 64
         and [s["name"] for s in c["scenarios"]] == ["idle", "flying"]
         and c["scenarios"][0]["description"] == "the map open, no flight"
         and c["verdict"] == "leak" else 1)' "$WORK/campaign/f.json" 2>/dev/null && [[ $rc -eq 1 ]]; then
  pass "campaign file: app, version, scenarios and captures beside the file (exit $rc)"
else fail "campaign file (exit $rc)"; fi
printf 'app: x\nscenarios:\n  - name: idle\n    capture: [idle.pcap]\n' >"$WORK/campaign/typo.yaml"
"$FW" audit --policy "$POLICY" --campaign "$WORK/campaign/typo.yaml" -q >"$WORK/campaign/typo.txt" 2>&1
rc=$?
if [[ $rc -eq 2 ]] && grep -q "typo.yaml:4:5: .*did you mean 'captures'" "$WORK/campaign/typo.txt"; then
  pass "campaign file: a typo is named with file:line:column (exit 2)"
else fail "campaign file typo (exit $rc): $(cat "$WORK/campaign/typo.txt")"; fi
"$FW" audit --policy "$POLICY" --scenario "idle=$DATA/tiles-only.pcap" --scenario "=x.pcap" -q \
  >"$WORK/campaign/bad.txt" 2>&1
rc=$?
if [[ $rc -eq 2 ]] && grep -q "NAME=CAPTURE" "$WORK/campaign/bad.txt"; then
  pass "campaign: a scenario without a name is refused (exit 2)"
else fail "campaign: bad --scenario (exit $rc)"; fi

# 2. Sessions recorded now, with real clients, in a lab of our own.
if [[ $EUID -ne 0 ]]; then
  echo "SKIP (part 2): recording a fresh session needs root for network namespaces"
else
  missing=""
  for t in ip dnsmasq nginx openssl curl dig tcpdump ping; do
    command -v "$t" >/dev/null 2>&1 || missing+=" $t"
  done
  if [[ -n $missing ]]; then
    echo "SKIP (part 2): missing tools:$missing (run scripts/setup)"
  else
    export FW_LAB_PREFIX="fwa$$"
    export FW_LAB_DIR="$WORK/lab"
    mkdir -p "$FW_LAB_DIR"
    if "$SRC/scripts/lab" up >"$WORK/lab-up.log" 2>&1; then
      LAB_UP=1
      for scenario in tiles-only leaky; do
        if "$SRC/scripts/lab" record "$scenario" "$WORK/live-$scenario.pcap" >"$WORK/rec-$scenario.log" 2>&1; then
          pass "recorded a live $scenario session"
        else fail "recording $scenario"; cat "$WORK/rec-$scenario.log"; fi
      done
      # Independent witness: the vendor server's own log saw the upload.
      if grep -q 'flightlog.dji.com' "$FW_LAB_DIR/logs/nginx-access.log" 2>/dev/null; then
        pass "nginx access log witnesses the flight-log upload the audit must flag"
      else fail "nginx access log has no flightlog.dji.com request"; fi
      "$SRC/scripts/lab" down >/dev/null 2>&1
      LAB_UP=0
      audit_scenario "tiles-only@live" "$WORK/live-tiles-only.pcap" 0
      audit_scenario "leaky@live" "$WORK/live-leaky.pcap" 1
    else
      fail "scripts/lab up"
      tail -20 "$WORK/lab-up.log"
    fi
  fi
fi

echo "audit_lab_test: $FAILED failure(s)"
[[ $FAILED -eq 0 ]]
