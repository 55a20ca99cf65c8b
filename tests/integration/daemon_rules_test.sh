#!/usr/bin/env bash
# `flightwall run` enforcing the lab copy of rules/local-data-mode.yaml, rule
# by rule, in a namespace lab of its own (scripts/lab, scripts/lab daemon).
#
# For each case the tablet's client (curl, dig, nc, ping, a UDP socket) runs
# through the daemon, then independent witnesses judge it:
#   - tcpdump on the inet side (tshark filters count what crossed the router:
#     zero TCP payload bytes / UDP datagrams / DNS questions for what is
#     denied, and the allowed traffic is there);
#   - tcpdump on the tablet side (the attempt was made; the reset or ICMP
#     unreachable the daemon sent back);
#   - dnsmasq's query log (a denied name never reaches the resolver, an
#     allowed one does) and nginx's access log;
#   - exit statuses and timings in the tablet (a denied connection fails fast
#     with a reset, a denied name gets REFUSED from the daemon, no timeouts);
#   - the daemon's event log (an entry with the right host name and reason)
#     and `flightwall verify-log`.
# IPv4 and IPv6 wherever the lab has both. Exit 77 (skip) without root or a
# needed tool.
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# shellcheck source-path=SCRIPTDIR/../..
set -uo pipefail

SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
FW="${FLIGHTWALL:-$SRC/build/daemon/flightwall}"
LAB="$SRC/scripts/lab"

skip() {
  echo "SKIP: daemon_rules_test: $*"
  exit 77
}
[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, NFQUEUE)"
for t in ip iptables dnsmasq nginx openssl curl dig nc ping tcpdump tshark python3 ss jq; do
  command -v "$t" >/dev/null 2>&1 || skip "needs '$t' (run scripts/setup)"
done
[[ -x "$FW" ]] || skip "no flightwall binary at $FW (set FLIGHTWALL or build it)"
ip netns add "fwprobe$$" 2>/dev/null || skip "cannot create network namespaces here"
ip netns del "fwprobe$$"

WORK=$(mktemp -d)
export FW_LAB_PREFIX="fwr$$"
export FW_LAB_DIR="$WORK/lab"
export FLIGHTWALL="$FW"
mkdir -p "$FW_LAB_DIR"
LOGS="$FW_LAB_DIR/logs"
NS_TABLET="$FW_LAB_PREFIX-tablet"
NS_GW="$FW_LAB_PREFIX-gw"
NS_INET="$FW_LAB_PREFIX-inet"
CA="$FW_LAB_DIR/certs/ca.crt"
EVENTS="$WORK/events.jsonl"
INET_PCAP="$WORK/inet.pcap"
TABLET_PCAP="$WORK/tablet.pcap"
PASSED=0
FAILED=0
LAB_UP=0
CAPTURES=()

cleanup() {
  local p
  for p in "${CAPTURES[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${CAPTURES[@]}"; do wait "$p" 2>/dev/null || true; done
  if ((LAB_UP)); then "$LAB" down >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() {
  echo "PASS: $*"
  PASSED=$((PASSED + 1))
}
fail() {
  echo "FAIL: $*"
  FAILED=$((FAILED + 1))
}
check() { # check DESC CMD...
  local desc="$1"
  shift
  if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# --- the tablet's clients -------------------------------------------------------

# tab OUT CMD...: runs CMD in the tablet; RC = its status, MS = wall time.
RC=0
MS=0
tab() {
  local out="$1" t0 t1
  shift
  t0=${EPOCHREALTIME/./}
  ip netns exec "$NS_TABLET" "$@" >"$out" 2>&1
  RC=$?
  t1=${EPOCHREALTIME/./}
  MS=$(((t1 - t0) / 1000))
}
curl_tab() { # curl_tab OUT CURL-ARGS...: prints http_code into OUT
  local out="$1"
  shift
  tab "$out" curl -sS --max-time 5 --connect-timeout 3 --cacert "$CA" -o /dev/null \
    -w '%{http_code}\n' "$@"
}
dig_status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' "$1" | head -n1; }
# A denied TCP connection must end at once with a reset (curl 7 connect,
# 35 TLS handshake, 56 receive), well before the 3 s connect timeout.
reset_fast() { # reset_fast DESC
  if [[ $RC =~ ^(7|35|56)$ ]] && ((MS < 2000)); then
    pass "$1: fails fast with a reset (curl exit $RC after $MS ms)"
  else
    fail "$1: curl exit $RC after $MS ms (want 7/35/56 in < 2000 ms): $(tr '\n' ' ' <"$WORK/out")"
  fi
}
PAYLOAD="$WORK/payload.bin"
{
  printf 'FWLAB-UPLOAD serial=1ZNBJ7A00C0001 lat=46.51234 lon=6.63201\n'
  head -c 4000 /dev/urandom | od -An -tx1
} >"$PAYLOAD"

UDP_PROBE='
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2.0)
s.connect((sys.argv[1], 9999))
s.send(b"FWLAB-UDP lat=46.51234 lon=6.63201 alt=118")
try:
    s.recv(2048)
    print("echoed")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("icmp-error errno=%d" % e.errno)
'

# --- witnesses ------------------------------------------------------------------

count() { # count PCAP FILTER: packets tshark's display filter matches
  tshark -n -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l
}
none_in() { # none_in DESC PCAP FILTER
  local n
  n=$(count "$2" "$3")
  if ((n == 0)); then pass "$1 (0 packets: $3)"; else fail "$1 ($n packets: $3)"; fi
}
some_in() { # some_in DESC PCAP FILTER
  local n
  n=$(count "$2" "$3")
  if ((n > 0)); then pass "$1 ($n packets: $3)"; else fail "$1 (no packet: $3)"; fi
}
# dnsmasq's log-queries=extra lines: "... query[TYPE] NAME from CLIENT". Only
# the tablet's questions count (`scripts/lab up` asks some itself).
resolver_saw() { # resolver_saw LOG TYPE NAME CLIENT
  grep -qF "query[$2] $3 from $4" "$LOGS/$1"
}
no_tablet_question() { # no_tablet_question LOG
  ! grep -qE 'from (192\.0\.2\.10|2001:db8:1::10)$' "$LOGS/$1"
}
event() { # event DESC JQ-CONDITION: some event of the daemon matches
  if jq -s -e "any(.[]; $2)" "$EVENTS" >/dev/null 2>&1; then pass "$1"; else
    fail "$1 (no event with $2)"
  fi
}

start_capture() { # start_capture NS FILE
  local log="$2.log" i
  ip netns exec "$1" tcpdump -i eth0 -s 0 -U --immediate-mode -n -w "$2" \
    </dev/null >/dev/null 2>"$log" &
  CAPTURES+=("$!")
  for ((i = 0; i < 50; i++)); do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
stop_captures() {
  local p
  sleep 0.3 # the last resets and answers cross the router
  for p in "${CAPTURES[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${CAPTURES[@]}"; do wait "$p" 2>/dev/null || true; done
  CAPTURES=()
}

# --- the cases: `run` acts in the tablet, `witness` reads the evidence ------------

case_tiles() {
  local mb=v4/mapbox.satellite
  if [[ $1 == run ]]; then
    curl_tab "$WORK/out" -4 "https://a.tiles.mapbox.com/$mb/1/0/1.png"
    check "tiles v4: https://a.tiles.mapbox.com through the daemon -> 200" \
      test "$RC $(cat "$WORK/out")" == "0 200"
    curl_tab "$WORK/out" -6 "https://tile.openstreetmap.org/1/0/1.png"
    check "tiles v6: https://tile.openstreetmap.org over IPv6 through the daemon -> 200" \
      test "$RC $(cat "$WORK/out")" == "0 200"
    return
  fi
  some_in "tiles v4: the TLS handshake reached the tile server" "$INET_PCAP" \
    'ip.dst == 198.51.100.10 && tls.handshake.extensions_server_name == "a.tiles.mapbox.com"'
  some_in "tiles v6: the TLS handshake reached the tile server" "$INET_PCAP" \
    'ipv6.dst == 2001:db8:100::10 && tls.handshake.extensions_server_name == "tile.openstreetmap.org"'
  event "tiles v4: event allow a.tiles.mapbox.com allowed-host (mapbox-tiles)" \
    '.event == "flow" and .verdict == "allow" and .hostname == "a.tiles.mapbox.com" and
     .dst == "198.51.100.10" and .reason == "allowed-host" and .rule == "mapbox-tiles"'
  event "tiles v6: event allow tile.openstreetmap.org on 2001:db8:100::10" \
    '.event == "flow" and .verdict == "allow" and .hostname == "tile.openstreetmap.org" and
     .dst == "2001:db8:100::10" and .reason == "allowed-host"'
}

case_dns_tiles() {
  if [[ $1 == run ]]; then
    tab "$WORK/out" dig +time=2 +tries=1 @203.0.113.53 api.mapbox.com A
    check "DNS tiles v4: api.mapbox.com A from 203.0.113.53 -> NOERROR 198.51.100.10" \
      test "$(dig_status "$WORK/out") $(grep -c $'IN\tA\t198.51.100.10' "$WORK/out")" == "NOERROR 1"
    tab "$WORK/out" dig +time=2 +tries=1 @2001:db8:53::53 b.tiles.mapbox.com AAAA
    check "DNS tiles v6: b.tiles.mapbox.com AAAA from 2001:db8:53::53 -> 2001:db8:100::10" \
      test "$(dig_status "$WORK/out") $(grep -c $'IN\tAAAA\t2001:db8:100::10' "$WORK/out")" == "NOERROR 1"
    return
  fi
  check "DNS tiles: the resolver logged the tablet's api.mapbox.com A and b.tiles.mapbox.com AAAA" \
    eval 'resolver_saw dnsmasq-main.log A api.mapbox.com 192.0.2.10 &&
          resolver_saw dnsmasq-main.log AAAA b.tiles.mapbox.com 2001:db8:1::10'
  some_in "DNS tiles v6: the question crossed the router" "$INET_PCAP" \
    'ipv6.dst == 2001:db8:53::53 && dns.qry.name == "b.tiles.mapbox.com"'
  event "DNS tiles: event allow api.mapbox.com dns-allowed" \
    '.event == "dns" and .verdict == "allow" and .hostname == "api.mapbox.com" and .reason == "dns-allowed"'
}

case_dns_vendor() {
  if [[ $1 == run ]]; then
    tab "$WORK/out" dig +time=2 +tries=1 @203.0.113.53 flightlog.dji.com A
    check "DNS vendor v4: flightlog.dji.com -> REFUSED by the daemon in $MS ms" \
      eval '[[ $(dig_status "$WORK/out") == REFUSED ]] && ((MS < 1500))'
    tab "$WORK/out" dig +time=2 +tries=1 @2001:db8:53::53 www.skypixel.com AAAA
    check "DNS vendor v6: www.skypixel.com AAAA -> REFUSED by the daemon in $MS ms" \
      eval '[[ $(dig_status "$WORK/out") == REFUSED ]] && ((MS < 1500))'
    return
  fi
  check "DNS vendor: flightlog.dji.com and www.skypixel.com are absent from the resolver's log" \
    eval '! grep -qE "flightlog\.dji\.com|www\.skypixel\.com" "$LOGS/dnsmasq-main.log"'
  none_in "DNS vendor: no question for them crossed the router" "$INET_PCAP" \
    'dns.qry.name == "flightlog.dji.com" || dns.qry.name == "www.skypixel.com"'
  some_in "DNS vendor: the tablet got REFUSED answers" "$TABLET_PCAP" \
    'dns.flags.response == 1 && dns.flags.rcode == 5 && dns.qry.name == "flightlog.dji.com"'
  event "DNS vendor v4: event deny flightlog.dji.com dns-name-not-allowed" \
    '.event == "dns" and .verdict == "deny" and .hostname == "flightlog.dji.com" and
     .reason == "dns-name-not-allowed"'
  event "DNS vendor v6: event deny www.skypixel.com via 2001:db8:53::53" \
    '.event == "dns" and .verdict == "deny" and .hostname == "www.skypixel.com" and
     .dst == "2001:db8:53::53" and .reason == "dns-name-not-allowed"'
}

case_rogue_resolver() {
  local r
  if [[ $1 == run ]]; then
    for r in 203.0.113.99 2001:db8:99::99; do
      tab "$WORK/out" dig +time=2 +tries=1 "@$r" api.mapbox.com A
      check "rogue resolver $r: no answer, and no timeout ($MS ms, dig exit $RC)" \
        eval '! grep -q 198.51.100.99 "$WORK/out" && ((MS < 1500))'
    done
    return
  fi
  none_in "rogue resolver v4: nothing reached 203.0.113.99" "$INET_PCAP" 'ip.dst == 203.0.113.99'
  none_in "rogue resolver v6: nothing reached 2001:db8:99::99" "$INET_PCAP" 'ipv6.dst == 2001:db8:99::99'
  check "rogue resolver: its log has no question from the tablet" \
    no_tablet_question dnsmasq-rogue.log
  for r in 203.0.113.99 2001:db8:99::99; do
    event "rogue resolver: event deny $r dns-resolver-not-allowed" \
      ".verdict == \"deny\" and .dst == \"$r\" and .reason == \"dns-resolver-not-allowed\""
  done
}

case_hardcoded_ip() {
  if [[ $1 == run ]]; then
    curl_tab "$WORK/out" -k --data-binary "@$PAYLOAD" https://203.0.113.77/upload
    reset_fast "hard-coded IP v4 https://203.0.113.77"
    curl_tab "$WORK/out" -k --data-binary "@$PAYLOAD" "https://[2001:db8:77::77]/upload"
    reset_fast "hard-coded IP v6 https://[2001:db8:77::77]"
    tab "$WORK/out" nc -N -w 3 203.0.113.77 8443 <"$PAYLOAD"
    check "hard-coded IP plain TCP 203.0.113.77:8443: nc ends in $MS ms, no answer" \
      eval '((MS < 2000)) && ! grep -q "400" "$WORK/out"'
    return
  fi
  none_in "hard-coded IP v4: zero TCP payload bytes reached 203.0.113.77" "$INET_PCAP" \
    'ip.dst == 203.0.113.77 && tcp.len > 0'
  none_in "hard-coded IP v6: zero TCP payload bytes reached 2001:db8:77::77" "$INET_PCAP" \
    'ipv6.dst == 2001:db8:77::77 && tcp.len > 0'
  some_in "hard-coded IP v4: the tablet got resets from 203.0.113.77" "$TABLET_PCAP" \
    'ip.src == 203.0.113.77 && tcp.flags.reset == 1'
  some_in "hard-coded IP v6: the tablet got a reset from 2001:db8:77::77" "$TABLET_PCAP" \
    'ipv6.src == 2001:db8:77::77 && tcp.flags.reset == 1'
  check "hard-coded IP: nginx logged no request on 203.0.113.77 / 2001:db8:77::77" \
    eval '! grep -qE "203\.0\.113\.77|2001:db8:77::77" "$LOGS/nginx-access.log"'
  event "hard-coded IP v4: event deny 203.0.113.77:443 no-dns-attestation" \
    '.event == "flow" and .verdict == "deny" and .dst == "203.0.113.77" and .dport == 443 and
     .reason == "no-dns-attestation"'
  event "hard-coded IP v4: event deny 203.0.113.77:8443 no-dns-attestation" \
    '.event == "flow" and .verdict == "deny" and .dst == "203.0.113.77" and .dport == 8443 and
     .reason == "no-dns-attestation"'
  event "hard-coded IP v6: event deny [2001:db8:77::77]:443 no-dns-attestation" \
    '.event == "flow" and .verdict == "deny" and .dst == "2001:db8:77::77" and
     .reason == "no-dns-attestation"'
}

case_fronting() {
  local front=a.tiles.mapbox.com
  if [[ $1 == run ]]; then
    # The allowed name as SNI, sent to the vendor's address: DNS never
    # attested that address (the daemon refused the vendor's names), so the
    # SYN is already refused.
    curl_tab "$WORK/out" -4 -k --connect-to "$front:443:198.51.100.20:443" \
      --data-binary "@$PAYLOAD" "https://$front/front"
    reset_fast "fronting v4: $front to the vendor's 198.51.100.20"
    curl_tab "$WORK/out" -6 -k --connect-to "$front:443:[2001:db8:100::20]:443" \
      --data-binary "@$PAYLOAD" "https://$front/front"
    reset_fast "fronting v6: $front to the vendor's 2001:db8:100::20"
    # The allowed name as SNI, sent to the shared CDN address that DNS
    # attested for another name (d.tiles.mapbox.com): the ClientHello leaves
    # the tablet, the SNI is allowed but not attested for that address.
    curl_tab "$WORK/out" -4 -k --connect-to "$front:443:d.tiles.mapbox.com:443" \
      --data-binary "@$PAYLOAD" "https://$front/front"
    reset_fast "fronting via CDN: SNI $front to 198.51.100.40 (attested for d.tiles.mapbox.com)"
    return
  fi
  some_in "fronting: the tablet tried the vendor's address" "$TABLET_PCAP" \
    'ip.dst == 198.51.100.20 && tcp.flags.syn == 1'
  none_in "fronting v4: zero TCP payload bytes reached the vendor 198.51.100.20" "$INET_PCAP" \
    'ip.dst == 198.51.100.20 && tcp.len > 0'
  none_in "fronting v6: zero TCP payload bytes reached the vendor 2001:db8:100::20" "$INET_PCAP" \
    'ipv6.dst == 2001:db8:100::20 && tcp.len > 0'
  some_in "fronting via CDN: the tablet sent the fronted ClientHello" "$TABLET_PCAP" \
    "ip.dst == 198.51.100.40 && tls.handshake.extensions_server_name == \"$front\""
  none_in "fronting via CDN: the fronted ClientHello never crossed the router" "$INET_PCAP" \
    "ip.dst == 198.51.100.40 && tls.handshake.extensions_server_name == \"$front\""
  check "fronting: nginx logged no /front request" eval '! grep -q "/front" "$LOGS/nginx-access.log"'
  event "fronting v4: event deny 198.51.100.20:443 no-dns-attestation" \
    '.event == "flow" and .verdict == "deny" and .dst == "198.51.100.20" and .dport == 443 and
     .reason == "no-dns-attestation"'
  event "fronting v6: event deny [2001:db8:100::20]:443 no-dns-attestation" \
    '.event == "flow" and .verdict == "deny" and .dst == "2001:db8:100::20" and
     .reason == "no-dns-attestation"'
  event "fronting via CDN: event deny $front on 198.51.100.40 name-not-attested-for-address" \
    ".event == \"flow\" and .verdict == \"deny\" and .hostname == \"$front\" and
     .dst == \"198.51.100.40\" and .reason == \"name-not-attested-for-address\""
}

case_shared_cdn() {
  if [[ $1 == run ]]; then
    curl_tab "$WORK/out" -4 https://d.tiles.mapbox.com/v4/mapbox.satellite/1/1/0.png
    check "shared CDN: allowed d.tiles.mapbox.com (CNAME to 198.51.100.40) -> 200" \
      test "$RC $(cat "$WORK/out")" == "0 200"
    # The upload name, on the same address, reached as the app would once DNS
    # refused its own name: through an allowed name's answer.
    curl_tab "$WORK/out" -4 --connect-to cdn-upload.dji.com:443:d.tiles.mapbox.com:443 \
      --data-binary "@$PAYLOAD" https://cdn-upload.dji.com/upload
    reset_fast "shared CDN: denied SNI cdn-upload.dji.com on 198.51.100.40"
    return
  fi
  some_in "shared CDN: the allowed handshake reached 198.51.100.40" "$INET_PCAP" \
    'ip.dst == 198.51.100.40 && tls.handshake.extensions_server_name == "d.tiles.mapbox.com"'
  none_in "shared CDN: no cdn-upload.dji.com ClientHello crossed the router" "$INET_PCAP" \
    'tls.handshake.extensions_server_name == "cdn-upload.dji.com"'
  check "shared CDN: nginx served d.tiles.mapbox.com and never saw cdn-upload.dji.com" \
    eval 'grep -q "sni=d.tiles.mapbox.com" "$LOGS/nginx-access.log" &&
          ! grep -q "cdn-upload" "$LOGS/nginx-access.log"'
  event "shared CDN: event allow d.tiles.mapbox.com on 198.51.100.40" \
    '.event == "flow" and .verdict == "allow" and .hostname == "d.tiles.mapbox.com" and
     .dst == "198.51.100.40"'
  event "shared CDN: event deny cdn-upload.dji.com on 198.51.100.40 name-not-allowed" \
    '.event == "flow" and .verdict == "deny" and .hostname == "cdn-upload.dji.com" and
     .dst == "198.51.100.40" and .reason == "name-not-allowed"'
}

case_udp() {
  local a
  if [[ $1 == run ]]; then
    for a in 203.0.113.88 2001:db8:88::88; do
      tab "$WORK/out" python3 -c "$UDP_PROBE" "$a"
      check "UDP side channel $a:9999: ICMP unreachable, not an echo ($(cat "$WORK/out"), $MS ms)" \
        eval 'grep -q "^icmp-error" "$WORK/out" && ((MS < 1500))'
    done
    return
  fi
  none_in "UDP v4: zero datagrams reached 203.0.113.88" "$INET_PCAP" 'udp && ip.dst == 203.0.113.88'
  none_in "UDP v6: zero datagrams reached 2001:db8:88::88" "$INET_PCAP" 'udp && ipv6.dst == 2001:db8:88::88'
  some_in "UDP v4: the tablet got ICMP unreachable from 203.0.113.88" "$TABLET_PCAP" \
    'icmp.type == 3 && ip.src == 203.0.113.88'
  some_in "UDP v6: the tablet got ICMPv6 unreachable from 2001:db8:88::88" "$TABLET_PCAP" \
    'icmpv6.type == 1 && ipv6.src == 2001:db8:88::88'
  for a in 203.0.113.88 2001:db8:88::88; do
    event "UDP: event deny udp $a:9999 no-dns-attestation" \
      ".event == \"flow\" and .verdict == \"deny\" and .protocol == \"udp\" and .dst == \"$a\" and
       .dport == 9999 and .reason == \"no-dns-attestation\""
  done
}

case_icmp() {
  if [[ $1 == run ]]; then
    tab "$WORK/out" ping -n -c 2 -W 1 -i 0.2 -p 4c41543d34362e35 203.0.113.88
    check "ICMP v4: ping 203.0.113.88 gets no reply (exit $RC)" test "$RC" -ne 0
    tab "$WORK/out" ping -6 -n -c 2 -W 1 -i 0.2 2001:db8:88::88
    check "ICMP v6: ping 2001:db8:88::88 gets no reply (exit $RC)" test "$RC" -ne 0
    return
  fi
  none_in "ICMP v4: no echo request reached 203.0.113.88" "$INET_PCAP" \
    'icmp.type == 8 && ip.dst == 203.0.113.88'
  none_in "ICMP v6: no echo request reached 2001:db8:88::88" "$INET_PCAP" \
    'icmpv6.type == 128 && ipv6.dst == 2001:db8:88::88'
  event "ICMP v4: event deny icmp 203.0.113.88 icmp-echo-denied" \
    '.verdict == "deny" and .protocol == "icmp" and .dst == "203.0.113.88" and .reason == "icmp-echo-denied"'
  event "ICMP v6: event deny icmpv6 2001:db8:88::88 icmp-echo-denied" \
    '.verdict == "deny" and .protocol == "icmpv6" and .dst == "2001:db8:88::88" and
     .reason == "icmp-echo-denied"'
}

case_dns_exfil() {
  local name refused=0 t0 t1
  if [[ $1 == run ]]; then
    # shellcheck source=scripts/lab.d/exfil.sh
    source "$SRC/scripts/lab.d/exfil.sh"
    t0=${EPOCHREALTIME/./}
    while read -r name; do
      tab "$WORK/out" dig +time=2 +tries=1 TXT "$name"
      [[ $(dig_status "$WORK/out") == REFUSED ]] && refused=$((refused + 1))
    done < <(fw_exfil_names)
    t1=${EPOCHREALTIME/./}
    check "DNS exfiltration: 5 TXT questions, $refused REFUSED by the daemon in $(((t1 - t0) / 1000)) ms" \
      eval '((refused == 5 && (t1 - t0) / 1000 < 5000))'
    return
  fi
  check "DNS exfiltration: dns-tunnel.example is absent from the resolver's log" \
    eval '! grep -q "dns-tunnel" "$LOGS/dnsmasq-main.log"'
  none_in "DNS exfiltration: no tunnel question crossed the router" "$INET_PCAP" \
    'dns.qry.name contains "dns-tunnel"'
  check "DNS exfiltration: 5 deny events (dns-name-not-allowed) in the event log" \
    test "$(jq -s '[.[] | select(.event == "dns" and .verdict == "deny" and .qtype == 16 and
      (.hostname | endswith(".dns-tunnel.example")) and .reason == "dns-name-not-allowed")] | length' \
      "$EVENTS")" == 5
}

CASES=(case_tiles case_dns_tiles case_dns_vendor case_rogue_resolver case_hardcoded_ip
  case_fronting case_shared_cdn case_udp case_icmp case_dns_exfil)

# --- main -----------------------------------------------------------------------

LAB_UP=1
if ! "$LAB" up >"$WORK/up.log" 2>&1; then
  tail -n 20 "$WORK/up.log"
  fail "scripts/lab up"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
if ! "$LAB" daemon start >"$WORK/daemon-start.log" 2>&1; then
  cat "$WORK/daemon-start.log"
  fail "scripts/lab daemon start (flightwall run in $NS_GW)"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
pass "flightwall run is READY in $NS_GW"
check "its iptables and ip6tables rules are installed in $NS_GW (FORWARD jumps to its chain)" \
  eval 'ip netns exec "$NS_GW" iptables-save | grep -q -- "-A FORWARD -j FLIGHTWALL" &&
        ip netns exec "$NS_GW" ip6tables-save | grep -q -- "-A FORWARD -j FLIGHTWALL"'

if ! start_capture "$NS_INET" "$INET_PCAP" || ! start_capture "$NS_TABLET" "$TABLET_PCAP"; then
  fail "tcpdump on both sides"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

for c in "${CASES[@]}"; do "$c" run; done

stop_captures
"$LAB" daemon metrics >"$WORK/metrics.txt" 2>&1
check "metrics: the scrape counts denied and allowed packets" \
  eval 'grep -qE "^flightwall_packets_total\{verdict=\"deny\"\} [1-9]" "$WORK/metrics.txt" &&
        grep -qE "^flightwall_packets_total\{verdict=\"allow\"\} [1-9]" "$WORK/metrics.txt"'
check "scripts/lab daemon stop: SIGTERM, clean exit" "$LAB" daemon stop
check "the daemon removed its rules from $NS_GW on SIGTERM" \
  eval '! ip netns exec "$NS_GW" iptables-save | grep -q FLIGHTWALL &&
        ! ip netns exec "$NS_GW" ip6tables-save | grep -q FLIGHTWALL'
cp "$FW_LAB_DIR/events.jsonl" "$EVENTS" 2>/dev/null || : >"$EVENTS"
check "flightwall verify-log: the event log's hash chain is intact" \
  "$FW" verify-log "$EVENTS"
check "the hash chain recomputed independently (python3)" python3 - "$EVENTS" <<'PY'
import hashlib, json, sys
prev, n = "", 0
for n, line in enumerate(open(sys.argv[1]), 1):
    obj = json.loads(line)
    h = obj.pop("hash")
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if obj["seq"] != n or obj["prev"] != prev or \
            hashlib.sha256((prev + "\n" + body).encode()).hexdigest() != h:
        sys.exit(f"  chain broken at line {n}")
    prev = h
sys.exit(0 if n > 0 else "  empty event log")
PY

for c in "${CASES[@]}"; do "$c" witness; done

if ((FAILED)); then
  echo "--- daemon log (last 30 lines)"
  tail -n 30 "$LOGS/daemon.log"
  echo "--- events"
  jq -c '[.event, .verdict, .reason, .protocol, .dst, .dport, .hostname]' "$EVENTS" | head -n 80
fi
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
