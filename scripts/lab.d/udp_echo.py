#!/usr/bin/env python3
"""UDP echo for the lab's side-channel host (run inside the inet namespace).

Bounded on purpose: it answers at most --max-packets datagrams of at most
2048 bytes and exits after --max-seconds, so a lab left up cannot keep it
running forever. SIGTERM ends it at once (default Python behaviour).
"""
import argparse
import os
import socket
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=12 * 3600)
    parser.add_argument("--max-packets", type=int, default=100000)
    parser.add_argument("--pid-file")
    args = parser.parse_args()

    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    if args.pid_file:
        # Written after bind so "pid file exists" also means "listening".
        with open(args.pid_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pid_file + ".tmp", args.pid_file)
    deadline = time.monotonic() + args.max_seconds
    answered = 0
    while answered < args.max_packets:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(min(remaining, 5.0))
        try:
            data, peer = sock.recvfrom(2048)
        except socket.timeout:
            continue
        sock.sendto(data, peer)
        answered += 1


if __name__ == "__main__":
    main()
