#!/usr/bin/env bash
# Plain HTTP between requests: once the tile server has acknowledged every
# byte of a request, the daemon lets the kernel pass the server's data
# (connmark "requests": the reply direction's packets that carry payload),
# while everything the client sends is still queued and judged. Checked with
# a real nginx, a keep-alive client and tcpdump on the server side:
#  - over IPv4 and IPv6, a 20 MiB download arrives whole, with far fewer
#    packets queued than the server sent (the kernel's queue counter is the
#    witness);
#  - the next request on the same connection is still read: an allowed one
#    gets its tile, then one naming a denied host (fronting on a kept-alive
#    connection) gets no answer and never reaches the server;
#  - the event log names the denied host and its reason;
#  - the server's data, and a 20 MiB HTTPS download once its ClientHello was
#    allowed, passed on the rules' fast path (first in FLIGHTWALL: decided
#    connections skip the selectors and the queue rules), by its counters.
# Runs as root (ctest); exit 77 when requirements are missing.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail
# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
export DL_BULK_MB=20
dl_test_up daemon_http_bypass_test "fwh$$"

POLICY="$DL_DIR/policy.yaml"
CONFIG="$DL_DIR/flightwall.yaml"
dl_write_policy "$POLICY" enforce
sed -i 's/^    ports: \[443\]$/    ports: [443, 80]/' "$POLICY"
dl_write_config "$CONFIG" "$POLICY" closed decisions

# The keep-alive client: resolves the tile host through the gateway (the
# answer attests the address), downloads /bulk.bin, fetches a tile, then
# sends an upload naming flightlog.dji.com on the same connection.
# Prints: bulk=BYTES tile=STATUS denied=OUTCOME
cat >"$DL_DIR/keepalive.py" <<'EOF'
import socket
import sys
import time


def response(sock, buf):
    """Reads one HTTP response; returns (status, body length, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed before a response head")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(buf) < length:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise EOFError("closed in a body")
        buf += chunk
    return status, length, buf[length:]


family = socket.AF_INET6 if sys.argv[1:2] == ["6"] else socket.AF_INET
address = socket.getaddrinfo("a.tiles.mapbox.com", 80, family, socket.SOCK_STREAM)[0][4]
sock = socket.create_connection(address[:2], timeout=10)
get = "GET {} HTTP/1.1\r\nHost: a.tiles.mapbox.com\r\nConnection: keep-alive\r\n\r\n"
sock.sendall(get.format("/bulk.bin").encode())
status, bulk, rest = response(sock, b"")
if status != 200:
    bulk = -status
sock.sendall(get.format("/v4/mapbox.satellite/1/0/0.png").encode())
tile, _, rest = response(sock, rest)
upload = b"LAT=46.51234;LON=6.63201;ALT=118;" * 8
post = (b"POST /upload HTTP/1.1\r\nHost: flightlog.dji.com\r\nContent-Length: "
        + str(len(upload)).encode() + b"\r\n\r\n" + upload)
sock.settimeout(5)
try:
    if sys.argv[2:] == ["tiny"]:
        # The attack on a "pure ACK" rule: segments of 1, 2 and 3 bytes, as
        # close to an ACK as data gets (Nagle off; a pause so that each send
        # leaves as its own segment).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        at = 0
        while at < len(post):
            size = 1 + at % 3
            sock.send(post[at:at + size])
            at += size
            time.sleep(0.002)
    else:
        sock.sendall(post)
    denied = "answered-%d" % response(sock, rest)[0]
except (ConnectionResetError, BrokenPipeError, EOFError):
    denied = "reset"
except socket.timeout:
    denied = "no-answer"
print("bulk=%d tile=%d denied=%s" % (bulk, tile, denied))
EOF

# fast_path_bytes MARK: bytes the fast-path ACCEPT rules for connmark MARK
# (0x50000000 allowed, 0x44000000 requests) passed, IPv4 and IPv6 together.
fast_path_bytes() {
  { dl_g iptables-save -c -t mangle; dl_g ip6tables-save -c -t mangle; } 2>/dev/null |
    awk -v m="--mark $1/0x74000000" 'index($0, "-A FLIGHTWALL ") && index($0, m) && /-j ACCEPT$/ {
      n = $1; gsub(/[^0-9:]/, "", n); split(n, c, ":"); b += c[2] } END { print b + 0 }'
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
queued() { # packets queue 0 has handed out so far (id_sequence)
  dl_g cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '$1 == 0 { print $8 }'
}

# The witnesses record the segments the client sends that carry payload
# (the server's 80 MiB and the client's pure ACKs would make tcpdump drop
# packets on a busy machine, and a witness must miss nothing).
dl_witness server "$DL_DIR/server.pcap" "tcp dst port 80 and $DL_TCP_PAYLOAD"
SERVER_CAP=$DL_CAPTURE_PID
dl_witness client "$DL_DIR/client.pcap" "tcp dst port 80 and $DL_TCP_PAYLOAD"
CLIENT_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$CONFIG" http; then
  queued_total=0
  for run in 4 6 "4 tiny" "6 tiny"; do
    read -r family how <<<"$run"
    what="IPv$family${how:+, the upload in 1-3 byte segments}"
    before=$(queued)
    # shellcheck disable=SC2086  # $run is the client's two arguments
    read -r result < <(dl_c timeout 60 python3 "$DL_DIR/keepalive.py" $run 2>"$DL_DIR/client.err")
    after=$(queued)
    queued_total=$((queued_total + ${after:-0} - ${before:-0}))
    echo "  $what: ${result:-nothing}, queued $((${after:-0} - ${before:-0})) $(tail -n 1 "$DL_DIR/client.err")"
    check "$what: the 20 MiB download arrived whole" \
      grep -q "^bulk=$((20 * 1024 * 1024)) " <<<"${result:-}"
    check "$what: the next allowed request on the kept-alive connection got its tile" \
      grep -q " tile=200 " <<<"${result:-}"
    check "$what: the upload naming a denied host on the same connection got no answer" \
      grep -Eq " denied=(reset|no-answer)$" <<<"${result:-}"
  done
  requests_fast=$(fast_path_bytes 0x44000000)
  echo "  fast path for plain HTTP's server data: $requests_fast bytes"
  check "the server's data took the fast path (>= 30 MiB of the 2 x 20 MiB)" \
    test "$requests_fast" -ge $((30 * 1024 * 1024))
  allowed_before=$(fast_path_bytes 0x50000000)
  check "a 20 MiB HTTPS download arrives" equals 200 \
    "$(DL_CURL_TIMEOUT=30 dl_fetch a.tiles.mapbox.com /bulk.bin)"
  allowed_fast=$(($(fast_path_bytes 0x50000000) - allowed_before))
  echo "  fast path for the allowed HTTPS download: $allowed_fast bytes"
  check "the allowed HTTPS connection took the fast path (>= 15 MiB of 20)" \
    test "$allowed_fast" -ge $((15 * 1024 * 1024))
  sleep 0.5
  check "the server-side witness missed no packet" dl_capture_stop "$SERVER_CAP"
  check "the client-side witness missed no packet" dl_capture_stop "$CLIENT_CAP"
  tiny=$(tshark -r "$DL_DIR/client.pcap" -Y 'tcp.len >= 1 && tcp.len <= 3' 2>/dev/null | wc -l)
  # 4 x 20 MiB in segments of at most 1460 bytes: >= 57,000 server packets,
  # a pure ACK from the client for every one or two of them.
  bound=$((4 * 20 * 1024 * 1024 / 1460 / 20))
  echo "  the client sent ${tiny} segments of 1-3 bytes;" \
    "queue 0 handed out ${queued_total} packets in all"
  check "the server's data and the client's pure ACKs passed in the kernel (queued < $bound, 1/20 of the server's packets)" \
    test "$queued_total" -lt "$bound"
  # The request line and Host header alone are 48 bytes: >= 16 segments.
  check "the attack happened: the client sent >= 16 segments of 1-3 bytes" test "$tiny" -ge 16
  # What the server received, each connection's bytes joined in order of
  # capture (tshark's stream index), so a name cut into 1-byte segments is
  # found as well: neither the name nor the request line may be there.
  streams=$(tshark -r "$DL_DIR/server.pcap" -Y 'tcp.dstport == 80 && tcp.len > 0' \
    -T fields -e tcp.stream -e tcp.payload 2>/dev/null | tr -d ':' |
    awk '{ s[$1] = s[$1] $2 } END { for (k in s) print s[k] }')
  check "the server received the allowed requests (the witness reads them)" \
    test "$(grep -c "$(hex 'Host: a.tiles')" <<<"$streams")" -ge 4
  check "no byte of the upload naming flightlog.dji.com reached the server, whole or in segments" \
    equals 0 "$(grep -cE "$(hex flightlog)|$(hex 'POST /upload')" <<<"$streams")"
  dl_stop_daemon TERM
  check "the event log names the denied host and why" \
    grep -q '"hostname":"flightlog.dji.com".*"reason":"name-not-allowed"' "$DL_DIR/events.jsonl"
  check "SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
else
  dl_capture_stop "$SERVER_CAP"
  check "flightwall run reaches READY" false
fi

dl_finish
