#!/usr/bin/env bash
# dns.confirm_revealed_names (active attestation), witnessed from outside.
#
# The client reaches addresses without asking DNS (curl --resolve), so the
# daemon never sees an answer that attests them. With the opt-in the daemon
# lets the handshake through, holds the ClientHello and asks the lab
# resolver itself whether the name the ClientHello reveals has the address:
#   - a tile name at the address dnsmasq gives for it: 200, and dnsmasq's
#     log shows the gateway's own question (the confirmation happened);
#   - a tile name at another server address (198.51.100.20): denied, and
#     tcpdump on the server side sees the SYN (the documented cost) but no
#     client payload at all (the ClientHello was held, then dropped);
#   - a hard-coded IP (no SNI): denied, no payload on the far side;
#   - fronting (allowed SNI, denied Host) to an unconfirmed address: denied,
#     no payload on the far side.
# Without the opt-in the first case is denied at the SYN (no SYN on the far
# side), and the others as before.
# Runs as root (ctest); exit 77 when requirements are missing.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_test_up daemon_confirm_test "fwc$$"

TILE=/v4/mapbox.satellite/1/0/0.png
GOOD=198.51.100.10  # dnsmasq's address for the tile names
OTHER=198.51.100.20 # a real server nobody attested for a tile name
EVENTS="$DL_DIR/events.jsonl"
DNSLOG="$DL_DIR/logs/dnsmasq.log"

POLICY_ON="$DL_DIR/policy-confirm.yaml"
POLICY_OFF="$DL_DIR/policy-plain.yaml"
dl_write_policy "$POLICY_ON" enforce
sed -i '/^  resolvers:/a\  confirm_revealed_names: true' "$POLICY_ON"
dl_write_policy "$POLICY_OFF" enforce
CFG_ON="$DL_DIR/flightwall-confirm.yaml"
CFG_OFF="$DL_DIR/flightwall-plain.yaml"
dl_write_config "$CFG_ON" "$POLICY_ON" closed
dl_write_config "$CFG_OFF" "$POLICY_OFF" closed

# fetch PORT HOST ADDR [CURL_ARGS...]: HTTPS GET of a tile from the client's
# port PORT to ADDR for HOST, no DNS; prints the HTTP code.
fetch() {
  local port="$1" host="$2" addr="$3"
  shift 3
  DL_CURL_TIMEOUT=4 dl_fetch "$host" "$TILE" --local-port "$port" \
    --resolve "$host:443:$addr" "$@"
}
# far PCAP PORT FILTER: packets of the client's port PORT on the far side
# matching FILTER.
far() { dl_count "$1" "src host 192.0.2.10 and src port $2 and ($3)"; }
SYN='tcp[tcpflags] & tcp-syn != 0'
differs() { # differs UNEXPECTED ACTUAL
  [[ "$1" != "$2" ]] || {
    echo "  expected anything but '$1'"
    return 1
  }
}

# --- with the opt-in ------------------------------------------------------
dl_start_daemon "$CFG_ON" confirm || {
  echo "FAIL: start the daemon with the opt-in"
  echo "0 passed, 1 failed"
  exit 1
}
check "the policy loads with dns.confirm_revealed_names" kill -0 "$DL_DAEMON_PID"
FAR_ON="$DL_DIR/far-confirm.pcap"
dl_capture_start "$DL_NS_S" eth0 "$FAR_ON" tcp || echo "  (far-side capture did not start)"


check "a tile at the address the resolver gives loads (200)" \
  equals 200 "$(fetch 41001 a.tiles.mapbox.com "$GOOD")"
check "the daemon's own question reached the resolver (from the gateway)" \
  grep -q 'query\[A\] a.tiles.mapbox.com from 203.0.113.241' "$DNSLOG"
check "the event log says the name was confirmed" \
  dl_wait 20 grep -q '"dport":443.*"name_attested_by":"confirmed"' "$EVENTS"

check "a tile name at an address the resolver does not give is denied" \
  differs 200 "$(fetch 41002 api.mapbox.com "$OTHER")"
check "the resolver was asked about it" \
  grep -q 'query\[A\] api.mapbox.com from 203.0.113.241' "$DNSLOG"
check "the event log says unconfirmed" dl_wait 20 grep -q '"reason":"unconfirmed"' "$EVENTS"

check "a hard-coded IP without SNI is denied" \
  differs 200 "$(DL_CURL_TIMEOUT=4 dl_c curl -sk -o /dev/null -w '%{http_code}' \
    --max-time 4 --local-port 41003 "https://$OTHER$TILE")"

check "fronting (allowed SNI, denied Host) to an unconfirmed address is denied" \
  differs 200 "$(fetch 41004 a.tiles.mapbox.com "$OTHER" -H "Host: $DL_CDN_DENIED")"

dl_capture_stop "$DL_CAPTURE_PID"
check "far side: the confirmed fetch carried payload (the capture works)" \
  differs 0 "$(far "$FAR_ON" 41001 "$DL_TCP_PAYLOAD")"
for p in 41002 41003 41004; do
  check "far side: port $p's SYN arrived (the documented cost)" \
    differs 0 "$(far "$FAR_ON" "$p" "$SYN")"
  check "far side: port $p sent no payload (no ClientHello)" \
    equals 0 "$(far "$FAR_ON" "$p" "$DL_TCP_PAYLOAD")"
done
check "the daemon logged why a confirmation failed" \
  grep -q 'name confirmation refuted: api.mapbox.com -> 198.51.100.20' "$DL_DAEMON_LOG"
# The metrics count both outcomes (refreshed twice a second by the main loop).
confirmed_metric() { [[ "$(dl_metric "flightwall_name_confirmations_total{result=\"$1\"}")" =~ ^[1-9] ]]; }
check "metrics: flightwall_name_confirmations_total{result=\"confirmed\"} > 0" \
  dl_wait 30 confirmed_metric confirmed
check "metrics: flightwall_name_confirmations_total{result=\"refuted\"} > 0" \
  dl_wait 30 confirmed_metric refuted
dl_stop_daemon TERM

# --- without the opt-in ---------------------------------------------------
rm -f "$DL_DIR/names.bin"  # the confirmed binding must not attest here
dl_start_daemon "$CFG_OFF" plain || {
  echo "FAIL: start the daemon without the opt-in"
  dl_summary
  exit 1
}
FAR_OFF="$DL_DIR/far-plain.pcap"
dl_capture_start "$DL_NS_S" eth0 "$FAR_OFF" tcp || echo "  (far-side capture did not start)"
QUERIES_BEFORE=$(grep -c 'from 203.0.113.241' "$DNSLOG")
check "without the opt-in the same fetch is denied" \
  differs 200 "$(fetch 41011 a.tiles.mapbox.com "$GOOD")"
check "without the opt-in an unconfirmed address is denied" \
  differs 200 "$(fetch 41012 api.mapbox.com "$OTHER")"
check "without the opt-in fronting is denied" \
  differs 200 "$(fetch 41014 a.tiles.mapbox.com "$OTHER" -H "Host: $DL_CDN_DENIED")"
dl_capture_stop "$DL_CAPTURE_PID"
for p in 41011 41012 41014; do
  check "far side without the opt-in: port $p denied at the SYN (nothing arrived)" \
    equals 0 "$(far "$FAR_OFF" "$p" "tcp")"
done
check "without the opt-in the daemon asks the resolver nothing" \
  equals "$QUERIES_BEFORE" "$(grep -c 'from 203.0.113.241' "$DNSLOG")"
dl_stop_daemon TERM

dl_summary
