#!/usr/bin/env bash
# The flight app as a server: instead of connecting out, the app listens and
# lets the vendor's cloud connect in (IPv6 needs no port forwarding), then
# sends its data as the "server" of that connection, where a firewall that
# only judges what clients send would not look. The cloud's TCP connection
# carries a plain HTTP request naming an allowed tile host, so that the app's
# answer looks like a tile server's data; over UDP the app answers each
# datagram. Checked over IPv4 and IPv6 with a real listener in the tablet,
# a real client in the far side and tcpdump on both sides:
#  - the tablet did answer (its SYN-ACKs and UDP replies leave the tablet:
#    the attack happened);
#  - nothing the tablet sent reaches the far side: no SYN-ACK, no payload;
#    the cloud's client reads 0 bytes;
#  - the event log records each attempt as denied, with the reason.
# Runs as root (ctest); exit 77 when requirements are missing.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail
# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_test_up daemon_inbound_test "fwi$$"

POLICY="$DL_DIR/policy.yaml"
CONFIG="$DL_DIR/flightwall.yaml"
PORT=8080
dl_write_policy "$POLICY" enforce
# The allowed tile hosts on the listener's port too: only where the app
# stands in the connection may decide.
sed -i "s/^    ports: \[443\]$/    ports: [443, 80, $PORT]/" "$POLICY"
dl_write_config "$CONFIG" "$POLICY" closed decisions

# The app: answers every TCP connection and UDP datagram with its flight
# log, on IPv4 and IPv6, until its deadline. Prints "ready" once bound.
cat >"$DL_DIR/app_server.py" <<'EOF'
import socket
import sys
import threading
import time

port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
log = b"FLIGHTLOG LAT=46.51234;LON=6.63201;ALT=118;" * 200


def serve_tcp(s):
    while time.time() < deadline:
        try:
            conn, _ = s.accept()
        except socket.timeout:
            continue
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(4096)
                conn.sendall(log)
            except OSError:
                pass


def serve_udp(s):
    while time.time() < deadline:
        try:
            _, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        s.sendto(log[:1000], peer)


threads = []
for family, any_address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for kind, serve in ((socket.SOCK_STREAM, serve_tcp), (socket.SOCK_DGRAM, serve_udp)):
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((any_address, port))
        if kind == socket.SOCK_STREAM:
            s.listen(8)
        s.settimeout(0.5)
        threads.append(threading.Thread(target=serve, args=(s,), daemon=True))
for t in threads:
    t.start()
print("ready", flush=True)
for t in threads:
    t.join()
EOF

# The cloud: connects in, asks for a "tile", reads what comes; then three
# UDP datagrams. Prints: tcp=BYTES|refused|timeout udp=BYTES
cat >"$DL_DIR/cloud_client.py" <<'EOF'
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
tcp = 0
try:
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(b"GET /v4/mapbox.satellite/1/0/0.png HTTP/1.1\r\nHost: a.tiles.mapbox.com\r\n\r\n")
    while True:
        data = s.recv(65536)
        if not data:
            break
        tcp += len(data)
    tcp = str(tcp)
except ConnectionRefusedError:
    tcp = "refused"
except OSError:
    tcp = "timeout" if not tcp else str(tcp)
u = socket.socket(family, socket.SOCK_DGRAM)
u.settimeout(1)
udp = 0
for _ in range(3):
    u.sendto(b"send me the log", (host, port))
    try:
        udp += len(u.recv(4096))
    except OSError:
        pass
print("tcp=%s udp=%d" % (tcp, udp))
EOF

TABLET_V4=192.0.2.10
TABLET_V6=2001:db8:1::10
FROM_TABLET="src host $TABLET_V4 or src host $TABLET_V6"
dl_witness server "$DL_DIR/far.pcap" "$FROM_TABLET"
FAR_CAP=$DL_CAPTURE_PID
dl_witness client "$DL_DIR/tablet.pcap" "$FROM_TABLET"
TABLET_CAP=$DL_CAPTURE_PID
if dl_start_daemon "$CONFIG" inbound; then
  coproc APP { dl_c timeout 60 python3 "$DL_DIR/app_server.py" "$PORT" 50 2>&1; }
  read -r -t 10 ready <&"${APP[0]}"
  check "the app listens in the tablet" equals ready "${ready:-}"
  for host in "$TABLET_V4" "$TABLET_V6"; do
    result=$(dl_s timeout 30 python3 "$DL_DIR/cloud_client.py" "$host" "$PORT" 2>&1)
    echo "  cloud -> $host: $result"
    check "$host: the cloud's TCP connection into the app carries nothing back" \
      grep -Eq '^tcp=(timeout|refused|0) ' <<<"$result"
    check "$host: the app's UDP answers never reach the cloud" grep -q ' udp=0$' <<<"$result"
  done
  sleep 0.5
  check "the far-side witness missed no packet" dl_capture_stop "$FAR_CAP"
  check "the tablet-side witness missed no packet" dl_capture_stop "$TABLET_CAP"
  tablet_syn_acks=$(tshark -r "$DL_DIR/tablet.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1' 2>/dev/null | wc -l)
  tablet_udp=$(tshark -r "$DL_DIR/tablet.pcap" -Y "udp.srcport == $PORT && udp.length > 8" 2>/dev/null | wc -l)
  echo "  the tablet sent $tablet_syn_acks SYN-ACKs and $tablet_udp UDP answers"
  check "the attack happened: the tablet answered both TCP connections (>= 2 SYN-ACKs)" \
    test "$tablet_syn_acks" -ge 2
  # Once its first answer is denied the connection is dropped in the kernel,
  # so the cloud's next datagrams never reach the app: one answer a family.
  check "the attack happened: the tablet answered the first datagram (>= 2 UDP answers)" \
    test "$tablet_udp" -ge 2
  far_syn_acks=$(tshark -r "$DL_DIR/far.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1' 2>/dev/null | wc -l)
  far_payload=$(tshark -r "$DL_DIR/far.pcap" -Y 'tcp.len > 0 || (udp && udp.length > 8)' 2>/dev/null | wc -l)
  check "no SYN-ACK of the tablet reached the far side" equals 0 "$far_syn_acks"
  check "no TCP or UDP payload of the tablet reached the far side" equals 0 "$far_payload"
  kill "$APP_PID" 2>/dev/null
  wait "$APP_PID" 2>/dev/null
  dl_stop_daemon TERM
  for proto in tcp udp; do
    for host in "$TABLET_V4" "$TABLET_V6"; do
      check "the event log denies the $proto attempt on $host:$PORT and says why" \
        grep -Eq "\"protocol\":\"$proto\".*\"(src|dst)\":\"$host\".*\"verdict\":\"deny\".*\"reason\":\"[a-z-]+\"" \
        "$DL_DIR/events.jsonl"
    done
  done
  check "SIGTERM exits 0" equals 0 "$DL_DAEMON_RC"
else
  dl_capture_stop "$FAR_CAP"
  dl_capture_stop "$TABLET_CAP"
  check "flightwall run reaches READY" false
fi

dl_finish
