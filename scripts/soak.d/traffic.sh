#!/usr/bin/env bash
# scripts/soak's client traffic, run inside the daemon lab's client namespace
# (tests/integration/lib/daemon_lab.sh) by `ip netns exec`:
#
#   traffic.sh allowed   END_EPOCH MAX_ROUNDS COUNTS_DIR CA
#   traffic.sh denied    END_EPOCH MAX_ROUNDS COUNTS_DIR CA DENIED_CDN_NAME
#   traffic.sh adversary END_EPOCH MAX_ROUNDS COUNTS_DIR KIT_PY PYTHON DENIED_CDN_NAME
#
# Each loop stops by itself at END_EPOCH or after MAX_ROUNDS rounds, whichever
# comes first, and every request in it is bounded by --max-time/timeout.
# Outcomes are counted by appending one byte per attempt to a file in
# COUNTS_DIR (the sampler reads the sizes each second):
#   allowed_ok / allowed_fail       tile fetches that answered 200 / did not
#   denied_blocked / denied_leaked  denied attempts that got nothing / got an
#                                   answer from the far side (must stay 0)
#   adversary_runs / adversary_leaked  attack-kit runs / runs whose client saw
#                                   the denied name's server answer (must stay 0)
# and each leak goes to COUNTS_DIR/leaks.log, each failed allowed fetch to
# COUNTS_DIR/failures.log.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

kind="$1" end="$2" max_rounds="$3" counts="$4"
shift 4

count() { printf . >>"$counts/$1"; }
fail() { # fail DESC: an allowed fetch that did not answer 200
  count allowed_fail
  echo "$(date -u +%FT%TZ) $1" >>"$counts/failures.log"
}
leak() { # leak DESC
  count "$2"
  echo "$(date -u +%FT%TZ) $1" >>"$counts/leaks.log"
}
running() { (($(date +%s) < end)); }

TILE=/v4/mapbox.satellite/1/0/0.png

allowed() {
  local ca="$1" round fam code codes c
  for ((round = 0; round < max_rounds; round++)); do
    running || break
    fam=-4
    ((round % 2)) && fam=-6
    # A new HTTPS connection (DNS through the gateway first), alternating families.
    code=$(curl -s -o /dev/null --max-time 5 --cacert "$ca" "$fam" -w '%{http_code}' \
      "https://a.tiles.mapbox.com$TILE?r=$round")
    if [[ $code == 200 ]]; then count allowed_ok; else fail "HTTPS new $fam: HTTP $code"; fi
    # Plain HTTP (Host header inspection), a new connection.
    code=$(curl -s -o /dev/null --max-time 5 "$fam" -w '%{http_code}' \
      "http://b.tiles.mapbox.com$TILE?r=$round")
    if [[ $code == 200 ]]; then count allowed_ok; else fail "HTTP new $fam: HTTP $code"; fi
    # Keep-alive: five tiles over one HTTPS connection.
    codes=$(curl -s --max-time 8 --cacert "$ca" "$fam" -w '%{http_code}\n' \
      -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
      "https://api.mapbox.com$TILE?k=[1-5]")
    for c in $codes; do
      if [[ $c == 200 ]]; then count allowed_ok; else fail "HTTPS keep-alive $fam: HTTP $c"; fi
    done
    for ((c = $(wc -w <<<"$codes"); c < 5; c++)); do fail "HTTPS keep-alive $fam: no answer"; done
    sleep 0.2
  done
}

# denied_try DESC CURL_ARGS...: a denied request; any HTTP answer is a leak.
denied_try() {
  local desc="$1" code
  shift
  code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$@")
  if [[ $code == 000 ]]; then count denied_blocked; else leak "$desc answered HTTP $code" denied_leaked; fi
}

denied() {
  local ca="$1" cdn="$2" round fam name status i=0
  local exfil
  # The lab's DNS-tunnel names (scripts/lab.d/exfil.sh).
  # shellcheck source=../lab.d/exfil.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../lab.d/exfil.sh"
  mapfile -t exfil < <(fw_exfil_names)
  for ((round = 0; round < max_rounds; round++)); do
    running || break
    fam=-4
    ((round % 2)) && fam=-6
    # Vendor cloud upload: its DNS question is refused, so nothing connects.
    denied_try "vendor upload flightlog.dji.com" "$fam" --cacert "$ca" \
      --data "flightlog=$round" "https://flightlog.dji.com/upload"
    # A denied tenant on the allowed tile CDN's address (attested by DNS for
    # the tile names): only the SNI / Host tells them apart.
    denied_try "CDN upload (TLS) $cdn" "$fam" --cacert "$ca" --data "telemetry=$round" \
      --resolve "$cdn:443:198.51.100.10" --resolve "$cdn:443:[2001:db8:100::10]" \
      "https://$cdn/upload"
    denied_try "CDN upload (HTTP) $cdn" "$fam" --data "telemetry=$round" \
      --resolve "$cdn:80:198.51.100.10" --resolve "$cdn:80:[2001:db8:100::10]" \
      "http://$cdn/upload"
    # A hard-coded address, no DNS at all.
    denied_try "hard-coded IP 203.0.113.77:8443" -4 --data "serial=1ZNBJ7A00C0001" \
      "http://203.0.113.77:8443/upload"
    # DNS tunnel: a TXT question for the next chunk; the daemon answers
    # REFUSED itself (or drops it), the resolver must never see it.
    name=${exfil[i % ${#exfil[@]}]}
    i=$((i + 1))
    status=$(dig +time=2 +tries=1 TXT "$name" 2>/dev/null | grep -o 'status: [A-Z]*')
    if [[ -z "$status" || "$status" == "status: REFUSED" ]]; then
      count denied_blocked
    else
      leak "DNS tunnel $name answered ($status)" denied_leaked
    fi
    sleep 0.5
  done
}

adversary() {
  local kit="$1" py="$2" cdn="$3" round attack fam slot line
  # Evasions that must each be denied without starving legitimate clients:
  # no pool exhaustion here (daemon_adversary_test covers it).
  local attacks=(tls-denied-sni tls-oversize tls-too-large tls-malformed tls-multirecord
    tls-tcp-1byte tls-records-1byte tls-out-of-order tls-overlap tls-retransmit-after-deny
    tls-ip-fragments tls-ech tls-no-sni-http-host opaque-on-443 http-no-host
    http-retransmit-after-deny dns-tcp-retransmit dns-tcp-pipelined quic-unknown-version)
  if "$py" -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null; then
    attacks+=(quic-denied-sni)
  fi
  for ((round = 0; round < max_rounds; round++)); do
    running || break
    attack=${attacks[round % ${#attacks[@]}]}
    fam=4
    (((round / ${#attacks[@]}) % 2)) && fam=6
    # 60 port slots, reused round-robin (a slot comes back after minutes,
    # long after TIME_WAIT).
    slot=$((round % 60))
    line=$(timeout 25 "$py" "$kit" "$attack" --family "$fam" --kport $((20000 + slot * 320)) \
      --rport $((40000 + slot * 150)) --denied "$cdn" --timeout 10 2>/dev/null | tail -n 1)
    count adversary_runs
    echo "$line" >>"$counts/adversary.jsonl"
    # The client got the denied tenant's answer: an HTTP status, a TLS
    # handshake or a DNS answer means its request reached the server.
    if grep -q -e '"http_status": [1-9]' -e '"server_hello": true' -e '"handshake": true' \
      -e '"tls_handshake": true' -e '"status": "NOERROR"' <<<"$line"; then
      leak "adversary $attack (IPv$fam): ${line:0:200}" adversary_leaked
    fi
    sleep 0.3
  done
}

case "$kind" in
  allowed) allowed "$@" ;;
  denied) denied "$@" ;;
  adversary) adversary "$@" ;;
  *) echo "traffic.sh: unknown kind '$kind'" >&2; exit 2 ;;
esac
