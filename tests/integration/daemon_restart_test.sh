#!/usr/bin/env bash
# The name cache survives a restart (dns.state_file), witnessed from outside:
# dnsmasq's query log shows no DNS was asked again, tcpdump in the server
# namespace shows what crossed the gateway.
#
#  1. The tablet resolves api.mapbox.com through the lab resolver and loads a
#     tile (200). The daemon is stopped cleanly (SIGTERM) and started again;
#     the same tile fetched at the address the tablet cached (curl --resolve,
#     no DNS) loads at once, and dnsmasq saw no new question.
#  2. kill -9 during a loop of such fetches (on_failure: closed): while the
#     daemon is down, no SYN of a new connection to the tile address and no
#     packet to a hard-coded IP reaches the server side (the rules stay, the
#     queue has no reader); after a restart the cached-address fetch loads
#     again without DNS.
#  3. A hard-coded IP never attested by DNS is still denied after a restart.
#  4. A corrupt state file (one flipped byte) is ignored with a warning: the
#     daemon starts, and the cached-address fetch is denied at its SYN until
#     DNS is seen again; after a fresh lookup it loads.
#
# Runs as root (ctest); exit 77 when requirements are missing.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_test_up daemon_restart_test "fwr$$"

POLICY="$DL_DIR/policy.yaml"
CFG="$DL_DIR/flightwall.yaml"
STATE="$DL_DIR/names.bin"  # dl_write_config's dns.state_file
dl_write_policy "$POLICY" enforce
dl_write_config "$CFG" "$POLICY" closed

TILE=/v4/mapbox.satellite/1/0/0.png
CACHED=(--resolve api.mapbox.com:443:198.51.100.10)
# The tablet's cached address: no DNS question is asked.
fetch_cached() { DL_CURL_TIMEOUT="${1:-3}" dl_fetch api.mapbox.com "$TILE" "${CACHED[@]}"; }
hardcoded() {
  dl_c curl -s -o /dev/null --max-time 2 -w '%{http_code}' http://203.0.113.77:8443/upload
}
questions() { # A and AAAA questions dnsmasq logged
  local n
  n=$(grep -c 'query\[A' "$DL_DIR/logs/dnsmasq.log" 2>/dev/null)
  echo "${n:-0}"
}
# BPF: a SYN opening a connection (not the SYN-ACK).
SYN='tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
state_names() {
  local n
  n=$(grep -a -c api.mapbox.com "$STATE" 2>/dev/null)
  echo "${n:-0}"
}
state_saved() { [[ "$(state_names)" -gt 0 ]]; }
restored_total() { dl_metric "flightwall_name_cache_restored_total{result=\"$1\"}"; }

# --- 1. clean restart -------------------------------------------------------------
if ! dl_start_daemon "$CFG" first; then
  echo "FAIL: flightwall run reaches READY"
  echo "0 passed, 1 failed"
  exit 1
fi
check "before any DNS, the tile address is denied (SYN refused)" equals 000 "$(fetch_cached 2)"
check "the tablet resolves api.mapbox.com and loads a tile" dl_fetch_ok api.mapbox.com "$TILE"
check "the attested name is saved to the state file (within 5 s)" dl_wait 50 state_saved
dl_stop_daemon TERM
check "SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
check "the state file is mode 0600" equals 600 "$(stat -c %a "$STATE")"
check "the state file holds the name" test "$(state_names)" -gt 0

Q0=$(questions)
check "the witness works: dnsmasq logged the tablet's lookup ($Q0 questions)" test "$Q0" -gt 0
if dl_start_daemon "$CFG" second; then
  check "the restarted daemon logs what it restored" \
    grep -qE "restored [1-9][0-9]* names from $STATE" "$DL_DAEMON_LOG"
  check "the tile loads at the cached address at once after the restart" \
    equals 200 "$(fetch_cached)"
  check "no DNS question was asked for it" equals "$Q0" "$(questions)"
  check "metric: flightwall_name_cache_restored_total{result=restored} >= 1" \
    test "$(restored_total restored)" -ge 1
  check "a hard-coded IP never attested is still denied after the restart" \
    equals 000 "$(hardcoded)"
else
  check "the daemon restarts (SIGTERM then start)" false
fi

# --- 2. kill -9 during traffic ----------------------------------------------------
loop() { # one cached-address fetch per round; bounded: 400 rounds or 60 s
  local end=$((SECONDS + 60)) i
  for ((i = 0; i < 400 && SECONDS < end; i++)); do
    [[ -e "$DL_DIR/loop.stop" ]] && break
    echo "$(cat "$DL_DIR/phase") $(fetch_cached 1)" >>"$DL_DIR/loop.log"
  done
}
rounds() { grep -c "^$1 $2\$" "$DL_DIR/loop.log" 2>/dev/null; }
rounds_at_least() { (($(rounds "$1" "$2") >= $3)); }
echo up >"$DL_DIR/phase"
loop &
LOOP_PID=$!
check "the fetch loop loads tiles at the cached address" dl_wait 100 rounds_at_least up 200 3

KILLED=$DL_DAEMON_PID
kill -KILL "$KILLED"
wait "$KILLED" 2>/dev/null
DL_DAEMON_PID=""
echo down >"$DL_DIR/phase"
check "the rules stay after kill -9 (fail closed)" dl_rules_jump_present
# The witness runs only while the daemon is down.
dl_capture_start "$DL_NS_S" eth0 "$DL_DIR/down-server.pcap" \
  "host 198.51.100.10 or host 203.0.113.77" || echo "FAIL: tcpdump on the server side"
DOWN_CAP=$DL_CAPTURE_PID
dl_capture_start "$DL_NS_C" eth0 "$DL_DIR/down-client.pcap" \
  "host 198.51.100.10 or host 203.0.113.77" || echo "FAIL: tcpdump on the client side"
DOWN_CCAP=$DL_CAPTURE_PID
check "while down, the cached-address fetch fails" equals 000 "$(fetch_cached 2)"
check "while down, the hard-coded IP is unreachable" equals 000 "$(hardcoded)"
rounds_down() { (($(grep -c '^down ' "$DL_DIR/loop.log") >= $1)); }
check "the loop kept trying while down" dl_wait 100 rounds_down 2
dl_capture_stop "$DOWN_CAP"
dl_capture_stop "$DOWN_CCAP"
SENT=$(dl_count "$DL_DIR/down-client.pcap" "$SYN")
check "the client did send SYNs while the daemon was down ($SENT)" test "$SENT" -gt 0
check "server-side tcpdump lost nothing" grep -q '^0 packets dropped by kernel' \
  "$DL_DIR/down-server.pcap.log"
check "while down, no SYN reached the tile server (new connections held by the queue)" \
  equals 0 "$(dl_count "$DL_DIR/down-server.pcap" "dst host 198.51.100.10 and $SYN")"
check "while down, no packet at all reached the hard-coded IP" \
  equals 0 "$(dl_count "$DL_DIR/down-server.pcap" "dst host 203.0.113.77")"
check "no loop round succeeded while down" equals 0 "$(rounds down 200)"

Q1=$(questions)
echo up2 >"$DL_DIR/phase"
if dl_start_daemon "$CFG" after-kill; then
  check "after kill -9 and restart, the tile loads at the cached address at once" \
    equals 200 "$(fetch_cached)"
  check "the loop loads tiles again" dl_wait 100 rounds_at_least up2 200 2
  check "no DNS question was asked since the kill" equals "$Q1" "$(questions)"
  check "the hard-coded IP is still denied" equals 000 "$(hardcoded)"
else
  check "the daemon restarts after kill -9" false
fi
touch "$DL_DIR/loop.stop"
wait "$LOOP_PID"
dl_stop_daemon TERM
check "SIGTERM exits 0 (after the kill -9 restart)" equals 0 "$DL_DAEMON_RC"

# --- 4. a corrupt state file --------------------------------------------------------
python3 - "$STATE" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-5] ^= 0x01  # one bit of a record's name
open(p, "wb").write(b)
EOF
CORRUPT_SUM=$(sha256sum <"$STATE")
state_replaced() { [[ "$(sha256sum <"$STATE")" != "$CORRUPT_SUM" ]]; }
if dl_start_daemon "$CFG" corrupt; then
  check "the corrupt file is ignored with a warning that says what happens" \
    grep -q "ignoring name cache $STATE: checksum mismatch; names will be learned again from DNS" \
    "$DL_DAEMON_LOG"
  check "metric: flightwall_name_cache_restored_total{result=file_ignored} = 1" \
    equals 1 "$(restored_total file_ignored)"
  dl_capture_start "$DL_NS_S" eth0 "$DL_DIR/corrupt-server.pcap" "host 198.51.100.10" ||
    echo "FAIL: tcpdump on the server side"
  CCAP=$DL_CAPTURE_PID
  check "the cached-address fetch is denied (nothing restored)" equals 000 "$(fetch_cached 2)"
  dl_capture_stop "$CCAP"
  check "no SYN of it reached the tile server" \
    equals 0 "$(dl_count "$DL_DIR/corrupt-server.pcap" "dst host 198.51.100.10 and $SYN")"
  check "after DNS is seen again, the tile loads" dl_fetch_ok api.mapbox.com "$TILE"
  check "and the cached-address fetch works again" equals 200 "$(fetch_cached)"
  check "the corrupt file is replaced at the next save (within 5 s)" dl_wait 50 state_replaced
  check "and the replacement holds the name again (within 5 s)" dl_wait 50 state_saved
  dl_stop_daemon TERM
else
  check "the daemon starts despite a corrupt state file" false
fi

check "the root namespace's netfilter state is unchanged" dl_root_unchanged
dl_summary
