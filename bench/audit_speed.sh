#!/usr/bin/env bash
# How fast `flightwall audit` reads a large capture, next to tshark
# extracting the same names (DNS question, TLS SNI, HTTP Host) from the same
# file, in one run. Prints packets/s and MB/s of each. Not a test.
#
#   bench/audit_speed.sh [--size-mb N] [--repeat R] [--keep]
#
# The capture is tests/data/lab/leaky.pcap repeated (doubled with editcap
# time shifts and mergecap -a, so time only moves forward and every copy's
# DNS answers attest its own connections) to about N MB (default 150) in a
# temporary directory. Each tool runs R times (default 2) on a warm page
# cache; the best wall time is reported. Needs mergecap, editcap, capinfos,
# tshark and a flightwall binary (FLIGHTWALL, or build-bench/build).
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE_MB=150
REPEAT=2
KEEP=0
while (($#)); do
  case "$1" in
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--size-mb N] [--repeat R] [--keep]" >&2; exit 2 ;;
  esac
done

for t in mergecap editcap capinfos tshark; do
  command -v "$t" >/dev/null || { echo "audit_speed: needs $t (wireshark-common/tshark)" >&2; exit 2; }
done
if [[ -z "${FLIGHTWALL:-}" ]]; then
  for b in build-bench build; do
    [[ -x "$SRC/$b/daemon/flightwall" ]] && FLIGHTWALL="$SRC/$b/daemon/flightwall" && break
  done
fi
[[ -x "${FLIGHTWALL:-}" ]] || { echo "audit_speed: set FLIGHTWALL or build flightwall" >&2; exit 2; }

WORK=$(mktemp -d /tmp/flightwall-audit-bench.XXXXXX)
cleanup() { if ((KEEP)); then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

BASE="$SRC/tests/data/lab/leaky.pcap"
POLICY="$SRC/tests/data/lab/lab-policy.yaml"
# Capture duration in whole seconds + 1: the shift between copies.
dur=$(capinfos -u -M "$BASE" | awk -F: '/Capture duration/ { gsub(/[^0-9.]/, "", $2); print int($2) + 1 }')
cp "$BASE" "$WORK/cur.pcap"
shift_s=$dur
while (($(stat -c %s "$WORK/cur.pcap") < SIZE_MB * 1024 * 1024)); do
  editcap -t "$shift_s" "$WORK/cur.pcap" "$WORK/shifted.pcap"
  mergecap -a -F pcap -w "$WORK/next.pcap" "$WORK/cur.pcap" "$WORK/shifted.pcap"
  mv "$WORK/next.pcap" "$WORK/cur.pcap"
  shift_s=$((shift_s * 2))
done
rm -f "$WORK/shifted.pcap"
BIG="$WORK/big.pcap"
mv "$WORK/cur.pcap" "$BIG"
bytes=$(stat -c %s "$BIG")
packets=$(capinfos -c -M "$BIG" | awk -F: '/Number of packets/ { gsub(/[^0-9]/, "", $2); print $2 }')
copies=$((bytes / $(stat -c %s "$BASE")))
cat "$BIG" >/dev/null # warm the page cache for both tools alike

# best_of CMD...: runs CMD REPEAT times; prints the best wall time (s) and
# the max RSS (KB) of that run. CMD's stdout goes to $WORK/out.
best_of() {
  local best="" rss="" i t m
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || true
    # Last line: /usr/bin/time first notes "Command exited with non-zero
    # status 1" (audit exits 1 on the capture's leaks).
    read -r t m < <(tail -n 1 "$WORK/time") || true
    if [[ -z "$best" ]] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$t
      rss=$m
    fi
  done
  echo "$best $rss"
}

line() { # NAME SECONDS RSS_KB
  awk -v n="$1" -v s="$2" -v r="$3" -v p="$packets" -v b="$bytes" 'BEGIN {
    printf "%-44s %8.2f s %12.0f pkt/s %8.1f MB/s %8.0f MB RSS\n", n, s, p / s, b / 1e6 / s, r / 1024 }'
}

echo "audit_speed: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "capture: leaky.pcap x$copies = $packets packets, $((bytes / 1000000)) MB ($BIG)"
echo "best of $REPEAT run(s) each:"

read -r t_audit rss_audit < <(best_of "$FLIGHTWALL" audit --policy "$POLICY" --quiet "$BIG")
audit_err=$(head -c 300 "$WORK/err")
read -r t_events rss_events < <(best_of "$FLIGHTWALL" audit --policy "$POLICY" --quiet \
  --events "$WORK/events.jsonl" --report-json "$WORK/report.json" "$BIG")
events=$(grep -c . "$WORK/events.jsonl" || true)
read -r t_tshark rss_tshark < <(best_of tshark -r "$BIG" -n -T fields -e dns.qry.name \
  -e tls.handshake.extensions_server_name -e http.host)
names=$(grep -c '[a-z]' "$WORK/out" || true)

line "flightwall audit --quiet" "$t_audit" "$rss_audit"
line "flightwall audit --events --report-json" "$t_events" "$rss_events"
line "tshark -T fields (dns/sni/host)" "$t_tshark" "$rss_tshark"
echo "flightwall wrote $events event lines; tshark printed $names lines with a name"
awk -v a="$t_audit" -v t="$t_tshark" 'BEGIN { printf "flightwall audit is %.1fx tshark on this capture\n", t / a }'
[[ -z "$audit_err" ]] || echo "flightwall audit stderr (first bytes): $audit_err"
