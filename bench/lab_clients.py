#!/usr/bin/env python3
"""Traffic generators for scripts/bench, run inside the lab's namespaces.

Each subcommand prints one JSON object on stdout and is bounded in count and
time (--max-seconds). Only the lab's documentation addresses are used.

  latency   N new allowed connections, one after another: a DNS lookup on a
            fresh socket, then TCP + TLS; per connection the DNS time, the TCP
            handshake (SYN to SYN/ACK) and SYN to the first response byte (the
            server's first TLS record, which the server sends only once the
            ClientHello passed); p50/p99 of each (--raw keeps every row).
  summarize the same p50/p99 over the --raw files of several latency runs.
  rate      new plain-HTTP connections (GET, Connection: close) from P
            processes for S seconds: connections per second.
  sessions  many short DNS, HTTPS and HTTP sessions to allowed and denied lab
            names, for a capture with real clients.
  dnsd      a synthetic resolver (server namespace): n<i>.bench.tiles.mapbox.com
            AAAA -> 2001:db8:a:<i/65536>:<i%65536>::1, for the memory test.
  flowgen   the memory test's client: looks up names start..end through dnsd
            (a window of questions in flight) and sends one TCP SYN to each
            answered address, so the daemon holds one name and one flow per i.
"""
import argparse
import json
import multiprocessing
import os
import random
import select
import socket
import ssl
import struct
import sys
import time


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    i = max(1, min(len(v), int(p / 100.0 * len(v) + 0.999999)))
    return v[i - 1]


def dns_query(name, qtype, qid):
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return header + q + struct.pack("!HH", qtype, 1)


def lookup(resolver, name, timeout=2.0):
    """One A lookup on a fresh socket (a new flow); returns (seconds, addr)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        qid = random.randrange(65536)
        t0 = time.perf_counter()
        s.sendto(dns_query(name, 1, qid), (resolver, 53))
        while True:
            data = s.recv(2048)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                break
        t1 = time.perf_counter()
    finally:
        s.close()
    ancount = struct.unpack("!H", data[6:8])[0]
    addr = socket.inet_ntoa(data[-4:]) if ancount and data[-6:-4] == b"\x00\x04" else None
    return t1 - t0, addr


def tls_get(addr, port, host, ctx, path, timeout=3.0):
    """Returns (connect_s, first_byte_s, total_s, status, body_bytes), all from
    just before connect() (the SYN)."""
    sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        t0 = time.perf_counter()
        sock.connect((addr, port))
        t_conn = time.perf_counter()
        t_first = None
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = outgoing.read()
                if pending:
                    sock.sendall(pending)
                data = sock.recv(65536)
                if t_first is None:
                    t_first = time.perf_counter()
                if not data:
                    raise ConnectionError("closed during the TLS handshake")
                incoming.write(data)
        tls.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        sock.sendall(outgoing.read())
        body = b""
        while True:
            try:
                chunk = tls.read(65536)
                if not chunk:
                    break
                body += chunk
                continue
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                break
            pending = outgoing.read()
            if pending:
                sock.sendall(pending)
            data = sock.recv(65536)
            if not data:
                break
            incoming.write(data)
        t_end = time.perf_counter()
    finally:
        sock.close()
    status = int(body.split(b" ", 2)[1]) if body.startswith(b"HTTP/") else 0
    return t_conn - t0, t_first - t0, t_end - t0, status, len(body)


def http_get(addr, port, host, path, timeout=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        body = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            body += d
    finally:
        s.close()
    return int(body.split(b" ", 2)[1]) if body.startswith(b"HTTP/") else 0


def cmd_latency(a):
    ctx = ssl.create_default_context(cafile=a.cafile)
    rows, failed = [], 0
    deadline = time.monotonic() + a.max_seconds
    for _ in range(a.count):
        if time.monotonic() > deadline:
            break
        try:
            dns_s, addr = lookup(a.resolver, a.host)
            c, f, t, status, _ = tls_get(addr or a.addr, 443, a.host, ctx, a.path)
            if status != 200:
                raise ConnectionError(f"status {status}")
            rows.append((dns_s, c, f, t))
        except (OSError, ssl.SSLError, ConnectionError, ValueError, TypeError):
            failed += 1
    if a.raw:
        with open(a.raw, "a", encoding="utf-8") as f:
            f.writelines(" ".join(f"{x:.9f}" for x in r) + "\n" for r in rows)
            f.write(f"failed {failed}\n")
    summarize(rows, failed)


def cmd_summarize(a):
    """Percentiles over the raw rows of several latency runs (--raw files)."""
    rows, failed = [], 0
    for path in a.files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if p and p[0] == "failed":
                    failed += int(p[1])
                elif len(p) == 4:
                    rows.append(tuple(float(x) for x in p))
    summarize(rows, failed)


def summarize(rows, failed):
    out = {"connections": len(rows), "failed": failed}
    for k, name in enumerate(("dns", "tcp_connect", "syn_to_first_byte", "total")):
        vals = [r[k] * 1000.0 for r in rows]
        out[f"{name}_p50_ms"] = percentile(vals, 50)
        out[f"{name}_p99_ms"] = percentile(vals, 99)
        out[f"{name}_mean_ms"] = sum(vals) / len(vals) if vals else None
    print(json.dumps(out))


def _rate_worker(args):
    addr, port, host, path, seconds = args
    ok = failed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if http_get(addr, port, host, path) == 200:
                ok += 1
            else:
                failed += 1
        except OSError:
            failed += 1
    return ok, failed


def cmd_rate(a):
    t0 = time.perf_counter()
    with multiprocessing.Pool(a.procs) as pool:
        res = pool.map(_rate_worker, [(a.addr, 80, a.host, a.path, a.seconds)] * a.procs)
    elapsed = time.perf_counter() - t0
    ok = sum(r[0] for r in res)
    print(json.dumps({"connections": ok, "failed": sum(r[1] for r in res), "seconds": elapsed,
                      "connections_per_s": ok / a.seconds}))


# Names the lab's resolver answers: allowed tile hosts, denied vendor and
# analytics hosts (the capture then holds attempts and, without a daemon,
# leaks, as an auditor's capture would).
SESSION_MIX = [
    ("https", "a.tiles.mapbox.com", "/v4/mapbox.satellite/1/0/0.png"),
    ("https", "api.mapbox.com", "/v4/mapbox.satellite/1/0/0.png"),
    ("https", "b.tiles.mapbox.com", "/v4/mapbox.satellite/1/0/0.png"),
    ("http", "tile.openstreetmap.org", "/1/0/0.png"),
    ("https", "flightlog.dji.com", "/upload"),
    ("https", "tile.openstreetmap.org", "/1/0/0.png"),
    ("dns", "firebaseinstallations.googleapis.com", None),
    ("dns", "flysafe.dji.com", None),
]


def _session_worker(args):
    resolver, cafile, seconds, count, seed = args
    rnd = random.Random(seed)
    ctx = ssl.create_default_context(cafile=cafile)
    done = {"https": 0, "http": 0, "dns": 0, "failed": 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end and sum(done.values()) < count:
        kind, host, path = rnd.choice(SESSION_MIX)
        try:
            _, addr = lookup(resolver, host)
            if kind == "https" and addr:
                tls_get(addr, 443, host, ctx, path)
            elif kind == "http" and addr:
                http_get(addr, 80, host, path)
            done[kind] += 1
        except (OSError, ssl.SSLError, ConnectionError, ValueError, TypeError):
            done["failed"] += 1
    return done


def cmd_sessions(a):
    with multiprocessing.Pool(a.procs) as pool:
        res = pool.map(_session_worker, [(a.resolver, a.cafile, a.max_seconds, a.count // a.procs, i)
                                         for i in range(a.procs)])
    total = {k: sum(r[k] for r in res) for k in res[0]}
    print(json.dumps(total))


def synth_addr(i):
    return b"\x20\x01\x0d\xb8\x00\x0a" + struct.pack("!HH", i >> 16, i & 0xFFFF) + b"\x00" * 5 + b"\x01"


def cmd_dnsd(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((a.addr, 53))
    s.settimeout(0.5)
    suffix = b"\x05bench\x05tiles\x06mapbox\x03com\x00"
    answered = 0
    end = time.monotonic() + a.max_seconds
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 17:
            continue
        qlen = data[12]
        label = data[13:13 + qlen]
        qend = 13 + qlen + len(suffix)
        ok = (label[:1] == b"n" and label[1:].isdigit() and data[13 + qlen:qend] == suffix and
              data[qend:qend + 2] == b"\x00\x1c")
        question = data[12:qend + 4]
        if ok:
            hdr = data[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
            rr = b"\xc0\x0c\x00\x1c\x00\x01" + struct.pack("!IH", 3600, 16) + synth_addr(int(label[1:]))
            s.sendto(hdr + question + rr, peer)
            answered += 1
        else:
            s.sendto(data[:2] + b"\x81\x83" + b"\x00\x01\x00\x00\x00\x00\x00\x00" + question, peer)


def tcp_syn(sport, dport, seq):
    # Checksum left 0: the kernel fills it in (IPV6_CHECKSUM).
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)


def cmd_flowgen(a):
    socks = []
    for _ in range(a.sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.connect((a.resolver, 53))
        s.setblocking(False)
        socks.append(s)
    raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
    # IPV6_CHECKSUM (7): the kernel fills in the TCP checksum at offset 16.
    raw.setsockopt(socket.IPPROTO_IPV6, getattr(socket, "IPV6_CHECKSUM", 7), 16)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    raw.bind((a.syn_source, 0))
    poller = select.poll()
    by_fd = {}
    for s in socks:
        poller.register(s.fileno(), select.POLLIN)
        by_fd[s.fileno()] = s
    inflight = {}
    nxt, answered, syns, lost = a.start, 0, 0, 0
    t0 = time.monotonic()
    deadline = t0 + a.max_seconds
    while (nxt < a.end or inflight) and time.monotonic() < deadline:
        now = time.monotonic()
        while len(inflight) < a.window and nxt < a.end:
            try:
                socks[nxt % len(socks)].send(dns_query(f"n{nxt}.bench.tiles.mapbox.com", 28, nxt & 0xFFFF))
            except BlockingIOError:
                break
            inflight[nxt] = now
            nxt += 1
        for fd, _ in poller.poll(100):
            s = by_fd[fd]
            for _ in range(64):
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                qlen = data[12] if len(data) > 13 else 0
                label = data[14:13 + qlen]
                if not label.isdigit():
                    continue
                i = int(label)
                if inflight.pop(i, None) is None:
                    continue
                answered += 1
                if struct.unpack("!H", data[6:8])[0] == 1 and len(data) >= 16:
                    dst = socket.inet_ntop(socket.AF_INET6, data[-16:])
                    try:
                        raw.sendto(tcp_syn(1024 + i % 64000, 443, i), (dst, 0))
                        syns += 1
                    except OSError:
                        pass
        if inflight and (now := time.monotonic()) - min(inflight.values()) > 2.0:
            for i in [i for i, t in inflight.items() if now - t > 2.0]:
                del inflight[i]
                lost += 1
    print(json.dumps({"names_asked": nxt - a.start, "answered": answered, "syns": syns,
                      "lost": lost, "seconds": time.monotonic() - t0}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--max-seconds", type=float, default=120)
    common.add_argument("--resolver", default="203.0.113.53")
    common.add_argument("--cafile")
    common.add_argument("--addr", default="198.51.100.10")
    common.add_argument("--host", default="a.tiles.mapbox.com")
    common.add_argument("--path", default="/v4/mapbox.satellite/1/0/0.png")
    s = sub.add_parser("latency", parents=[common])
    s.add_argument("--count", type=int, default=2000)
    s.add_argument("--raw", help="append each connection's times (s) to this file")
    s = sub.add_parser("summarize")
    s.add_argument("files", nargs="+")
    s = sub.add_parser("rate", parents=[common])
    s.add_argument("--seconds", type=float, default=5)
    s.add_argument("--procs", type=int, default=2)
    s = sub.add_parser("sessions", parents=[common])
    s.add_argument("--count", type=int, default=5000)
    s.add_argument("--procs", type=int, default=2)
    s = sub.add_parser("dnsd", parents=[common])
    s = sub.add_parser("flowgen", parents=[common])
    s.add_argument("--start", type=int, default=0)
    s.add_argument("--end", type=int, default=10000)
    s.add_argument("--window", type=int, default=256)
    s.add_argument("--sockets", type=int, default=8)
    s.add_argument("--syn-source", default="2001:db8:1::10")
    a = p.parse_args()
    if a.cmd == "rate":
        a.seconds = min(a.seconds, a.max_seconds)
    {"latency": cmd_latency, "summarize": cmd_summarize, "rate": cmd_rate, "sessions": cmd_sessions,
     "dnsd": cmd_dnsd, "flowgen": cmd_flowgen}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
