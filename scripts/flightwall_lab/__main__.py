"""The flightwall network lab: three network namespaces that stand in for a
flight tablet, the router flightwall runs on, and "the internet" (lab DNS,
map-tile, vendor-cloud, analytics, CDN and side-channel servers).

  scripts/lab up                  build the lab and start its servers
  scripts/lab down                stop everything, delete namespaces and state
  scripts/lab status              show what is up (exit 0 only if fully up)
  scripts/lab exec NS CMD...      run CMD in NS (tablet|gw|inet or full name)
  scripts/lab record SCENARIO OUT.pcap [TABLET_OUT.pcap]
                                  capture the inet side (and optionally the
                                  tablet side) while scripts/lab-app runs
  scripts/lab daemon start [CONFIG] | stop | kill | reload | status | metrics
                                  flightwall run in the gw namespace
                                  (`down` stops it)
  scripts/lab wire [--bridge] [--offloads on|off] TABLET GW INET SERVER_CIDR...
                                  only the namespaces and their wiring, under
                                  names of the caller's choosing (for
                                  tests/integration/lib/daemon_lab.sh, which
                                  deletes them itself); --bridge: GW bridges
                                  the tablet to INET (topology.wire_bridge)
  scripts/lab serve daemon-lab [--bulk-mb N] STATE_DIR NS
                                  the daemon test lab's servers in NS (made
                                  by `wire`), state in STATE_DIR: CA and
                                  certs, dnsmasq, nginx (and www/tiles/
                                  bulk.bin of N MiB); returns once they
                                  answer (see daemon_lab_servers.py); the
                                  caller stops them (pids in STATE_DIR/pids)
  scripts/lab capture start NS IFACE FILE [BPF...]
                                  tcpdump -w FILE in NS until `capture stop`;
                                  returns once it captures, prints its pid
  scripts/lab capture stop PID FILE
                                  stops that capture (SIGINT, bounded wait)
                                  and prints its packet count; exit 1 if
                                  tcpdump dropped packets or died unclean

Environment: FW_LAB_PREFIX (default fwlab) names the namespaces
${prefix}-tablet, ${prefix}-gw, ${prefix}-inet, so tests can run their own
lab; FW_LAB_DIR (default /run/flightwall-lab/${prefix}) holds pids, configs,
certificates (certs/ca.crt is the lab CA) and logs (logs/).

Nothing is configured in the root namespace: veth pairs are created directly
inside the namespaces, sysctls are set inside them, servers run in them.
Only documentation address ranges are used (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 2001:db8::/32). Same as `PYTHONPATH=scripts python3 -m
flightwall_lab ...`; scripts/lab is a thin wrapper around it.
"""

import os
import shutil
import subprocess
import sys
import time

from . import daemon_lab_servers, services, topology
from . import lab as lab_mod
from .daemon import Daemon
from .names import SCRIPTS_DIR, Lab
from .procs import LabError, exit_on_term, log, ns_exists
from .witness import Capture

DAEMON_USAGE = ("usage: scripts/lab daemon start [CONFIG] | stop | kill | "
                "reload | status | metrics")


def cmd_exec(lab: Lab, args) -> int:
    lab_mod.need_root()
    if len(args) < 2:
        raise LabError("usage: scripts/lab exec NS CMD...")
    ns = lab.ns(args[0])
    if not ns_exists(ns):
        raise LabError(f"namespace {ns} does not exist (scripts/lab up)")
    os.environ["FW_LAB_CA"] = lab.ca
    sys.stdout.flush()
    os.execvp("ip", ["ip", "netns", "exec", ns, *args[1:]])
    return 127  # not reached


def cmd_record(lab: Lab, args) -> int:
    lab_mod.need_root()
    services.need_tools("tcpdump")
    if len(args) not in (2, 3):
        raise LabError("usage: scripts/lab record SCENARIO OUT.pcap "
                       "[TABLET_OUT.pcap]")
    scenario, out = args[0], args[1]
    tablet_out = args[2] if len(args) == 3 else ""
    if not ns_exists(lab.inet) or not ns_exists(lab.tablet):
        raise LabError("lab is not up (scripts/lab up)")
    tmp = lab.path(f"record.{os.getpid()}")
    os.makedirs(tmp, exist_ok=True)
    captures = []
    try:
        captures.append((Capture(lab.inet, "eth0", f"{tmp}/inet.pcap")
                         .start(), out))
        if tablet_out:
            captures.append((Capture(lab.tablet, "eth0",
                                     f"{tmp}/tablet.pcap").start(),
                             tablet_out))
        env = dict(os.environ, FW_LAB_PREFIX=lab.prefix, FW_LAB_DIR=lab.state)
        with open(f"{tmp}/app.log", "wb") as app_log:
            app = subprocess.Popen([os.path.join(SCRIPTS_DIR, "lab-app"),
                                    scenario], env=env,
                                   stdout=subprocess.PIPE)
            for line in app.stdout:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
                app_log.write(line)
            app.wait()
        # Let the last FIN/ACKs cross the router before the capture stops.
        time.sleep(0.5)
        for cap, _ in captures:
            cap.stop()
        for cap, dest in captures:
            n = cap.complete()
            shutil.copyfile(cap.path, dest)
            log(lab.prefix, f"recorded {dest}: {n} packets, "
                f"{os.path.getsize(dest)} bytes")
    finally:
        for cap, _ in captures:
            cap.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def cmd_daemon(lab: Lab, args) -> int:
    lab_mod.need_root()
    sub = args[0] if args else ""
    daemon = Daemon(lab)
    if sub == "start":
        daemon.start(args[1] if len(args) > 1 else "")
        return 0
    if sub == "stop":
        return 0 if daemon.stop() else 1
    if sub == "kill":
        daemon.kill()
        return 0
    if sub == "reload":
        return 0 if daemon.reload() else 1
    if sub == "status":
        return 0 if daemon.status() else 1
    if sub == "metrics":
        rc, out, err = daemon.scrape()
        sys.stdout.write(out)
        sys.stderr.write(err)
        return rc
    raise LabError(DAEMON_USAGE)


def cmd_wire(lab: Lab, args) -> int:
    lab_mod.need_root()
    offloads_off, wire = True, topology.wire
    while args[:1] in (["--offloads"], ["--bridge"]):
        if args[0] == "--bridge":
            wire, args = topology.wire_bridge, args[1:]
            continue
        if len(args) < 2 or args[1] not in ("on", "off"):
            raise LabError("--offloads takes on or off")
        offloads_off, args = args[1] == "off", args[2:]
    if len(args) < 3:
        raise LabError("usage: scripts/lab wire [--bridge] [--offloads "
                       "on|off] TABLET GW INET SERVER_CIDR...")
    wire(args[0], args[1], args[2], tuple(args[3:]), log_name=lab.prefix,
         offloads_off=offloads_off)
    return 0


def cmd_serve(lab: Lab, args) -> int:
    lab_mod.need_root()
    use = "usage: scripts/lab serve daemon-lab [--bulk-mb N] STATE_DIR NS"
    if args[:1] != ["daemon-lab"]:
        raise LabError(use)
    args, bulk_mb = args[1:], 0
    if args[:1] == ["--bulk-mb"] and len(args) > 1:
        if not args[1].isdigit():
            raise LabError(f"--bulk-mb takes a number of MiB, not "
                           f"'{args[1]}'")
        bulk_mb, args = int(args[1]), args[2:]
    if len(args) != 2:
        raise LabError(use)
    if not ns_exists(args[1]):
        raise LabError(f"namespace {args[1]} does not exist (scripts/lab "
                       "wire makes it)")
    daemon_lab_servers.serve(Lab(lab.prefix, args[0], inet_ns=args[1]),
                             bulk_mb)
    return 0


def cmd_capture(_lab: Lab, args) -> int:
    lab_mod.need_root()
    sub, args = (args[0], args[1:]) if args else ("", [])
    if sub == "start" and len(args) >= 3:
        services.need_tools("tcpdump")
        cap = Capture(args[0], args[1], args[2], args[3:]).start()
        print(cap.pid, flush=True)
        return 0
    if sub == "stop" and len(args) == 2 and args[0].isdigit():
        cap = Capture.adopt(int(args[0]), args[1])
        cap.stop()
        print(cap.complete(allow_empty=True), flush=True)
        return 0
    raise LabError("usage: scripts/lab capture start NS IFACE FILE [BPF...]"
                   " | stop PID FILE")


def usage() -> str:
    return __doc__.split("Same as `", maxsplit=1)[0].rstrip() + "\n"


def main(argv) -> int:
    exit_on_term()
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    if cmd in ("-h", "--help", "help"):
        sys.stdout.write(usage())
        return 0
    commands = {
        "up": lambda lab, a: lab_mod.up(lab) or 0,
        "down": lambda lab, a: lab_mod.down(lab) or 0,
        "status": lambda lab, a: 0 if lab_mod.status(lab) else 1,
        "exec": cmd_exec,
        "record": cmd_record,
        "daemon": cmd_daemon,
        "wire": cmd_wire,
        "serve": cmd_serve,
        "capture": cmd_capture,
    }
    if cmd not in commands:
        sys.stderr.write(usage())
        return 2
    try:
        lab = Lab.from_env()
    except LabError as err:
        print(f"lab: {err}", file=sys.stderr)
        return 2
    try:
        return commands[cmd](lab, args)
    except LabError as err:
        log(lab.prefix, f"error: {err}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
