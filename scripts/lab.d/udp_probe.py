#!/usr/bin/env python3
"""One UDP datagram to ADDR:9999 (the lab's side-channel echo), from inside a
lab namespace: udp_probe.py ADDR. Prints what came back:

  echoed               the echo answered (the datagram got out)
  timeout              nothing within 2 s
  icmp-error errno=N   an ICMP error (e.g. unreachable from the firewall)
"""
import socket
import sys

fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2.0)
s.connect((sys.argv[1], 9999))
s.send(b"FWLAB-UDP lat=46.51234 lon=6.63201 alt=118")
try:
    s.recv(2048)
    print("echoed")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("icmp-error errno=%d" % e.errno)
