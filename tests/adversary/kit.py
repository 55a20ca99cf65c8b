#!/usr/bin/env python3
"""flightwall adversary kit: one attack per subcommand, one JSON line out.

Each attack tries to get data for a DENIED name out through the firewall to
a SHARED CDN address (one that DNS attested for an allowed map-tile name), or
to the trusted resolver, and reports what it sent and what came back:

  {"attack": "tls-out-of-order", "family": 4,
   "flows": [{"proto": "tcp", "src": ..., "sport": ..., "dst": ..., "dport": ...}],
   "sent": {...}, "result": {"reset": ..., "server_bytes": ..., ...},
   "elapsed_ms": ...}

"flows" are the flows that carry the denied data: a witness on the far side
of the firewall looks them up (by client port) in its capture. Exhaustion
attacks add "holders", the flows that only occupy the firewall.

Run it as root inside the client's network namespace, after the client
resolved the allowed names (so the shared address is attested). Raw-socket
attacks use source ports from --rport on and need the client kernel's
resets for those ports dropped (an iptables rule in the client namespace);
kernel-socket attacks bind ports from --kport on. Every attack is bounded
(--timeout, default 20 s).

  ip netns exec CLIENT python3 tests/adversary/kit.py --list
  ip netns exec CLIENT python3 tests/adversary/kit.py tls-ech --family 6
"""

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import attacks_dns  # noqa: E402
import attacks_quic  # noqa: E402
import attacks_tls  # noqa: E402
from netio import Link  # noqa: E402

ATTACKS = {
    "tls-denied-sni": attacks_tls.tls_denied_sni,
    "tls-oversize": attacks_tls.tls_oversize,
    "tls-multirecord": attacks_tls.tls_multirecord,
    "tls-tcp-1byte": attacks_tls.tls_tcp_1byte,
    "tls-records-1byte": attacks_tls.tls_records_1byte,
    "tls-out-of-order": attacks_tls.tls_out_of_order,
    "tls-overlap": attacks_tls.tls_overlap,
    "tls-partial-then-ack": attacks_tls.tls_partial_then_ack,
    "tls-overlap-badsum": attacks_tls.tls_overlap_badsum,
    "tls-malformed": attacks_tls.tls_malformed,
    "tls-too-large": attacks_tls.tls_too_large,
    "opaque-on-443": attacks_tls.opaque_on_443,
    "tls-retransmit-after-deny": attacks_tls.tls_retransmit_after_deny,
    "tls-ip-fragments": attacks_tls.tls_ip_fragments,
    "tls-ech": attacks_tls.tls_ech,
    "tls-no-sni-http-host": attacks_tls.tls_no_sni_http_host,
    "tls-pool-exhaustion": attacks_tls.tls_pool_exhaustion,
    "tls-denied-flood": attacks_tls.tls_denied_flood,
    "http-no-host": attacks_tls.http_no_host,
    "http-retransmit-after-deny": attacks_tls.http_retransmit_after_deny,
    "dns-tcp-retransmit": attacks_dns.dns_tcp_retransmit,
    "dns-tcp-pipelined": attacks_dns.dns_tcp_pipelined,
    "dns-tcp-exhaustion": attacks_dns.dns_tcp_exhaustion,
    "dns-icmp-quote": attacks_dns.dns_icmp_quote,
    "quic-denied-sni": attacks_quic.quic_denied_sni,
    "quic-unknown-version": attacks_quic.quic_unknown_version,
    "quic-pool-exhaustion": attacks_quic.quic_pool_exhaustion,
    "legit-tls-oversize": attacks_tls.tls_legit_oversize,
}


class Context:
    """The lab's addresses and names for one address family, the port
    blocks this attack may use, and a lazily opened raw link."""

    def __init__(self, args):
        self.args = args
        self.v6 = args.family == 6
        self.src = args.src6 if self.v6 else args.src4
        self.shared = args.shared6 if self.v6 else args.shared4
        self.resolver = args.resolver6 if self.v6 else args.resolver4
        self.denied, self.allowed = args.denied, args.allowed
        self.holders = args.holders
        self._link = None

    def link(self):
        if self._link is None:
            self._link = Link(self.args.iface)
        return self._link

    def kport(self, i):
        return self.args.kport + i

    def rport(self, i):
        return self.args.rport + i

    def flow(self, proto, sport, dst, dport, last=None):
        f = {"proto": proto, "src": self.src, "sport": sport, "dst": dst, "dport": dport}
        if last is not None:
            f["sport_last"] = last
        return f

    def report(self, name, flows):
        label = "@" + self.args.label if self.args.label else ""
        return {"attack": name + ("-v6" if self.v6 else "") + label, "family": 6 if self.v6 else 4,
                "flows": flows, "sent": {}, "result": {}}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("attack", nargs="?", choices=sorted(ATTACKS))
    p.add_argument("--list", action="store_true", help="print the attacks and exit")
    p.add_argument("--family", type=int, choices=(4, 6), default=4)
    p.add_argument("--iface", default="eth0")
    p.add_argument("--src4", default="192.0.2.10")
    p.add_argument("--src6", default="2001:db8:1::10")
    p.add_argument("--shared4", default="198.51.100.10", help="shared CDN address (IPv4)")
    p.add_argument("--shared6", default="2001:db8:100::10")
    p.add_argument("--resolver4", default="203.0.113.53")
    p.add_argument("--resolver6", default="2001:db8:53::53")
    p.add_argument("--denied", default="region1.app-measurement.com")
    p.add_argument("--allowed", default="a.tiles.mapbox.com")
    p.add_argument("--kport", type=int, default=20000, help="first kernel-socket source port")
    p.add_argument("--rport", type=int, default=40000, help="first raw-socket source port")
    p.add_argument("--holders", type=int, default=300, help="connections an exhaustion holds")
    p.add_argument("--label", default="", help="suffix for the attack's name (NAME@LABEL)")
    p.add_argument("--timeout", type=int, default=20, help="seconds before the attack gives up")
    args = p.parse_args(argv)
    if not args.list and not args.attack:
        p.error("name an attack (or --list)")
    return args


def main(argv):
    args = parse_args(argv)
    if args.list:
        for name, fn in sorted(ATTACKS.items()):
            doc = " ".join((fn.__doc__ or name).split("\n\n")[0].split())
            doc = doc if len(doc) < 100 else doc[:97] + "..."
            print("%-28s %s" % (name, doc))
        return 0
    ctx = Context(args)
    t0 = time.monotonic()

    def on_alarm(_sig, _frame):
        print(json.dumps({"attack": ctx.report(args.attack, [])["attack"],
                          "family": args.family, "flows": [], "sent": {},
                          "result": {"error": "kit timeout after %d s" % args.timeout}}))
        sys.stdout.flush()
        os._exit(3)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.timeout)
    try:
        report = ATTACKS[args.attack](ctx)
    except Exception as e:  # noqa: BLE001 - an attack that breaks still reports
        report = ctx.report(args.attack, [])
        report["result"] = {"error": "%s: %s" % (type(e).__name__, e)}
    signal.alarm(0)
    report["elapsed_ms"] = int((time.monotonic() - t0) * 1000)
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
