"""A client TCP connection made of hand-built segments.

RawTcp does its own three-way handshake over a netio.Link and then sends
exactly the segments an attack asks for: any length, any sequence number
(out of order, overlapping, conflicting), optionally with a bad checksum.
It acknowledges what the server sends, so a real TLS or HTTP exchange can
follow, and records what came back: resets (from the server or forged by a
firewall), ICMP errors quoting the flow, how far the server acknowledged our
bytes (the server's own proof that data arrived), and the server's bytes.

The client kernel knows nothing of these connections and would answer the
server's SYN-ACK with a reset; the caller drops those in the client
namespace (iptables OUTPUT, RST, the kit's raw source ports), never here.
"""

import time

from netio import ACK, FIN, PSH, RST, SYN, TCP, ICMP, ICMPV6
from netio import ip_packet, is_v6, parse_icmp_quote, parse_tcp, random_isn, tcp_segment

MSS = 1200  # below every MTU in the lab, so no segment is fragmented on the way


class RawTcp:
    def __init__(self, link, src, dst, sport, dport):
        self.link, self.src, self.dst, self.sport, self.dport = link, src, dst, sport, dport
        self.v6 = is_v6(src)
        self.isn = random_isn()
        self.server_isn = None
        self.rcv_nxt = None
        self.acked = 0  # our stream bytes the server acknowledged
        self.server_data = bytearray()
        self.reset = False
        self.reset_ms = None
        self.icmp = []  # (type, code, ms)
        self.fin = False
        self.segments_sent = 0
        self.t0 = time.monotonic()

    def ms(self):
        return int((time.monotonic() - self.t0) * 1000)

    # --- sending -------------------------------------------------------
    def _send(self, flags, seq, payload=b"", options=b"", bad_checksum=False, ack_number=None):
        ack = ack_number if ack_number is not None else (self.rcv_nxt or 0)
        if self.rcv_nxt is not None or ack_number is not None:
            flags |= ACK
        segment = tcp_segment(self.src, self.dst, self.sport, self.dport, seq, ack, flags,
                              payload, options=options, bad_checksum=bad_checksum)
        self.link.send(ip_packet(self.src, self.dst, TCP, segment))
        self.segments_sent += 1

    def segment_bytes(self, offset, data, flags=PSH | ACK):
        """The IP packet of one data segment at stream `offset` (for
        callers that fragment it themselves)."""
        segment = tcp_segment(self.src, self.dst, self.sport, self.dport,
                              self.isn + 1 + offset, self.rcv_nxt or 0, flags | ACK, data)
        return ip_packet(self.src, self.dst, TCP, segment)

    def connect(self, timeout=1.5):
        """SYN, SYN-ACK, ACK. Returns True when established."""
        mss_option = b"\x02\x04" + MSS.to_bytes(2, "big")
        deadline = time.monotonic() + timeout
        resend_at = 0.0
        while time.monotonic() < deadline and self.server_isn is None and not self.reset:
            if time.monotonic() >= resend_at:
                self._send(SYN, self.isn, options=mss_option)
                resend_at = time.monotonic() + 0.5
            self.poll(min(0.1, max(0.0, deadline - time.monotonic())))
        if self.server_isn is None:
            return False
        self._send(ACK, self.isn + 1)
        return True

    def send_at(self, offset, data, flags=PSH, bad_checksum=False):
        """One segment with `data` at stream offset `offset` (0 = first byte
        after the SYN)."""
        self._send(flags, self.isn + 1 + offset, data, bad_checksum=bad_checksum)

    def send_stream(self, data, offset, timeout=2.0):
        """Sends data at `offset` reliably (MSS segments, retransmitted until
        acknowledged). Returns True when all of it was acknowledged."""
        end = offset + len(data)
        deadline = time.monotonic() + timeout
        while self.acked < end and not self.reset and time.monotonic() < deadline:
            start = max(offset, self.acked)
            for pos in range(start, end, MSS):
                self.send_at(pos, data[pos - offset:min(end, pos + MSS) - offset])
            self.poll(0.3, until=lambda c: c.acked >= end or c.reset)
        return self.acked >= end

    def close(self, rst=True, offset=None):
        seq = self.isn + 1 + (self.acked if offset is None else offset)
        if rst:
            self._send(RST, seq)
        else:
            self._send(FIN, seq)

    # --- receiving -----------------------------------------------------
    def _on_tcp(self, tcp):
        flags = tcp["flags"]
        if flags & RST:
            if not self.reset:
                self.reset, self.reset_ms = True, self.ms()
            return
        if flags & SYN and flags & ACK:
            if self.server_isn is None and tcp["ack"] == (self.isn + 1) & 0xFFFFFFFF:
                self.server_isn = tcp["seq"]
                self.rcv_nxt = (tcp["seq"] + 1) & 0xFFFFFFFF
            return
        if self.server_isn is None:
            return
        if flags & ACK:
            acked = (tcp["ack"] - self.isn - 1) & 0xFFFFFFFF
            if acked < 0x80000000 and acked > self.acked:
                self.acked = acked
        payload = tcp["payload"]
        advanced = False
        if payload and tcp["seq"] == self.rcv_nxt:
            self.server_data += payload
            self.rcv_nxt = (self.rcv_nxt + len(payload)) & 0xFFFFFFFF
            advanced = True
        if flags & FIN and (tcp["seq"] + len(payload)) & 0xFFFFFFFF == self.rcv_nxt:
            self.fin = True
            self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
            advanced = True
        if advanced or payload:
            self._send(ACK, self.isn + 1 + self.acked)

    def poll(self, duration, until=None):
        """Processes this flow's packets for `duration` seconds, or until
        `until(self)` is true."""
        deadline = time.monotonic() + duration
        if until is not None and until(self):
            return
        for ip in self.link.receive(deadline):
            if ip["dst"] != self.src:
                continue
            if ip["proto"] == TCP and ip["src"] == self.dst:
                tcp = parse_tcp(ip["l4"])
                if tcp and tcp["sport"] == self.dport and tcp["dport"] == self.sport:
                    self._on_tcp(tcp)
            elif ip["proto"] in (ICMP, ICMPV6):
                self._on_icmp(ip)
            if until is not None and until(self):
                return

    def _on_icmp(self, ip):
        quote = parse_icmp_quote(ip)
        if quote and quote[2].get("sport") == self.sport and quote[2].get("dport") == self.dport:
            self.icmp.append((quote[0], quote[1], self.ms()))

    def report(self):
        return {"established": self.server_isn is not None, "reset": self.reset,
                "reset_ms": self.reset_ms, "icmp": [list(i) for i in self.icmp],
                "server_acked_bytes": self.acked, "server_bytes": len(self.server_data),
                "segments_sent": self.segments_sent}
