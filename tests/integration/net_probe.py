#!/usr/bin/env python3
"""UDP/TCP clients and a listener for the integration tests, run inside their
namespaces (nfqueue_source_test.sh; the UDP side-channel probes of
daemon_rules_test.py and daemon_bridge_test.sh use udp-error).

listen FILE ADDR...      UDP on ports 9999/9997 and TCP on 9998 at each ADDR;
                         appends each UDP payload as a line to FILE; prints
                         "listening" once bound.
udp ADDR PORT MSG...     sends the messages from one connected socket.
udp-paced FILE ADDR PORT MSG...  the same, waiting (up to 5 s) for each
                         message to appear in FILE before sending the next.
udp-error ADDR PORT MSG  sends MSG, waits up to 3 s for the ICMP error the
                         kernel reports on the socket; prints the errno name.
tcp ADDR PORT            connects (3 s timeout); prints refused/timeout/connected
                         and the elapsed milliseconds.
blast ADDR PORT COUNT    sends COUNT datagrams as fast as possible.
"""
import errno
import os
import select
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listen(path, addrs):
    socks = []
    for addr in addrs:
        for port in (9999, 9997, 9996):
            s = socket.socket(family(addr), socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            s.bind((addr, port))
            socks.append(s)
        t = socket.socket(family(addr), socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, 9998))
        t.listen(16)
        socks.append(t)
    print("listening", flush=True)
    with open(path, "a", buffering=1) as out:
        while True:
            ready, _, _ = select.select(socks, [], [], 60)
            for s in ready:
                if s.type == socket.SOCK_STREAM:
                    conn, _ = s.accept()
                    conn.close()
                    out.write("tcp-accepted\n")
                    continue
                data = s.recv(65535)
                out.write(data.decode(errors="replace") + "\n")


def udp(addr, port, messages):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.connect((addr, int(port)))
    for m in messages:
        s.send(m.encode())


def udp_paced(path, addr, port, messages):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.connect((addr, int(port)))
    for m in messages:
        s.send(m.encode())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(path) as f:
                if m + "\n" in f.read():
                    break
            time.sleep(0.02)


def udp_error(addr, port, message):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.connect((addr, int(port)))
    s.settimeout(3)
    s.send(message.encode())
    try:
        s.recv(100)
        print("reply")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))


def tcp(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(3)
    start = time.monotonic()
    try:
        s.connect((addr, int(port)))
        result = "connected"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = errno.errorcode.get(e.errno, str(e.errno))
    print(result, int((time.monotonic() - start) * 1000))


def blast(addr, port, count):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.connect((addr, int(port)))
    start = time.monotonic()
    for i in range(int(count)):
        try:
            s.send(b"blast-%d" % i)
        except OSError:
            pass
    print("sent", count, "in", int((time.monotonic() - start) * 1000), "ms")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "listen":
        listen(args[0], args[1:])
    elif cmd == "udp":
        udp(args[0], args[1], args[2:])
    elif cmd == "udp-paced":
        udp_paced(args[0], args[1], args[2], args[3:])
    elif cmd == "udp-error":
        udp_error(*args)
    elif cmd == "tcp":
        tcp(*args)
    elif cmd == "blast":
        blast(*args)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
