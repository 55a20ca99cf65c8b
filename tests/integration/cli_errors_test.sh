#!/usr/bin/env bash
# Operator-facing errors of the CLI: exit code 2 and a message that names the
# file (and line:column for policies) and says what to do. Never a crash.
set -uo pipefail
SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
FW="${FLIGHTWALL:-$SRC/build/daemon/flightwall}"
POLICY="$SRC/tests/data/lab/lab-policy.yaml"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# shellcheck source-path=SCRIPTDIR source=lib/check.sh
source "$SRC/tests/integration/lib/check.sh"

expect() { # expect DESC WANT_RC PATTERN CMD...
  local desc="$1" want="$2" pattern="$3"
  shift 3
  "$@" >"$WORK/out" 2>&1
  local rc=$?
  if [[ $rc -eq $want ]] && grep -qE -- "$pattern" "$WORK/out"; then
    ok "$desc"
  else
    bad "$desc (exit $rc, wanted $want and /$pattern/):"
    sed 's/^/    /' "$WORK/out" | head -20
  fi
}

cat >"$WORK/typo.yaml" <<'Y'
version: 1
name: typo
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolver: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com]
Y
cat >"$WORK/badcidr.yaml" <<'Y'
version: 1
name: bad
flight_apps:
  - name: tablet
    sources: [192.0.2.1/24]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: tiles
    hosts: [api.mapbox.com]
Y
cat >"$WORK/limits.yaml" <<Y
policy: $POLICY
limits:
  stream_buffers: 16
  quic_parsers: 8
Y
cat >"$WORK/badlimits.yaml" <<Y
policy: $POLICY
limits:
  stream_buffers: 16
  stream_buffer_bytes: 64kb
Y
cat >"$WORK/badlisten.yaml" <<Y
policy: $POLICY
metrics:
  listen: "localhost:9714"
Y
printf 'not a capture at all\n' >"$WORK/garbage.pcap"
head -c 100 "$SRC/tests/data/lab/leaky.pcap" >"$WORK/cut.pcap"

expect "check: valid policy" 0 "policy: local-data-mode-lab" "$FW" check --policy "$POLICY"
expect "check: shipped default policy" 0 "policy: local-data-mode" "$FW" check --policy "$SRC/rules/local-data-mode.yaml"
expect "check: unknown key with did-you-mean" 2 "typo.yaml:7:3: .*resolvers" "$FW" check --policy "$WORK/typo.yaml"
expect "check: bad CIDR names file:line:column" 2 "badcidr.yaml:5:[0-9]+: .*network address" "$FW" check --policy "$WORK/badcidr.yaml"
expect "check --config: the limits" 0 "limits: .*stream_buffers=16 .*quic_parsers=8 " "$FW" check --config "$WORK/limits.yaml"
expect "check --config: the memory they imply" 0 "memory bound: [0-9.]+ MiB" "$FW" check --config "$WORK/limits.yaml"
expect "check --config: a unit in a number names file:line:column" 2 "badlimits.yaml:4:[0-9]+: 'stream_buffer_bytes' must be a whole number" "$FW" check --config "$WORK/badlimits.yaml"
expect "check --config: a metrics address names file:line:column" 2 "badlisten.yaml:3:[0-9]+: 'listen' must be one numeric address and port" "$FW" check --config "$WORK/badlisten.yaml"
expect "check: --policy or --config is required" 2 "policy or --config" "$FW" check
expect "check: missing policy file" 2 "nothere.yaml" "$FW" check --policy "$WORK/nothere.yaml"
expect "audit: broken policy" 2 "typo.yaml:7:3" "$FW" audit --policy "$WORK/typo.yaml" "$SRC/tests/data/lab/leaky.pcap"
expect "audit: missing capture" 2 "missing.pcap" "$FW" audit --policy "$POLICY" "$WORK/missing.pcap"
expect "audit: not a capture" 2 "garbage.pcap.*not a pcap or pcapng" "$FW" audit --policy "$POLICY" "$WORK/garbage.pcap"
expect "audit: truncated capture is used up to the cut, with a warning" 3 "warning: .*cut.pcap.*truncated" "$FW" audit --policy "$POLICY" "$WORK/cut.pcap"
expect "audit: truncated capture is inconclusive and says where" 3 "evidence problem: truncated-file: .*cut.pcap: after packet" "$FW" audit --policy "$POLICY" "$WORK/cut.pcap"
expect "audit: --live and capture files together" 2 "excludes" "$FW" audit --policy "$POLICY" --live lo "$SRC/tests/data/lab/tiles-only.pcap"
expect "audit: --duration needs a unit" 2 "duration|DURATION" "$FW" audit --policy "$POLICY" --live lo --duration 30
expect "audit: --write needs --live" 2 "live" "$FW" audit --policy "$POLICY" --write "$WORK/x.pcap" "$SRC/tests/data/lab/tiles-only.pcap"
expect "audit: unwritable report path" 2 "cannot write" "$FW" audit --policy "$POLICY" --report-json /nonexistent/dir/r.json "$SRC/tests/data/lab/tiles-only.pcap"
expect "audit: bad --vantage" 2 "vantage" "$FW" audit --policy "$POLICY" --vantage moon "$SRC/tests/data/lab/tiles-only.pcap"
expect "audit: no capture given" 2 "captures" "$FW" audit --policy "$POLICY"
expect "unknown command" 2 "" "$FW" frobnicate
summary
