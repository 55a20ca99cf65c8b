"""QUIC Initial packets (RFC 9000/9001) for the adversary kit, and their
decryption for the witness.

Initial packets are protected with keys anyone can derive from the
Destination Connection ID, so both a firewall and an auditor can read the
ClientHello inside. protect_initial builds a client Initial carrying CRYPTO
frames (a ClientHello whole or in parts); unprotect_initial reverses it for
a captured datagram. Packet protection needs python3-cryptography (AES);
the rest is standard library.
"""

import hashlib
import hmac
import os
import struct

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    HAVE_CRYPTO = True
except ImportError:  # the QUIC attacks then report that they could not run
    HAVE_CRYPTO = False

QUIC_V1 = 0x00000001
INITIAL_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def varint(n):
    if n < 0x40:
        return struct.pack("!B", n)
    if n < 0x4000:
        return struct.pack("!H", 0x4000 | n)
    if n < 0x40000000:
        return struct.pack("!I", 0x80000000 | n)
    return struct.pack("!Q", 0xC000000000000000 | n)


def read_varint(buf, pos):
    first = buf[pos]
    length = 1 << (first >> 6)
    value = first & 0x3F
    for i in range(1, length):
        value = (value << 8) | buf[pos + i]
    return value, pos + length


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def initial_keys(dcid, side=b"client in"):
    secret = hkdf_expand_label(hkdf_extract(INITIAL_SALT_V1, dcid), side, 32)
    return (hkdf_expand_label(secret, b"quic key", 16), hkdf_expand_label(secret, b"quic iv", 12),
            hkdf_expand_label(secret, b"quic hp", 16))


def _hp_mask(hp_key, sample):
    encryptor = Cipher(algorithms.AES(hp_key), modes.ECB()).encryptor()
    return encryptor.update(sample) + encryptor.finalize()


def crypto_frame(offset, data):
    return b"\x06" + varint(offset) + varint(len(data)) + data


def long_header(version, dcid, scid, first_byte=0xC3, token=b""):
    return (struct.pack("!BI", first_byte, version) + struct.pack("!B", len(dcid)) + dcid
            + struct.pack("!B", len(scid)) + scid + varint(len(token)) + token)


def protect_initial(dcid, scid, frames, packet_number=0, min_size=1200, version=QUIC_V1):
    """A client Initial (4-byte packet number) with `frames`, padded so the
    datagram is at least min_size bytes."""
    key, iv, hp = initial_keys(dcid)
    pn_length = 4
    header_base = long_header(version, dcid, scid, 0xC0 | (pn_length - 1))
    # Length field: 2-byte varint; payload padded with PADDING (0x00) frames.
    overhead = len(header_base) + 2 + pn_length + 16
    payload = frames + b"\x00" * max(0, min_size - overhead - len(frames))
    length = pn_length + len(payload) + 16
    header = header_base + struct.pack("!H", 0x4000 | length) + struct.pack("!I", packet_number)
    nonce = bytes(a ^ b for a, b in zip(iv, packet_number.to_bytes(12, "big")))
    ciphertext = AESGCM(key).encrypt(nonce, payload, header)
    pn_offset = len(header) - pn_length
    sample = ciphertext[4 - pn_length:4 - pn_length + 16]
    mask = _hp_mask(hp, sample)
    protected = bytearray(header)
    protected[0] ^= mask[0] & 0x0F
    for i in range(pn_length):
        protected[pn_offset + i] ^= mask[1 + i]
    return bytes(protected) + ciphertext


def unknown_version_packet(version, dcid, scid, body, min_size=1200):
    """A long-header packet of a version nobody speaks; body in clear."""
    packet = long_header(version, dcid, scid, 0xC0) + body
    return packet + os.urandom(max(0, min_size - len(packet)))


def unprotect_initial(datagram):
    """Decrypts the first packet of a client Initial datagram (QUIC v1);
    returns its plaintext frames or None."""
    if not HAVE_CRYPTO or len(datagram) < 7 or not datagram[0] & 0x80:
        return None
    version = struct.unpack("!I", datagram[1:5])[0]
    if version != QUIC_V1 or (datagram[0] & 0x30) != 0:
        return None
    try:
        pos = 5
        dcid = datagram[pos + 1:pos + 1 + datagram[pos]]
        pos += 1 + datagram[pos]
        pos += 1 + datagram[pos]
        token_length, pos = read_varint(datagram, pos)
        pos += token_length
        length, pos = read_varint(datagram, pos)
        pn_offset = pos
        key, iv, hp = initial_keys(dcid)
        sample = datagram[pn_offset + 4:pn_offset + 20]
        mask = _hp_mask(hp, sample)
        first = datagram[0] ^ (mask[0] & 0x0F)
        pn_length = (first & 0x03) + 1
        pn = bytes(datagram[pn_offset + i] ^ mask[1 + i] for i in range(pn_length))
        header = bytes([first]) + datagram[1:pn_offset] + pn
        nonce = bytes(a ^ b for a, b in zip(iv, int.from_bytes(pn, "big").to_bytes(12, "big")))
        end = pn_offset + length
        return AESGCM(key).decrypt(nonce, datagram[pn_offset + pn_length:end], header)
    except Exception:  # noqa: BLE001 - anything undecryptable is simply not an Initial
        return None


def crypto_data(frames):
    """Concatenates the CRYPTO frames' data in offset order (gaps left out)."""
    pieces, pos = [], 0
    try:
        while pos < len(frames):
            frame_type = frames[pos]
            if frame_type == 0x00 or frame_type == 0x01:  # PADDING, PING
                pos += 1
                continue
            if frame_type != 0x06:
                break
            offset, pos = read_varint(frames, pos + 1)
            length, pos = read_varint(frames, pos)
            pieces.append((offset, frames[pos:pos + length]))
            pos += length
    except IndexError:
        pass
    return b"".join(data for _, data in sorted(pieces))


def new_cids():
    return os.urandom(8), os.urandom(8)
