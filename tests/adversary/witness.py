#!/usr/bin/env python3
"""The auditor's side of the adversary kit: judges each attack from outside
the firewall.

Inputs: the kit's JSON lines (one per attack, naming the flows that carried
the denied data), a capture taken on the far side of the firewall, the
firewall's event log, nginx's access log and dnsmasq's query log. For every
attack it reports

  - the payload bytes of the attack's flows that reached the far side (TCP
    payload, UDP payload, ICMP error bodies; IP fragments reassembled),
  - whether the denied name's bytes were in any of those packets (QUIC
    Initials are decrypted first, as anyone can),
  - nginx requests and dnsmasq queries made from the attack's client ports,
  - the reasons of the firewall's events for those flows,

and PASS when nothing got out and an event names the expected reason.
It also scans the whole capture and both logs for the denied name.

  witness.py --attacks attacks.jsonl --pcap far.pcap --events events.jsonl \\
      --nginx access.log --dnsmasq dnsmasq.log --denied NAME --json out.json
"""

import argparse
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import quic_craft  # noqa: E402
from netio import ICMP, ICMPV6, TCP, UDP, parse_icmp_quote, parse_ip, parse_tcp  # noqa: E402

# What the firewall must say for each attack (the -v6 variants alike).
EXPECTED = {
    "tls-denied-sni": ["name-not-allowed"],
    "tls-oversize": ["name-not-allowed"],
    "tls-too-large": ["too-large"],
    "tls-malformed": ["malformed"],
    "tls-multirecord": ["name-not-allowed"],
    "tls-tcp-1byte": ["name-not-allowed"],
    "tls-partial-then-ack": ["name-not-allowed"],
    "tls-records-1byte": ["name-not-allowed"],
    "tls-out-of-order": ["gap"],
    "tls-overlap": ["overlap-conflict"],
    # Whether the firewall checks TCP checksums decides which copy it reads.
    "tls-overlap-badsum": ["overlap-conflict", "name-not-allowed", "malformed"],
    "tls-retransmit-after-deny": ["name-not-allowed"],
    "tls-ip-fragments": ["name-not-allowed"],
    "tls-ech": ["encrypted-client-hello"],
    "tls-no-sni-http-host": ["no-name-revealed"],
    "tls-pool-exhaustion": ["pool-exhausted"],
    # Denied flows give their slot back: the last one is judged by name.
    "tls-denied-flood": ["name-not-allowed"],
    "opaque-on-443": ["unrecognized-protocol"],
    "http-no-host": ["no-name-revealed"],
    "http-retransmit-after-deny": ["name-not-allowed"],
    "dns-tcp-retransmit": ["dns-name-not-allowed"],
    "dns-tcp-pipelined": ["dns-name-not-allowed"],
    "dns-tcp-exhaustion": ["pool-exhausted"],
    "dns-icmp-quote": ["icmp-error-of-dns"],
    "quic-denied-sni": ["name-not-allowed"],
    "quic-unknown-version": ["unknown-version"],
    "quic-pool-exhaustion": ["pool-exhausted"],
}


# With the default pool sizes the kit's holders may not fill a pool (if its
# default grew): then the last flow is judged by name, which is no leak
# either. With small pools ("@small-pools") exhaustion is certain.
DEFAULT_POOLS_ALSO = {
    "tls-pool-exhaustion": ["name-not-allowed"],
    "dns-tcp-exhaustion": ["dns-name-not-allowed"],
    "quic-pool-exhaustion": ["name-not-allowed"],
}


def expected_reasons(attack):
    name = base_name(attack)
    expected = list(EXPECTED.get(name, []))
    if "@" not in attack:
        expected += DEFAULT_POOLS_ALSO.get(name, [])
    return expected


def base_name(attack):
    name = re.sub(r"-v6$", "", attack)
    return re.sub(r"@.*$", "", name)  # "tls-pool-exhaustion@small-pools"


# --- capture -------------------------------------------------------------
def read_pcap(path):
    """Yields the link-layer frames of a pcap file (Ethernet or raw IP)."""
    with open(path, "rb") as f:
        header = f.read(24)
        if len(header) < 24:
            return
        magic = header[:4]
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        linktype = struct.unpack(endian + "I", header[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl = struct.unpack(endian + "IIII", rec)[2]
            frame = f.read(incl)
            if linktype == 1:
                if len(frame) < 14:
                    continue
                ethertype = struct.unpack("!H", frame[12:14])[0]
                offset = 14
                while ethertype in (0x8100, 0x88A8) and len(frame) >= offset + 4:
                    ethertype = struct.unpack("!H", frame[offset + 2:offset + 4])[0]
                    offset += 4
                if ethertype in (0x0800, 0x86DD):
                    yield frame, frame[offset:]
            elif linktype in (101, 228, 229):
                yield frame, frame


class Reassembler:
    """Puts IP fragments back together (complete datagrams only); what never
    completes stays in `parts`, keyed by (src, dst, ident)."""

    def __init__(self):
        self.parts = {}

    def add(self, ip):
        raw = ip["ip"]
        if ip["v"] == 4:
            flags = struct.unpack("!H", raw[6:8])[0]
            offset, more = (flags & 0x1FFF) * 8, bool(flags & 0x2000)
            ident = struct.unpack("!H", raw[4:6])[0]
            header = raw[:(raw[0] & 0x0F) * 4]
        else:
            frag = raw[40:48]
            off_flags, ident = struct.unpack("!H", frag[2:4])[0], struct.unpack("!I", frag[4:8])[0]
            offset, more = off_flags & 0xFFF8, bool(off_flags & 1)
            header = raw[:6] + bytes([frag[0]]) + raw[7:40]
        key = (ip["src"], ip["dst"], ident)
        entry = self.parts.setdefault(key, {"pieces": {}, "end": None, "header": None})
        entry["pieces"][offset] = ip["l4"]
        if offset == 0:
            entry["header"] = header
        if not more:
            entry["end"] = offset + len(ip["l4"])
        if entry["end"] is None or entry["header"] is None:
            return None
        buf = b""
        for off in sorted(entry["pieces"]):
            if off > len(buf):
                return None
            buf = buf[:off] + entry["pieces"][off] + buf[off + len(entry["pieces"][off]):]
        if len(buf) < entry["end"]:
            return None
        del self.parts[key]
        header = entry["header"]
        if ip["v"] == 4:
            header = header[:2] + struct.pack("!H", len(header) + len(buf)) + header[4:6] + \
                b"\x00\x00" + header[8:]
            return parse_ip(header + buf)
        return parse_ip(header[:4] + struct.pack("!H", len(buf)) + header[6:] + buf)


def packets(path, reasm):
    """Yields (frame number, frame bytes, whole IP packet or None): a
    fragment is yielded with None, and the datagram it completes (if any)
    right after it under the same frame number."""
    for number, (frame, ip_bytes) in enumerate(read_pcap(path), 1):
        ip = parse_ip(ip_bytes)
        if ip is None:
            continue
        if ip["frag"]:
            yield number, frame, None
            whole = reasm.add(ip)
            if whole is not None:
                yield number, whole["ip"], whole
            continue
        yield number, frame, ip


# --- flows -----------------------------------------------------------------
def flow_matches(flow, ip, sport, dport):
    if ip["src"] != flow["src"] or ip["dst"] != flow["dst"]:
        return False
    last = flow.get("sport_last", flow.get("sport"))
    return flow.get("sport") <= sport <= last and dport == flow["dport"]


def payload_of(ip):
    """(proto name, sport, dport, payload bytes) of a TCP/UDP packet."""
    if ip["proto"] == TCP:
        tcp = parse_tcp(ip["l4"])
        return ("tcp", tcp["sport"], tcp["dport"], tcp["payload"]) if tcp else None
    if ip["proto"] == UDP and len(ip["l4"]) >= 8:
        sport, dport = struct.unpack("!HH", ip["l4"][:4])
        return "udp", sport, dport, ip["l4"][8:]
    return None


def clear_text(proto, dport, payload):
    """The payload, plus the CRYPTO data of a QUIC Initial to port 443."""
    if proto == "udp" and dport == 443 and payload:
        frames = quic_craft.unprotect_initial(payload)
        if frames:
            return payload + quic_craft.crypto_data(frames)
    return payload


def _count_icmp(ip, attacks, stats, needle):
    quote = parse_icmp_quote(ip)
    if quote is None:
        return
    for a in attacks:
        for flow in a["flows"]:
            if flow["proto"].startswith("icmp") and ip["src"] == flow["src"] and \
                    ip["dst"] == flow["dst"] and quote[2].get("sport") == flow["quote_sport"] \
                    and quote[2].get("dport") == flow["quote_dport"]:
                s = stats[a["attack"]]
                s["bytes"] += len(ip["l4"]) - 8
                s["packets"] += 1
                s["name_seen"] |= needle in ip["l4"].lower()


def scan_capture(path, attacks, needle):
    """Per attack: payload bytes, packets and name sightings on its flows
    (and its holders); plus the numbers of the frames that hold the name."""
    stats = {a["attack"]: {"bytes": 0, "packets": 0, "name_seen": False, "holder_bytes": 0}
             for a in attacks}
    name_frames = set()
    reasm = Reassembler()
    for number, data, ip in packets(path, reasm):
        if needle in data.lower():
            name_frames.add(number)
        if ip is None:
            continue
        if ip["proto"] in (ICMP, ICMPV6):
            _count_icmp(ip, attacks, stats, needle)
            continue
        p = payload_of(ip)
        if p is None:
            continue
        proto, sport, dport, payload = p
        clear = clear_text(proto, dport, payload)
        if needle in clear.lower():
            name_frames.add(number)
        for a in attacks:
            s = stats[a["attack"]]
            for flow in a["flows"]:
                if flow["proto"] == proto and payload and flow_matches(flow, ip, sport, dport):
                    s["bytes"] += len(payload)
                    s["packets"] += 1
                    s["name_seen"] |= needle in clear.lower()
            for flow in a.get("holders", []):
                if flow["proto"] == proto and flow_matches(flow, ip, sport, dport):
                    s["holder_bytes"] += len(payload)
    # Fragments that never made a whole datagram still carried bytes.
    for (src, dst, ident), entry in reasm.parts.items():
        for a in attacks:
            if a.get("sent", {}).get("ip_id") == ident and a["flows"] and \
                    a["flows"][0]["src"] == src and a["flows"][0]["dst"] == dst:
                s = stats[a["attack"]]
                s["bytes"] += sum(len(piece) for piece in entry["pieces"].values())
                s["packets"] += len(entry["pieces"])
                s["name_seen"] |= any(needle in piece.lower() for piece in entry["pieces"].values())
    return stats, sorted(name_frames)


# --- logs ------------------------------------------------------------------
def load_events(path):
    events = []
    if path and os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
    return events


def events_for(attack, events):
    out = []
    for e in events:
        for flow in attack["flows"]:
            if flow["proto"].startswith("icmp"):
                if e.get("protocol", "").startswith("icmp") and e.get("src") == flow["src"] \
                        and e.get("dst") == flow["dst"]:
                    out.append(e)
            elif e.get("protocol") == flow["proto"] and e.get("src") == flow["src"] and \
                    e.get("dst") == flow["dst"] and e.get("dport") == flow["dport"] and \
                    flow["sport"] <= e.get("sport", -1) <= flow.get("sport_last", flow["sport"]):
                out.append(e)
    return out


def read_lines(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def log_lines_for(attack, lines, kind):
    """nginx lines 'from=ADDR:PORT', dnsmasq lines 'ADDR/PORT'."""
    out = []
    for flow in attack["flows"]:
        if flow["proto"].startswith("icmp"):
            continue
        for port in range(flow["sport"], flow.get("sport_last", flow["sport"]) + 1):
            tag = ("from=%s:%d " % (flow["src"], port)) if kind == "nginx" else \
                ("%s/%d " % (flow["src"], port))
            out += [l for l in lines if tag in l + " "]
    return out


# --- verdicts --------------------------------------------------------------
def extra_checks(attack):
    """Attack-specific requirements beyond "nothing got out"."""
    name, r = base_name(attack["attack"]), attack.get("result", {})
    problems = []
    if name in ("dns-tcp-retransmit",):
        if not r.get("dig", {}).get("reset"):
            problems.append("dig +tcp was not reset (%s, %s ms)" %
                            (r.get("dig", {}).get("status"), r.get("dig", {}).get("elapsed_ms")))
    if name == "dns-tcp-pipelined" and not r.get("reset"):
        problems.append("connection not reset")
    if name == "quic-unknown-version":
        ms = r.get("icmp_unreachable_ms")
        if ms is None or ms > 1000:
            problems.append("no ICMP unreachable within 1 s of the first datagram")
    return problems


def client_view(attack):
    """What the attacking client got back, in a few words."""
    r = attack.get("result", {})
    if attack.get("sent", {}).get("reset_after_first"):
        return "reset; resent: " + ("HTTP %s" % r["http_status"] if r.get("http_status") else
                                    "%d bytes back" % r.get("server_bytes", 0))
    if "dig" in r:
        raw = r.get("raw", {}).get("retransmission", {})
        rcodes = [a["rcode"] for a in raw.get("answers", []) if a]
        return "dig %s%s; resent: %s" % (r["dig"].get("status") or "no answer",
                                         " reset" if r["dig"].get("reset") else "",
                                         ",".join(rcodes) or ("reset" if raw.get("reset")
                                                              else "nothing"))
    if r.get("http_status"):
        return "HTTP %s" % r["http_status"]
    if r.get("answers"):
        return "DNS " + ",".join(a["rcode"] for a in r["answers"] if a)
    if r.get("server_hello"):
        return "ServerHello"
    if r.get("reset"):
        return "reset" + (" after %d ms" % r["reset_ms"] if r.get("reset_ms") is not None else "")
    if r.get("icmp_error"):
        return "ICMP %s after %s ms" % (r["icmp_error"], r.get("icmp_unreachable_ms"))
    if r.get("refusal"):
        return "REFUSED, then sent the ICMP"
    if r.get("icmp_after_repeats"):
        return "ICMP only after %d resends" % len(r["icmp_after_repeats"])
    if r.get("server_bytes"):
        return "%d bytes from the server" % r["server_bytes"]
    if r.get("timeout") or r.get("established"):
        return "nothing (timeout)"
    return r.get("error", "-")[:40]


def judge(attack, stats, events, nginx, dnsmasq):
    expected = expected_reasons(attack["attack"])
    evs = events_for(attack, events)
    reasons = sorted({e.get("reason", "") for e in evs if e.get("verdict") == "deny"})
    all_reasons = sorted({"%s:%s" % (e.get("verdict"), e.get("reason")) for e in evs})
    n_lines = log_lines_for(attack, nginx, "nginx")
    d_lines = [l for l in log_lines_for(attack, dnsmasq, "dnsmasq") if "query[" in l]
    s = stats[attack["attack"]]
    problems = []
    if "error" in attack.get("result", {}) and not attack["flows"]:
        problems.append("attack did not run: %s" % attack["result"]["error"])
    if s["bytes"]:
        problems.append("%d payload bytes reached the far side" % s["bytes"])
    if s["name_seen"]:
        problems.append("the denied name was on the far side")
    if n_lines:
        problems.append("nginx served %d request(s)" % len(n_lines))
    if d_lines:
        problems.append("dnsmasq got %d question(s)" % len(d_lines))
    if not any(r in expected for r in reasons):
        problems.append("no deny event with reason %s (events: %s)" %
                        ("|".join(expected), ", ".join(all_reasons) or "none"))
    problems += extra_checks(attack)
    return {"attack": attack["attack"], "far_side_bytes": s["bytes"],
            "client_saw": client_view(attack),
            "far_side_packets": s["packets"], "name_seen": s["name_seen"],
            "holder_bytes": s["holder_bytes"], "nginx_requests": len(n_lines),
            "dnsmasq_questions": len(d_lines), "reasons": all_reasons,
            "expected": expected, "pass": not problems, "problems": problems,
            "got_through": bool(s["bytes"] or s["name_seen"] or n_lines or d_lines)}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--attacks", required=True)
    p.add_argument("--pcap", required=True)
    p.add_argument("--events")
    p.add_argument("--nginx")
    p.add_argument("--dnsmasq")
    p.add_argument("--denied", required=True)
    p.add_argument("--json", help="write the verdicts here")
    args = p.parse_args(argv)

    attacks = [json.loads(l) for l in read_lines(args.attacks) if l.strip()]
    # The name's most distinctive label matches its dotted and DNS forms.
    needle = max(args.denied.lower().split("."), key=len).encode()
    stats, name_frames = scan_capture(args.pcap, attacks, needle)
    events = load_events(args.events)
    nginx, dnsmasq = read_lines(args.nginx), read_lines(args.dnsmasq)
    verdicts = [judge(a, stats, events, nginx, dnsmasq) for a in attacks]

    row = "%-40s %9s %4s  %-30s %-36s %s"
    print(row % ("attack", "far-bytes", "name", "client saw", "event reasons", "verdict"))
    for v in verdicts:
        reasons = ",".join(r.split(":", 1)[1] if r.startswith("deny") else r
                           for r in v["reasons"]) or "-"
        print(row % (v["attack"], v["far_side_bytes"], "yes" if v["name_seen"] else "no",
                     v["client_saw"][:30], reasons, "PASS" if v["pass"] else "FAIL"))
        for problem in v["problems"]:
            print("    - " + problem)
    summary = {
        "name_frames": name_frames,
        "nginx_name_lines": [l for l in nginx if needle.decode() in l.lower()],
        "dnsmasq_name_lines": [l for l in dnsmasq if "query[" in l and needle.decode() in l.lower()],
    }
    print("far side: %d frame(s) hold the denied name; nginx %d line(s); dnsmasq %d question(s)"
          % (len(name_frames), len(summary["nginx_name_lines"]),
             len(summary["dnsmasq_name_lines"])))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"verdicts": verdicts, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
