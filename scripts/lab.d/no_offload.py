#!/usr/bin/env python3
"""Turns off checksum and segmentation offloads on lab interfaces.

Run inside a lab namespace: no_offload.py IFACE... . With offloads on, veth
packets carry unfilled TCP/UDP checksums and tcpdump sees 64 KB "super
packets"; with them off, the recorded captures look like packets on a wire.
Uses the legacy ETHTOOL_S* ioctls so the lab needs no ethtool binary.
"""
import array
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
# (name, ETHTOOL_Sxxx command) — order matters: segmentation needs checksums.
SETTINGS = [
    ("gro", 0x0000002C),
    ("gso", 0x00000024),
    ("tso", 0x0000001F),
    ("sg", 0x00000019),
    ("tx-checksum", 0x00000017),
]


def set_off(sock: socket.socket, ifname: str, name: str, cmd: int) -> bool:
    value = array.array("B", struct.pack("II", cmd, 0))
    addr, _ = value.buffer_info()
    ifreq = struct.pack("16sP", ifname.encode(), addr)
    try:
        fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    except OSError as err:
        print(f"no_offload: {ifname}: {name} off: {err}", file=sys.stderr)
        return False
    return True


def main() -> int:
    ok = True
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for ifname in sys.argv[1:]:
            for name, cmd in SETTINGS:
                ok = set_off(sock, ifname, name, cmd) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
