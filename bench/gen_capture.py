#!/usr/bin/env python3
"""Writes a synthetic pcap of lab-like flight-app sessions, of any size.

The memory bound of `flightwall audit` must hold "whatever the capture's
size" (issue 10): recording 10 GB with real clients takes longer than a
bench run, so this generator streams a capture of the same mix the lab
records (DNS lookups of allowed and denied names, TLS sessions with SNI,
plain HTTP requests with Host, bulk downloads), in constant memory, with
distinct client ports and addresses so flows keep coming, and timestamps
that advance so idle flows expire as they would in a long field capture.

  bench/gen_capture.py --size-mb 10240 --out /tmp/big.pcap [--seed 1]

Addresses are documentation ranges only: tablets 192.0.2.0/24, resolver
203.0.113.53, servers 198.51.100.0/24. Checksums are zero (captures taken
with offloads carry unreliable ones; flightwall does not read them).
Standard library only. Prints what it wrote as one JSON line.
"""

import argparse
import json
import random
import struct
import sys

LINKTYPE_ETHERNET = 1
ETH_HEADER = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
RESOLVER = bytes([203, 0, 113, 53])
MSS = 1448

# (name, allowed by tests/data/lab/lab-policy.yaml, how it is reached)
NAMES = [
    ("api.mapbox.com", True, "tls"),
    ("a.tiles.mapbox.com", True, "tls"),
    ("b.tiles.mapbox.com", True, "tls"),
    ("tile.openstreetmap.org", True, "tls"),
    ("flightlog.dji.com", False, "tls"),
    ("mydjiflight.dji.com", False, "http"),
    ("flysafe-api.dji.com", False, "tls"),
    ("android.bugly.qq.com", False, "http"),
    ("app-measurement.com", False, "tls"),
    ("unknown-telemetry.example.net", False, "dns"),
]


def ip_of(index):
    """Server address of NAMES[index] in 198.51.100.0/24."""
    return bytes([198, 51, 100, 10 + index])


class Writer:
    def __init__(self, out):
        self.out = out
        self.bytes = 0
        self.packets = 0
        self.usec = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        self.bytes += 24

    def advance(self, usec):
        self.usec += usec

    def packet(self, frame):
        sec, usec = divmod(self.usec, 1_000_000)
        self.out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        self.out.write(frame)
        self.bytes += 16 + len(frame)
        self.packets += 1
        self.usec += 7


def ipv4(src, dst, proto, payload, ident=0):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64,
                         proto, 0, src, dst)
    return ETH_HEADER + header + payload


def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                         flags, 65535, 0, 0)
    return ipv4(src, dst, 6, header + data)


def udp(src, dst, sport, dport, data):
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data)


def dns_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def dns_query(qid, name):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + b"\x00\x01\x00\x01"


def dns_answer(qid, name, address, ttl):
    question = dns_name(name) + b"\x00\x01\x00\x01"
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, ttl, 4) + address
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer


def client_hello(name, rng):
    host = name.encode()
    sni = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
    extensions = struct.pack("!HH", 0, len(sni)) + sni
    extensions += struct.pack("!HHBH", 43, 3, 2, 0x0304)  # supported_versions: TLS 1.3
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
    body += b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(extensions)) + extensions
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def http_request(name, rng):
    path = "/v1/upload/%08x" % rng.getrandbits(32)
    return ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n" % (path, name)).encode()


class Generator:
    def __init__(self, writer, seed):
        self.w = writer
        self.rng = random.Random(seed)
        self.port = 20000
        self.client_index = 0
        self.payload = bytes(self.rng.getrandbits(8) for _ in range(MSS))
        self.sessions = {"tls": 0, "http": 0, "dns": 0, "bulk": 0}

    def client(self):
        self.client_index = (self.client_index + 1) % 200
        return bytes([192, 0, 2, 20 + self.client_index])

    def next_port(self):
        self.port = 20000 + (self.port - 19999) % 40000
        return self.port

    def lookup(self, client, index):
        name = NAMES[index][0]
        qid = self.rng.getrandbits(16)
        sport = self.next_port()
        self.w.packet(udp(client, RESOLVER, sport, 53, dns_query(qid, name)))
        self.w.advance(300)
        self.w.packet(udp(RESOLVER, client, 53, sport, dns_answer(qid, name, ip_of(index), 300)))

    def tcp_session(self, client, index, request, segments):
        server = ip_of(index)
        port = 443 if NAMES[index][2] == "tls" else 80
        sport = self.next_port()
        c, s = self.rng.getrandbits(32), self.rng.getrandbits(32)
        w = self.w
        w.packet(tcp(client, server, sport, port, c, 0, 0x02))
        w.packet(tcp(server, client, port, sport, s, c + 1, 0x12))
        w.packet(tcp(client, server, sport, port, c + 1, s + 1, 0x10))
        w.packet(tcp(client, server, sport, port, c + 1, s + 1, 0x18, request))
        c += 1 + len(request)
        s += 1
        for i in range(segments):
            w.packet(tcp(server, client, port, sport, s, c, 0x10, self.payload))
            s += MSS
            if i % 2 == 1:
                w.packet(tcp(client, server, sport, port, c, s, 0x10))
        w.packet(tcp(client, server, sport, port, c, s, 0x11))
        w.packet(tcp(server, client, port, sport, s, c + 1, 0x11))
        w.packet(tcp(client, server, sport, port, c + 1, s + 1, 0x10))

    def session(self):
        client = self.client()
        index = self.rng.randrange(len(NAMES))
        name, _, kind = NAMES[index]
        self.lookup(client, index)
        self.w.advance(2000)
        if kind == "dns":
            self.sessions["dns"] += 1
        elif self.rng.random() < 0.002:
            self.sessions["bulk"] += 1
            self.tcp_session(client, index, client_hello(name, self.rng), 20000)
        elif kind == "tls":
            self.sessions["tls"] += 1
            self.tcp_session(client, index, client_hello(name, self.rng), self.rng.randrange(2, 40))
        else:
            self.sessions["http"] += 1
            self.tcp_session(client, index, http_request(name, self.rng), self.rng.randrange(1, 8))
        self.w.advance(self.rng.randrange(1000, 20000))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, required=True, help="stop after this many MB")
    parser.add_argument("--out", required=True, help="pcap to write ('-' = standard output)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    limit = int(args.size_mb * 1e6)
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    with out:
        writer = Writer(out)
        gen = Generator(writer, args.seed)
        while writer.bytes < limit:
            gen.session()
    summary = {"bytes": writer.bytes, "packets": writer.packets, "sessions": gen.sessions,
               "seconds_of_traffic": round((writer.usec - 1_767_225_600 * 1_000_000) / 1e6, 1)}
    print(json.dumps(summary), file=sys.stderr if args.out == "-" else sys.stdout)


if __name__ == "__main__":
    main()
