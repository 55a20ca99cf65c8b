#!/usr/bin/env bash
# The HTML audit report in a real browser (issue 11): `flightwall audit
# --report-html` of the committed lab captures (leaky.pcap: leak,
# tiles-only.pcap: clean, a truncated copy: inconclusive) is opened as a
# file:// URL by headless Chromium inside a network namespace that has only
# loopback. From Chromium's own output it asserts, per report:
#  - no console message at all (the report has no scripts, so any message,
#    "Uncaught ..." included, is a fault);
#  - the DOM Chromium built shows the JSON report's verdict, counts,
#    destinations and violations (check_report_render.py dom);
#  - the page asked the network for nothing (Chromium's net log; the file
#    names no external resource either);
#  - a screenshot is a PNG of the window size, > 20 KB, with the verdict
#    box painted in its verdict colour.
# A control page with a script error and an external image must fail the same
# checks, so they are shown to detect what they claim to.
#
# The README's screenshot is this test's screenshot of the leaky report;
# regenerate it, as root from the repository root, with
#   FW_REPORT_SCREENSHOT=docs/audit-report.png bash tests/integration/report_html_chromium_test.sh
set -uo pipefail
SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# shellcheck source=tests/integration/lib/daemon_lab.sh
source "$SRC/tests/integration/lib/daemon_lab.sh"
# shellcheck source=tests/integration/lib/check.sh
source "$SRC/tests/integration/lib/check.sh"
CHECK=(python3 "$SRC/tests/integration/check_report_render.py")
POLICY=tests/data/lab/lab-policy.yaml
W=1280
H=1600

if [[ $EUID -ne 0 ]]; then
  echo "SKIP: report_html_chromium_test needs root (a network namespace without network)"
  exit 77
fi
for t in chromium ip python3 timeout; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: report_html_chromium_test needs '$t' (chromium is the Debian package chromium; run scripts/setup)"
    exit 77
  fi
done
if ! dl_find_flightwall; then
  echo "SKIP: report_html_chromium_test needs the flightwall binary (set FLIGHTWALL or build it)"
  exit 77
fi

NS="fwhtml$$"
WORK=$(mktemp -d)
cleanup() {
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
if ! ip netns add "$NS" 2>/dev/null; then
  echo "SKIP: report_html_chromium_test cannot create network namespaces here"
  exit 77
fi
ip -n "$NS" link set lo up

# chromium_in_ns OUT_PREFIX MODE URL: MODE is dom (DOM on OUT.dom, net log
# OUT.netlog.json) or shot (OUT.png). Console messages go to OUT.MODE.err.
chromium_in_ns() {
  local out="$1" mode="$2" url="$3" profile
  profile=$(mktemp -d "$WORK/profile.XXXX")
  local flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
    --disable-component-update --disable-sync --user-data-dir="$profile" --enable-logging=stderr --v=0)
  if [[ $mode == dom ]]; then
    ip netns exec "$NS" timeout 60 chromium "${flags[@]}" --log-net-log="$out.netlog.json" \
      --virtual-time-budget=5000 --dump-dom "$url" >"$out.dom" 2>"$out.dom.err"
  else
    # No virtual time budget here: with it, this Chromium (156) left the lower
    # part of the window blank; --run-all-compositor-stages-before-draw paints
    # all of it before the shot.
    ip netns exec "$NS" timeout 60 chromium "${flags[@]}" --hide-scrollbars \
      --run-all-compositor-stages-before-draw --window-size="$W,$H" --screenshot="$out.png" \
      "$url" >/dev/null 2>"$out.shot.err"
  fi
}
console_messages() { grep -hE ':CONSOLE|Uncaught' "$@"; }
quiet_console() { ! console_messages "$@" >/dev/null; }
png_bytes() { stat -c %s "$1" 2>/dev/null || echo 0; }

check "the browser's namespace has loopback only and no route" \
  bash -c "[[ \$(ip -n $NS -o link show | grep -vc ': lo:') == 0 && -z \$(ip -n $NS route show) && -z \$(ip -n $NS -6 route show | grep -v '^::1 ') ]]"

# audit_report NAME CAPTURE WANT_RC: the reports, from the repository root so
# they name the committed files by relative path (as in the README shot).
audit_report() {
  local name="$1" capture="$2" want="$3" rc
  (cd "$SRC" && "$FLIGHTWALL" audit --policy "$POLICY" --report-html "$WORK/$name.html" \
    --report-json "$WORK/$name.json" -q "$capture") >"$WORK/$name.audit.log" 2>&1
  rc=$?
  check "$name: audit exits $want (got $rc)" test "$rc" -eq "$want"
}
head -c 30001 "$SRC/tests/data/lab/tiles-only.pcap" >"$WORK/truncated.pcap"
audit_report leak tests/data/lab/leaky.pcap 1
audit_report clean tests/data/lab/tiles-only.pcap 0
audit_report inconclusive "$WORK/truncated.pcap" 3

t0=$(date +%s)
for verdict in leak clean inconclusive; do
  html="$WORK/$verdict.html" out="$WORK/$verdict"
  if [[ ! -s $html ]]; then
    check "$verdict: the audit wrote an HTML report" false
    continue
  fi
  check "$verdict: JSON verdict is $verdict" \
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["verdict"] != sys.argv[2])' \
    "$WORK/$verdict.json" "$verdict"
  check "$verdict: the file names no external resource" "${CHECK[@]}" static "$html"
  chromium_in_ns "$out" dom "file://$html"
  check "$verdict: chromium dumped the DOM ($(wc -c <"$out.dom") bytes)" test -s "$out.dom"
  check "$verdict: no console message or script error" quiet_console "$out.dom.err"
  check "$verdict: the rendered DOM shows the verdict and the JSON report's findings" \
    "${CHECK[@]}" dom "$out.dom" "$WORK/$verdict.json"
  check "$verdict: the page made no network request (net log)" "${CHECK[@]}" netlog "$out.netlog.json"
  chromium_in_ns "$out" shot "file://$html"
  check "$verdict: screenshot is > 20 KB ($(png_bytes "$out.png") bytes)" \
    test "$(png_bytes "$out.png")" -gt 20480
  check "$verdict: screenshot is ${W}x${H} with the verdict box painted" \
    "${CHECK[@]}" png "$out.png" "$W" "$H" "$verdict"
  check "$verdict: no console message while painting" quiet_console "$out.shot.err"
done
t1=$(date +%s)
echo "chromium: 6 runs in $((t1 - t0)) s"

# The control: the same checks must catch a script error and an external
# resource (a documentation address; the namespace has no route to it).
cat >"$WORK/control.html" <<'HTML'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>control</title></head><body>
<div class="verdict clean"><b>PASS: control</b></div>
<img src="http://192.0.2.1/pixel.png" alt="">
<script>no_such_function();</script>
</body></html>
HTML
chromium_in_ns "$WORK/control" dom "file://$WORK/control.html"
check "control: a script error is reported ($(console_messages "$WORK/control.dom.err" | head -n 1 | cut -c1-120))" \
  grep -q 'Uncaught ReferenceError' "$WORK/control.dom.err"
check "control: the net log shows the page's external request" \
  dl_not "${CHECK[@]}" netlog "$WORK/control.netlog.json"
check "control: the static check finds the external resource" \
  dl_not "${CHECK[@]}" static "$WORK/control.html"

if [[ -n ${FW_REPORT_SCREENSHOT:-} && -s $WORK/leak.png ]]; then
  cp "$WORK/leak.png" "$FW_REPORT_SCREENSHOT" && echo "screenshot of the leak report: $FW_REPORT_SCREENSHOT"
fi

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
