"""The lab's wiring: namespaces, veth pairs, addresses, routes, sysctls.

  tablet  eth0 192.0.2.10/24, 2001:db8:1::10/64   default via the gw
  gw      lan0 192.0.2.1/24, 2001:db8:1::1/64     forwards; flightwall runs here
          wan0 203.0.113.241/30, 2001:db8:ff::1/64
  inet    eth0 203.0.113.242/30, 2001:db8:ff::2/64
          srv0 (dummy, or a veth where there is no dummy driver): SERVER_ADDRS

wire_bridge() is the same three namespaces with the tablet bridged instead
of routed (flightwall's `intercept: mode: bridge`):

  tablet  eth0 192.0.2.10/24, 2001:db8:1::10/64   default via inet's eth0
  gw      br0 192.0.2.2/24, 2001:db8:1::2/64 bridging tab0 (the tablet's
          port) and up0 (the uplink); no forwarding
  inet    eth0 192.0.2.1/24, 2001:db8:1::1/64 (the tablet's router)
          srv0: SERVER_ADDRS

Veths are created directly inside the namespaces: nothing is configured in
the root namespace.
"""

import os
import sys

from .names import LAB_D, Lab
from .procs import in_ns, log, run

# Server addresses on the inet namespace's srv0 interface.
SERVER_ADDRS = (
    "203.0.113.53/32", "2001:db8:53::53/128",  # allowed resolver
    "203.0.113.99/32", "2001:db8:99::99/128",  # rogue resolver
    "198.51.100.10/32", "2001:db8:100::10/128",  # tile server
    "198.51.100.20/32", "2001:db8:100::20/128",  # vendor cloud
    "198.51.100.30/32",  # analytics
    "198.51.100.40/32",  # shared CDN
    "203.0.113.77/32", "2001:db8:77::77/128",  # hard-coded-IP upload
    "203.0.113.88/32", "2001:db8:88::88/128",  # UDP echo / ICMP side channel
)

TABLET_V4, TABLET_V6 = "192.0.2.10", "2001:db8:1::10"


def _ipn(ns: str, *args: str) -> None:
    run("ip", "-n", ns, *args, capture_output=True)


def _addr(ns: str, cidr: str, dev: str) -> None:
    extra = ("nodad",) if ":" in cidr else ()
    _ipn(ns, "addr", "add", cidr, "dev", dev, *extra)


def make_namespaces(lab: Lab) -> None:
    wire(lab.tablet, lab.gw, lab.inet, SERVER_ADDRS, lab.prefix)


def wire(t: str, g: str, i: str, server_addrs=SERVER_ADDRS,
         log_name: str = "", offloads_off: bool = True) -> None:
    """Creates namespaces T (tablet), G (gateway), I (internet) wired as
    above, with SERVER_ADDRS on I's srv0. OFFLOADS_OFF: checksum and
    segmentation offloads off on the four veth ends (wire-sized packets).
    On failure the namespaces made so far stay: the caller deletes them."""
    _make_namespaces(t, g, i)
    _tablet(t, g, "lan0")
    _ipn(g, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0",
         "netns", i)

    _addr(g, "192.0.2.1/24", "lan0")
    _addr(g, "2001:db8:1::1/64", "lan0")
    _addr(g, "203.0.113.241/30", "wan0")
    _addr(g, "2001:db8:ff::1/64", "wan0")
    _ipn(g, "link", "set", "lan0", "up")
    _ipn(g, "link", "set", "wan0", "up")
    _ipn(g, "route", "add", "default", "via", "203.0.113.242")
    _ipn(g, "-6", "route", "add", "default", "via", "2001:db8:ff::2")
    in_ns(g, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
          "net.ipv6.conf.all.forwarding=1", capture_output=True)

    _addr(i, "203.0.113.242/30", "eth0")
    _addr(i, "2001:db8:ff::2/64", "eth0")
    _ipn(i, "link", "set", "eth0", "up")
    _servers(i, server_addrs)
    _ipn(i, "route", "add", "192.0.2.0/24", "via", "203.0.113.241")
    _ipn(i, "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:ff::1")
    if offloads_off:
        _offloads_off(((t, "eth0"), (g, "lan0"), (g, "wan0"), (i, "eth0")),
                      log_name or t)


def wire_bridge(t: str, g: str, i: str, server_addrs=SERVER_ADDRS,
                log_name: str = "", offloads_off: bool = True) -> None:
    """Creates namespaces T, G, I wired as wire_bridge() above (G bridges
    T to I on br0). Same contract as wire()."""
    _make_namespaces(t, g, i)
    _tablet(t, g, "tab0")
    _ipn(i, "link", "add", "eth0", "type", "veth", "peer", "name", "up0",
         "netns", g)

    _ipn(g, "link", "add", "br0", "type", "bridge")
    _ipn(g, "link", "set", "tab0", "master", "br0")
    _ipn(g, "link", "set", "up0", "master", "br0")
    _addr(g, "192.0.2.2/24", "br0")
    _addr(g, "2001:db8:1::2/64", "br0")
    for dev in ("tab0", "up0", "br0"):
        _ipn(g, "link", "set", dev, "up")

    _addr(i, "192.0.2.1/24", "eth0")
    _addr(i, "2001:db8:1::1/64", "eth0")
    _ipn(i, "link", "set", "eth0", "up")
    _servers(i, server_addrs)
    if offloads_off:
        _offloads_off(((t, "eth0"), (g, "tab0"), (g, "up0"), (i, "eth0")),
                      log_name or t)


def _make_namespaces(*names: str) -> None:
    for ns in names:
        run("ip", "netns", "add", ns, capture_output=True)
        _ipn(ns, "link", "set", "lo", "up")
        # No DAD (addresses usable at once), no RA/RS chatter in captures.
        in_ns(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0",
              "net.ipv6.conf.default.accept_dad=0",
              "net.ipv6.conf.default.accept_ra=0",
              "net.ipv6.conf.all.accept_ra=0",
              "net.ipv6.conf.default.router_solicitations=0",
              capture_output=True)


def _tablet(t: str, g: str, port: str) -> None:
    """The tablet's eth0, a veth whose peer is PORT in G: addresses and
    default routes."""
    _ipn(t, "link", "add", "eth0", "type", "veth", "peer", "name", port,
         "netns", g)
    _addr(t, f"{TABLET_V4}/24", "eth0")
    _addr(t, f"{TABLET_V6}/64", "eth0")
    _ipn(t, "link", "set", "eth0", "up")
    _ipn(t, "route", "add", "default", "via", "192.0.2.1")
    _ipn(t, "-6", "route", "add", "default", "via", "2001:db8:1::1")


def _servers(i: str, server_addrs) -> None:
    """srv0 in I with SERVER_ADDRS: a dummy, or a veth where the kernel has
    no dummy driver."""
    if run("ip", "-n", i, "link", "add", "srv0", "type", "dummy",
           check=False, quiet=True).returncode != 0:
        _ipn(i, "link", "add", "srv0", "type", "veth", "peer", "name",
             "srv0-peer")
        _ipn(i, "link", "set", "srv0-peer", "up")
    for cidr in server_addrs:
        _addr(i, cidr, "srv0")
    _ipn(i, "link", "set", "srv0", "up")


def _offloads_off(ends, log_name: str) -> None:
    """Wire-like captures: filled-in checksums, no 64 KB offload
    super-packets, on each (namespace, interface) of ENDS."""
    for ns, ifc in ends:
        if in_ns(ns, sys.executable, os.path.join(LAB_D, "no_offload.py"),
                 ifc, check=False).returncode != 0:
            log(log_name, f"warning: offloads still on for {ns}:{ifc}: "
                "captures may hold bad checksums")


def write_resolv_conf(lab: Lab) -> None:
    """The tablet resolves through the lab's allowed resolver."""
    os.makedirs(lab.netns_etc, exist_ok=True)
    with open(os.path.join(lab.netns_etc, "resolv.conf"), "w",
              encoding="ascii") as f:
        f.write("nameserver 203.0.113.53\n")


def remove_resolv_conf(lab: Lab) -> None:
    for path in (os.path.join(lab.netns_etc, "resolv.conf"),):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    for d in (lab.netns_etc, "/etc/netns"):
        try:
            os.rmdir(d)
        except OSError:
            pass


def delete_namespaces(lab: Lab) -> None:
    for ns in lab.all_ns:
        if os.path.exists(f"/run/netns/{ns}"):
            if run("ip", "netns", "del", ns, check=False,
                   quiet=True).returncode != 0:
                log(lab.prefix, f"warning: could not delete {ns}")
