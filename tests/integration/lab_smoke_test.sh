#!/usr/bin/env bash
# Smoke test of the network lab (scripts/lab): builds a lab under its own
# prefix, checks DNS, HTTPS over IPv4 and IPv6 with the lab CA, the rogue
# resolver and a short recording, then checks `down` leaves nothing behind
# (namespaces, processes, /etc/netns, state dir) and that the root namespace
# was never touched. Exit 77 (skip) without root or a needed tool.
# The bash -c checks take their values as "$1"/"$2" on purpose.
# shellcheck disable=SC2016
set -uo pipefail

SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
LAB="$SRC/scripts/lab"

if [[ $EUID -ne 0 ]]; then
  echo "SKIP: lab_smoke_test needs root (network namespaces)"
  exit 77
fi
for t in ip dnsmasq nginx openssl curl dig tcpdump python3 ss; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: lab_smoke_test needs '$t' (run scripts/setup)"
    exit 77
  fi
done
if ! ip netns add "fwprobe$$" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here"
  exit 77
fi
ip netns del "fwprobe$$"

export FW_LAB_PREFIX="fwt$$"
export FW_LAB_DIR="/run/flightwall-lab/$FW_LAB_PREFIX"
WORK=$(mktemp -d)
LAB_UP=0

cleanup() {
  if ((LAB_UP)); then "$LAB" down >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/integration/lib/check.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/check.sh"

# The root namespace's links, addresses and routes that could be the lab's
# (its address ranges, its interface names). Other engineers' tests may
# change unrelated root-namespace state meanwhile, so only these are compared.
root_ns_state() {
  { ip -br link; ip -br addr; ip route; ip -6 route; } 2>/dev/null |
    grep -E '192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8:|^(lan0|wan0|srv0)' | sort
}

root_ns_state >"$WORK/root-before"

LAB_UP=1
if ! "$LAB" up 2>"$WORK/up.log"; then
  cat "$WORK/up.log"
  echo "FAIL: scripts/lab up"
  echo "0 passed, 1 failed"
  exit 1
fi
check "lab up and status reports up" "$LAB" status >/dev/null
check "root namespace links, addresses and routes unchanged by up" \
  diff "$WORK/root-before" <(root_ns_state)

tab() { "$LAB" exec tablet "$@"; }
CA="$FW_LAB_DIR/certs/ca.crt"

check "dig a.tiles.mapbox.com from the tablet -> 198.51.100.10" \
  equals 198.51.100.10 "$(tab dig +time=2 +tries=1 +short a.tiles.mapbox.com A)"
check "dig AAAA a.tiles.mapbox.com -> 2001:db8:100::10" \
  equals 2001:db8:100::10 "$(tab dig +time=2 +tries=1 +short a.tiles.mapbox.com AAAA)"
check "CNAME chain d.tiles.mapbox.com -> 198.51.100.40" \
  equals 198.51.100.40 "$(tab dig +time=2 +tries=1 +short d.tiles.mapbox.com A | tail -n1)"
check "unknown name is NXDOMAIN" \
  equals NXDOMAIN "$(tab dig +time=2 +tries=1 nosuch.example A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')"
check "rogue resolver 203.0.113.99 answers" \
  equals 198.51.100.99 "$(tab dig +time=2 +tries=1 +short @203.0.113.99 flightlog.dji.com A)"

fetch() { # fetch FAMILY URL: prints "http_code remote_ip"
  tab curl -sS "$1" --max-time 5 --cacert "$CA" -o "$WORK/tile" \
    -w '%{http_code} %{remote_ip}' "$2"
}
check "HTTPS tile over IPv4 with the lab CA" \
  equals "200 198.51.100.10" "$(fetch -4 https://a.tiles.mapbox.com/v4/mapbox.satellite/1/0/0.png)"
check "tile is a PNG of a few KB" \
  bash -c '[[ $(head -c 4 "$1" | od -An -tx1 | tr -d " ") == 89504e47 && $(stat -c %s "$1") -gt 1000 ]]' _ "$WORK/tile"
check "HTTPS tile over IPv6 with the lab CA" \
  equals "200 2001:db8:100::10" "$(fetch -6 https://tile.openstreetmap.org/1/0/0.png)"
check "vendor cloud accepts a POST" \
  equals "200 198.51.100.20" "$(tab curl -sS -4 --max-time 5 --cacert "$CA" -o /dev/null \
    -w '%{http_code} %{remote_ip}' --data-binary 'x=1' https://flightlog.dji.com/upload)"

check "record tiles-only writes a non-empty capture" \
  "$LAB" record tiles-only "$WORK/tiles.pcap" >"$WORK/record.log" 2>&1
check "capture holds TLS to 198.51.100.10:443 and DNS to 203.0.113.53" \
  bash -c '[[ $(tcpdump -r "$1" -n "dst host 198.51.100.10 and tcp dst port 443" 2>/dev/null | wc -l) -gt 0 &&
              $(tcpdump -r "$1" -n "dst host 203.0.113.53 and udp dst port 53" 2>/dev/null | wc -l) -gt 0 ]]' \
  _ "$WORK/tiles.pcap"

# Every process of the lab, to check none survives `down`.
{
  cat "$FW_LAB_DIR"/pids/*.pid 2>/dev/null
  for ns in tablet gw inet; do ip netns pids "$FW_LAB_PREFIX-$ns" 2>/dev/null; done
} | sort -un >"$WORK/pids"
check "lab processes were found before down" test -s "$WORK/pids"

check "scripts/lab down succeeds" "$LAB" down
LAB_UP=0
check "no namespace of the prefix is left" \
  bash -c '! ip netns list | grep -q "^$1-"' _ "$FW_LAB_PREFIX"
check "no lab process survives" \
  bash -c 'while read -r p; do
             s=$(sed -n "s/^State:[[:space:]]*\([A-Z]\).*/\1/p" /proc/$p/status 2>/dev/null)
             [[ -z $s || $s == Z || $s == X ]] && continue  # gone or a zombie
             echo "  pid $p alive: $(tr "\0" " " </proc/$p/cmdline)"; exit 1
           done <"$1"' _ "$WORK/pids"
check "/etc/netns entry and state dir removed" \
  bash -c '[[ ! -e /etc/netns/$1-tablet && ! -e $2 ]]' _ "$FW_LAB_PREFIX" "$FW_LAB_DIR"
check "root namespace unchanged after down" diff "$WORK/root-before" <(root_ns_state)
check "down is idempotent" "$LAB" down

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
