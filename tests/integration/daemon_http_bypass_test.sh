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


family = socket.AF_INET6 if sys.argv[1:] == ["6"] else socket.AF_INET
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
sock.sendall(b"POST /upload HTTP/1.1\r\nHost: flightlog.dji.com\r\nContent-Length: "
             + str(len(upload)).encode() + b"\r\n\r\n" + upload)
sock.settimeout(5)
try:
    denied = "answered-%d" % response(sock, rest)[0]
except (ConnectionResetError, EOFError):
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
queued() { # packets queue 0 has handed out so far (id_sequence)
  dl_g cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '$1 == 0 { print $8 }'
}

dl_capture_start "$DL_NS_S" eth0 "$DL_DIR/server.pcap" "tcp port 80" ||
  { echo "FAIL: tcpdump on the server side"; exit 1; }
SERVER_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$CONFIG" http; then
  queued_total=0
  for family in 4 6; do
    before=$(queued)
    read -r result < <(dl_c timeout 60 python3 "$DL_DIR/keepalive.py" "$family" 2>"$DL_DIR/client.err")
    after=$(queued)
    queued_total=$((queued_total + ${after:-0} - ${before:-0}))
    echo "  IPv$family client: ${result:-nothing} $(tail -n 1 "$DL_DIR/client.err")"
    check "IPv$family: the 20 MiB download arrived whole" \
      grep -q "^bulk=$((20 * 1024 * 1024)) " <<<"${result:-}"
    check "IPv$family: the next allowed request on the kept-alive connection got its tile" \
      grep -q " tile=200 " <<<"${result:-}"
    check "IPv$family: the upload naming a denied host on the same connection got no answer" \
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
  dl_capture_stop "$SERVER_CAP"
  sent=$(tcpdump -r "$DL_DIR/server.pcap" -n 'src port 80 and greater 200' 2>/dev/null | wc -l)
  echo "  server sent ${sent} data packets; queue 0 handed out ${queued_total} packets"
  check "the server's data passed in the kernel (queued < half of what the server sent)" \
    test "$queued_total" -lt "$((sent / 2))"
  check "no byte naming flightlog.dji.com reached the server" \
    equals 0 "$(tcpdump -r "$DL_DIR/server.pcap" -n -A 'dst port 80' 2>/dev/null | grep -c flightlog)"
  dl_stop_daemon TERM
  check "the event log names the denied host and why" \
    grep -q '"hostname":"flightlog.dji.com".*"reason":"name-not-allowed"' "$DL_DIR/events.jsonl"
  check "SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
else
  dl_capture_stop "$SERVER_CAP"
  check "flightwall run reaches READY" false
fi

dl_finish
