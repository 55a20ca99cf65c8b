"""TLS ClientHellos for the adversary kit: real ones and hand-made ones.

- MemTls drives Python's ssl (OpenSSL) over memory BIOs: the kit gets the
  exact bytes of a genuine ClientHello and every later flight, and decides
  itself how they travel (1-byte TCP segments, out of order, IP fragments).
  Re-cutting the handshake into other TLS records keeps the handshake valid,
  so the server still answers and an upload can follow.
- build_client_hello makes a ClientHello by hand where OpenSSL would not:
  no SNI, an encrypted_client_hello extension (0xfe0d), a chosen total
  length (two hellos of equal length that differ only in their name), the
  TLS message alone for QUIC's CRYPTO frames.
"""

import os
import ssl
import struct

from netio import kernel_tcp_exchange

EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_EC_POINT_FORMATS = 0x000B
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_PADDING = 0x0015
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_PSK_MODES = 0x002D
EXT_KEY_SHARE = 0x0033
EXT_QUIC_TRANSPORT_PARAMETERS = 0x0039
EXT_ENCRYPTED_CLIENT_HELLO = 0xFE0D


def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def extension(ext_type, body):
    return u16(ext_type) + vec16(body)


def sni_extension(name):
    entry = u8(0) + vec16(name.encode("ascii"))
    return extension(EXT_SERVER_NAME, vec16(entry))


def alpn_extension(protocols):
    return extension(EXT_ALPN, vec16(b"".join(vec8(p.encode("ascii")) for p in protocols)))


def ech_extension(config_id=0x2A, payload_length=208):
    """An outer encrypted_client_hello (draft-ietf-tls-esni-18, type 0):
    HPKE suite HKDF-SHA256/AES-128-GCM, a 32-byte encapsulated key and an
    opaque payload (random: only its presence matters to a firewall)."""
    body = u8(0) + u16(0x0001) + u16(0x0001) + u8(config_id)
    body += vec16(os.urandom(32)) + vec16(os.urandom(payload_length))
    return extension(EXT_ENCRYPTED_CLIENT_HELLO, body)


def quic_transport_parameters(scid):
    def param(pid, value):
        return u8(pid) + u8(len(value)) + value
    params = param(0x0F, scid)                      # initial_source_connection_id
    params += param(0x01, b"\x80\x00\x75\x30")     # max_idle_timeout 30000
    params += param(0x04, b"\x80\x10\x00\x00")     # initial_max_data
    params += param(0x08, b"\x40\x64")             # initial_max_streams_bidi 100
    return extension(EXT_QUIC_TRANSPORT_PARAMETERS, params)


def common_extensions(tls13_only=False):
    groups = extension(EXT_SUPPORTED_GROUPS, vec16(u16(0x001D) + u16(0x0017)))
    points = extension(EXT_EC_POINT_FORMATS, vec8(b"\x00"))
    sigs = extension(EXT_SIGNATURE_ALGORITHMS,
                     vec16(b"".join(u16(s) for s in (0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
                                                     0x0501, 0x0806, 0x0601))))
    versions = [0x0304] if tls13_only else [0x0304, 0x0303]
    supported = extension(EXT_SUPPORTED_VERSIONS, vec8(b"".join(u16(v) for v in versions)))
    share = extension(EXT_KEY_SHARE, vec16(u16(0x001D) + vec16(os.urandom(32))))
    psk = extension(EXT_PSK_MODES, vec8(b"\x01"))
    return [groups, points, sigs, supported, share, psk]


def build_client_hello(sni=None, alpn=("http/1.1",), extra=(), total_length=None,
                       sni_last=False, tls13_only=False, quic_scid=None, record=True,
                       random_bytes=None, session_id=None):
    """A ClientHello. With total_length, a padding extension makes the
    handshake message exactly that long (so two hellos differing only in
    their name have the same length and layout when sni_last is set)."""
    random_bytes = random_bytes or os.urandom(32)
    session_id = os.urandom(32) if session_id is None else session_id
    suites = [0x1301, 0x1302, 0x1303] if tls13_only else \
        [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030]
    head = u16(0x0303) + random_bytes + vec8(session_id)
    head += vec16(b"".join(u16(s) for s in suites)) + vec8(b"\x00")
    exts = common_extensions(tls13_only or quic_scid is not None)
    if alpn:
        exts.append(alpn_extension(alpn))
    if quic_scid is not None:
        exts.append(quic_transport_parameters(quic_scid))
    exts.extend(extra)
    name_ext = [sni_extension(sni)] if sni else []
    if not sni_last:
        exts = name_ext + exts

    def message(padding):
        all_exts = list(exts)
        if padding is not None:
            all_exts.append(extension(EXT_PADDING, b"\x00" * padding))
        if sni_last:
            all_exts += name_ext
        body = head + vec16(b"".join(all_exts))
        return b"\x01" + u24(len(body)) + body

    msg = message(None)
    if total_length is not None:
        padding = total_length - len(msg) - 4
        if padding < 0:
            raise ValueError("ClientHello longer than total_length")
        msg = message(padding)
    return records(msg) if record else msg


def records(handshake, sizes=None):
    """Wraps handshake bytes in TLS records; sizes: the fragment length of
    each record in turn (the last one repeats), default one record per
    16384 bytes."""
    out, pos, i = bytearray(), 0, 0
    sizes = sizes or [16384]
    while pos < len(handshake):
        n = sizes[min(i, len(sizes) - 1)]
        out += b"\x16\x03\x01" + u16(min(n, len(handshake) - pos)) + handshake[pos:pos + n]
        pos += n
        i += 1
    return bytes(out)


def handshake_of(record_bytes):
    """Concatenated fragments of the leading handshake records."""
    out, pos = bytearray(), 0
    while pos + 5 <= len(record_bytes) and record_bytes[pos] == 0x16:
        n = struct.unpack("!H", record_bytes[pos + 3:pos + 5])[0]
        out += record_bytes[pos + 5:pos + 5 + n]
        pos += 5 + n
    return bytes(out), pos


def recut(record_bytes, sizes):
    """The same handshake in records of other sizes (TLS allows a handshake
    message to span records); any bytes after the handshake records stay."""
    hs, used = handshake_of(record_bytes)
    return records(hs, sizes) + record_bytes[used:]


def sni_offset(ch_records, name):
    """Where the name's bytes start in a ClientHello's bytes (-1: absent)."""
    return ch_records.find(name.encode("ascii"))


def client_context(alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def many_alpn(count=310, width=56):
    """ALPN values enough for a ~18 KB ClientHello; http/1.1 first so a
    server still finds a protocol it speaks."""
    return ["http/1.1"] + ["x-fw-%04d-%s" % (i, "a" * (width - 10)) for i in range(count)]


class MemTls:
    """OpenSSL's client state machine over memory BIOs."""

    def __init__(self, server_hostname=None, alpn=None):
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = client_context(alpn).wrap_bio(self.inc, self.out,
                                                 server_hostname=server_hostname)
        self.done = False
        self.error = None

    def _step(self):
        if self.done or self.error:
            return
        try:
            self.obj.do_handshake()
            self.done = True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as e:
            self.error = str(e)

    def client_hello(self):
        self._step()
        return self.out.read()

    def feed(self, data):
        """Server bytes in; returns the bytes to send back."""
        self.inc.write(data)
        self._step()
        return self.out.read()

    def write(self, data):
        self.obj.write(data)
        return self.out.read()

    def read(self):
        chunks = []
        while True:
            try:
                chunk = self.obj.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
            except ssl.SSLError as e:
                self.error = str(e)
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def http_status(data):
    """The status code of an HTTP/1.x response head, or None."""
    if not data.startswith(b"HTTP/1."):
        return None
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else None


def upload_request(host, body, path="/upload"):
    head = "POST %s HTTP/1.1\r\n" % path
    if host is not None:
        head += "Host: %s\r\n" % host
    head += "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n" % len(body)
    head += "Connection: close\r\n\r\n"
    return head.encode("ascii") + body


def kernel_tls_exchange(src, dst, sport, server_hostname, request, alpn=None, timeout=3.0,
                        port=443):
    """A TLS connection through the kernel's TCP (bound to src:sport): the
    handshake with this SNI (None: no SNI), then `request`. Reports how far
    it got."""

    def handshake(sock, result):
        result["handshake"] = False
        tls = client_context(alpn).wrap_socket(sock, server_hostname=server_hostname,
                                               do_handshake_on_connect=False)
        tls.do_handshake()
        result["handshake"] = True
        return tls

    result, data = kernel_tcp_exchange(src, sport, dst, port, request, timeout=timeout,
                                       upgrade=handshake, done=lambda d: b"\r\n\r\n" in d)
    result.setdefault("handshake", False)
    result["server_bytes"] = len(data)
    result["http_status"] = http_status(data)
    result["alpn_values"] = len(alpn or [])
    return result
