"""Packets by hand and a raw link to send and sniff them.

The adversary kit builds every IPv4/IPv6, TCP, UDP and ICMP header itself so
that an attack controls what the kernel would never produce (segments out of
order, conflicting retransmissions, IP fragments, ICMP errors quoting chosen
bytes). Link sends and receives whole IP packets on one interface with an
AF_PACKET socket: outgoing frames bypass the sender's own netfilter and
routing, so the kit needs the gateway's MAC address, which it reads from the
neighbour table (resolving it first when absent).

Nothing here touches the network configuration; run it inside a network
namespace (`ip netns exec CLIENT ...`).
"""

import ipaddress
import json
import os
import random
import select
import socket
import struct
import subprocess
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_HOST = 0

TCP = 6
UDP = 17
ICMP = 1
ICMPV6 = 58
IPV6_FRAGMENT = 44

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def is_v6(address):
    return ":" in address


def addr_bytes(address):
    return ipaddress.ip_address(address).packed


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src, dst, proto, length):
    if is_v6(src):
        return addr_bytes(src) + addr_bytes(dst) + struct.pack("!I3xB", length, proto)
    return addr_bytes(src) + addr_bytes(dst) + struct.pack("!xBH", proto, length)


def ipv4_packet(src, dst, proto, payload, ident=None, ttl=64, frag_offset=0, more=False,
                total_length=None):
    """An IPv4 header (no options) before payload; frag_offset in bytes."""
    ident = random.randrange(1, 0xFFFF) if ident is None else ident
    flags = (0x2000 if more else 0) | (frag_offset // 8)
    length = total_length if total_length is not None else 20 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, ident, flags, ttl, proto, 0,
                         addr_bytes(src), addr_bytes(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6_packet(src, dst, next_header, payload, hop_limit=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, hop_limit,
                       addr_bytes(src), addr_bytes(dst)) + payload


def ip_packet(src, dst, proto, payload, **kw):
    if is_v6(src):
        return ipv6_packet(src, dst, proto, payload, kw.get("ttl", 64))
    return ipv4_packet(src, dst, proto, payload, **kw)


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"", window=64240,
                options=b"", bad_checksum=False):
    """A TCP segment (header and payload) with its checksum over the pseudo header."""
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         offset << 4, flags, window, 0, 0) + options
    segment = header + payload
    csum = checksum(pseudo_header(src, dst, TCP, len(segment)) + segment)
    if bad_checksum:
        csum ^= 0x5A5A
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def udp_datagram(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo_header(src, dst, UDP, length) + header + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + payload


def icmp_message(src, dst, icmp_type, code, body):
    """ICMPv4 (no pseudo header) or ICMPv6 (pseudo header) message."""
    message = struct.pack("!BBH", icmp_type, code, 0) + body
    if is_v6(src):
        csum = checksum(pseudo_header(src, dst, ICMPV6, len(message)) + message)
    else:
        csum = checksum(message)
    return message[:2] + struct.pack("!H", csum) + message[4:]


def fragments(src, dst, proto, l4, cuts, ident=None):
    """Splits a transport payload `l4` into IP fragments at the byte offsets
    in `cuts` (each a multiple of 8); returns the IP packets in order."""
    ident = random.randrange(1, 0xFFFF) if ident is None else ident
    bounds = [0] + list(cuts) + [len(l4)]
    packets = []
    for i in range(len(bounds) - 1):
        start, end = bounds[i], bounds[i + 1]
        more = i < len(bounds) - 2
        piece = l4[start:end]
        if is_v6(src):
            frag = struct.pack("!BBHI", proto, 0, start | (1 if more else 0), ident)
            packets.append(ipv6_packet(src, dst, IPV6_FRAGMENT, frag + piece))
        else:
            packets.append(ipv4_packet(src, dst, proto, piece, ident=ident, frag_offset=start,
                                       more=more))
    return packets


def parse_ip(packet):
    """Returns a dict (v, src, dst, proto, l4, frag) or None. IPv6 extension
    headers other than a fragment header are not walked (the kit sends none)."""
    if len(packet) < 20:
        return None
    version = packet[0] >> 4
    if version == 4:
        ihl = (packet[0] & 0x0F) * 4
        total = struct.unpack("!H", packet[2:4])[0]
        flags = struct.unpack("!H", packet[6:8])[0]
        return {"v": 4, "src": socket.inet_ntop(socket.AF_INET, packet[12:16]),
                "dst": socket.inet_ntop(socket.AF_INET, packet[16:20]), "proto": packet[9],
                "l4": packet[ihl:total], "frag": (flags & 0x3FFF) != 0, "ip": packet[:total]}
    if version == 6 and len(packet) >= 40:
        plen = struct.unpack("!H", packet[4:6])[0]
        nh = packet[6]
        body = packet[40:40 + plen]
        frag = False
        if nh == IPV6_FRAGMENT and len(body) >= 8:
            nh, frag = body[0], True
            body = body[8:]
        return {"v": 6, "src": socket.inet_ntop(socket.AF_INET6, packet[8:24]),
                "dst": socket.inet_ntop(socket.AF_INET6, packet[24:40]), "proto": nh,
                "l4": body, "frag": frag, "ip": packet[:40 + plen]}
    return None


def parse_tcp(l4):
    if len(l4) < 20:
        return None
    sport, dport, seq, ack, off, flags, window = struct.unpack("!HHIIBBH", l4[:16])
    return {"sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags,
            "window": window, "payload": l4[(off >> 4) * 4:]}


def parse_icmp_quote(ip):
    """For an ICMP/ICMPv6 error: (type, code, quoted parse_ip dict with
    sport/dport) or None."""
    l4 = ip["l4"]
    if len(l4) < 8:
        return None
    icmp_type, code = l4[0], l4[1]
    is_error = (icmp_type in (3, 4, 5, 11, 12)) if ip["proto"] == ICMP else icmp_type < 128
    if not is_error:
        return None
    quoted = parse_ip(l4[8:])
    if quoted is None:
        # A truncated quote: parse_ip wants the total length present.
        return None
    if len(quoted["l4"]) >= 4:
        quoted["sport"], quoted["dport"] = struct.unpack("!HH", quoted["l4"][:4])
    return icmp_type, code, quoted


def _neighbour(iface, address):
    out = subprocess.run(["ip", "-j", "neigh", "show", "dev", iface], capture_output=True,
                         text=True, check=False).stdout
    for entry in json.loads(out or "[]"):
        if entry.get("dst") == address and entry.get("lladdr"):
            state = entry.get("state", [])
            if "FAILED" not in state and "INCOMPLETE" not in state:
                return entry["lladdr"]
    return None


def _default_gateway(v6):
    args = ["ip", "-6" if v6 else "-4", "-j", "route", "show", "default"]
    out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
    routes = json.loads(out or "[]")
    return routes[0]["gateway"] if routes else None


class Link:
    """Sends IP packets as Ethernet frames to the default gateway and yields
    the IP packets addressed to this host, on one interface."""

    def __init__(self, iface="eth0"):
        self.iface = iface
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        with open("/sys/class/net/%s/address" % iface, encoding="ascii") as f:
            self.mac = bytes.fromhex(f.read().strip().replace(":", ""))
        self._gw = {}

    def close(self):
        self.sock.close()

    def gateway_mac(self, v6):
        if v6 in self._gw:
            return self._gw[v6]
        gw = _default_gateway(v6)
        if gw is None:
            raise OSError("no default route for IPv%d" % (6 if v6 else 4))
        mac = _neighbour(self.iface, gw)
        if mac is None:
            # Let the kernel resolve it: any datagram to the gateway will do.
            family = socket.AF_INET6 if v6 else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                try:
                    s.sendto(b"resolve", (gw, 9))
                except OSError:
                    pass
            for _ in range(30):
                mac = _neighbour(self.iface, gw)
                if mac:
                    break
                time.sleep(0.05)
        if mac is None:
            raise OSError("cannot resolve the gateway %s on %s" % (gw, self.iface))
        self._gw[v6] = bytes.fromhex(mac.replace(":", ""))
        return self._gw[v6]

    def send(self, packet):
        v6 = packet[0] >> 4 == 6
        ethertype = ETH_P_IPV6 if v6 else ETH_P_IP
        frame = self.gateway_mac(v6) + self.mac + struct.pack("!H", ethertype) + packet
        self.sock.send(frame)

    def receive(self, deadline):
        """Yields parsed IP packets received by this host until `deadline`
        (time.monotonic())."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return
            frame, address = self.sock.recvfrom(65535)
            if address[2] != PACKET_HOST or len(frame) < 14:
                continue
            ethertype = struct.unpack("!H", frame[12:14])[0]
            if ethertype not in (ETH_P_IP, ETH_P_IPV6):
                continue
            ip = parse_ip(frame[14:])
            if ip is not None:
                yield ip

    def drain(self):
        """Discards what was queued so far."""
        while select.select([self.sock], [], [], 0)[0]:
            self.sock.recv(65535)


def random_isn():
    return int.from_bytes(os.urandom(4), "big")


def kernel_tcp_exchange(src, sport, dst, dport, request, timeout=3.0, budget=None,
                        upgrade=None, done=None, limit=4096):
    """One exchange on a kernel TCP connection bound to src:sport: connect,
    upgrade(sock, result) -> sock if given (a TLS handshake), send `request`,
    then read until EOF, `limit` bytes or done(data); with `budget`, also
    until that many seconds have passed (each read waits at most what is
    left). Returns (result, data): result says how far it got (connected,
    reset, timeout, error, elapsed_ms; `upgrade` may add its own keys)."""
    family = socket.AF_INET6 if is_v6(dst) else socket.AF_INET
    result = {"connected": False, "reset": False, "timeout": False, "error": None}
    data = b""
    t0 = time.monotonic()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((src, sport))
        sock.settimeout(timeout)
        sock.connect((dst, dport))
        result["connected"] = True
        if upgrade is not None:
            sock = upgrade(sock, result)
        sock.sendall(request)
        end = None if budget is None else time.monotonic() + budget
        while len(data) < limit:
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(max(0.05, left))
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
            if done is not None and done(data):
                break
    except (ConnectionResetError, BrokenPipeError):
        result["reset"] = True
    except socket.timeout:
        result["timeout"] = True
    except OSError as e:  # ssl.SSLError included
        result["error"] = str(e)
    finally:
        result["elapsed_ms"] = int((time.monotonic() - t0) * 1000)
        try:
            sock.close()
        except OSError:
            pass
    return result, data
