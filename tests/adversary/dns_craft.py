"""DNS messages for the adversary kit: questions, TCP framing, and just
enough answer parsing to tell REFUSED from an answer."""

import ipaddress
import os
import struct

QTYPE = {"A": 1, "AAAA": 28, "TXT": 16}
RCODE = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += struct.pack("!B", len(label)) + label.encode("ascii")
    return out + b"\x00"


def query(name, qtype="A", ident=None):
    ident = int.from_bytes(os.urandom(2), "big") if ident is None else ident
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", QTYPE[qtype], 1)


def tcp_frame(message):
    return struct.pack("!H", len(message)) + message


def _skip_name(msg, pos):
    while pos < len(msg):
        n = msg[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n
    return pos


def parse(message):
    """id, is_response, rcode name, answer addresses (A/AAAA as text)."""
    if len(message) < 12:
        return None
    ident, flags, qd, an = struct.unpack("!HHHH", message[:8])
    pos = 12
    for _ in range(qd):
        pos = _skip_name(message, pos) + 4
    addresses = []
    for _ in range(an):
        pos = _skip_name(message, pos)
        if pos + 10 > len(message):
            break
        rtype, _, _, rdlength = struct.unpack("!HHIH", message[pos:pos + 10])
        rdata = message[pos + 10:pos + 10 + rdlength]
        if rtype == 1 and rdlength == 4:
            addresses.append(".".join(str(b) for b in rdata))
        elif rtype == 28 and rdlength == 16:
            addresses.append(str(ipaddress.IPv6Address(rdata)))
        pos += 10 + rdlength
    return {"id": ident, "response": bool(flags & 0x8000),
            "rcode": RCODE.get(flags & 0x0F, str(flags & 0x0F)), "answers": addresses}


def tcp_messages(stream):
    """Splits a DNS-over-TCP byte stream into complete messages."""
    out, pos = [], 0
    while pos + 2 <= len(stream):
        n = struct.unpack("!H", stream[pos:pos + 2])[0]
        if pos + 2 + n > len(stream):
            break
        out.append(stream[pos + 2:pos + 2 + n])
        pos += 2 + n
    return out


def exfil_name(domain, data=b"lat=46.5123;lon=6.6320;serial=FW1234"):
    """A question name that carries data in its first label (DNS tunnelling)."""
    return "%s.%s" % (data.hex()[:60], domain)
