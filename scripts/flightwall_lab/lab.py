"""A whole lab: up() builds it and starts its servers, down() stops every
process and deletes every namespace and file it made, status() reports.

up() never leaves a half-built lab behind: on any failure, exception,
Ctrl-C or SIGTERM (see procs.exit_on_term) it calls down() before raising.
`with running(lab):` is the form for tests: down() on every way out.
"""

import contextlib
import os
import shutil
import signal
import time

from . import services, topology
from .daemon import Daemon
from .names import Lab
from .procs import LabError, alive, comm, log, ns_exists, output, read_pid

# What may be signalled through a recorded pid file (a stale pid reused by
# another program is left alone).
_LAB_COMMS = ("dnsmasq", "nginx", "tcpdump", "flightwall")


def need_root() -> None:
    if os.geteuid() != 0:
        raise LabError("must run as root (creates network namespaces)")


def up(lab: Lab) -> None:
    need_root()
    services.need_tools()
    for ns in lab.all_ns:
        if ns_exists(ns):
            raise LabError(f"namespace {ns} exists: the lab is up (or half "
                           "up); run 'scripts/lab down' first")
    if os.path.exists(lab.marker):
        raise LabError(f"state dir {lab.state} exists: run 'scripts/lab "
                       "down' first")
    if os.path.exists(lab.state) and (not os.path.isdir(lab.state)
                                      or os.listdir(lab.state)):
        raise LabError(f"{lab.state} exists and is not an empty dir; set "
                       "FW_LAB_DIR elsewhere")
    for d in ("pids", "logs", "certs", "www"):
        os.makedirs(lab.path(d), exist_ok=True)
    with open(lab.marker, "w", encoding="ascii") as f:
        f.write(lab.prefix + "\n")
    done = False
    try:
        topology.make_namespaces(lab)
        services.make_certs(lab)
        services.make_tiles(lab)
        services.start_dns(lab)
        services.start_nginx(lab)
        services.start_udp_echo(lab)
        topology.write_resolv_conf(lab)
        services.wait_ready(lab)
        done = True
    finally:
        if not done:
            log(lab.prefix, "up failed; tearing down")
            down(lab)
    log(lab.prefix, f"up: namespaces {' '.join(lab.all_ns)}; CA {lab.ca}; "
        f"logs {lab.logs}")


def _recorded_pids(lab: Lab) -> set:
    pids = set()
    pid_dir = lab.path("pids")
    if not os.path.isdir(pid_dir):
        return pids
    for name in os.listdir(pid_dir):
        if not name.endswith(".pid"):
            continue
        pid = read_pid(os.path.join(pid_dir, name))
        if pid and alive(pid) and (comm(pid) in _LAB_COMMS
                                   or comm(pid).startswith("python3")):
            pids.add(pid)
    return pids


def _lab_pids(lab: Lab) -> list:
    pids = _recorded_pids(lab)
    for ns in lab.all_ns:
        if ns_exists(ns):
            pids.update(int(p) for p in output("ip", "netns", "pids",
                                               ns).split() if p.isdigit())
    return sorted(p for p in pids if alive(p))


def _signal_all(pids, sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _stop_processes(lab: Lab) -> None:
    pids = _lab_pids(lab)
    if not pids:
        return
    _signal_all(pids, signal.SIGTERM)
    for sig, tenths in ((signal.SIGKILL, 50), (None, 20)):
        for _ in range(tenths):
            pids = _lab_pids(lab)
            if not pids:
                return
            time.sleep(0.1)
        if sig is None:
            log(lab.prefix, "warning: processes still alive: "
                + " ".join(map(str, pids)))
            return
        log(lab.prefix, "killing stubborn processes: "
            + " ".join(map(str, pids)))
        _signal_all(pids, sig)


def down(lab: Lab) -> None:
    """Idempotent; every step runs even if an earlier one failed."""
    need_root()
    # First, so it drains, closes its event log and removes its own rules.
    if os.path.isdir(lab.state):
        try:
            Daemon(lab).stop()
        except LabError as err:
            log(lab.prefix, f"warning: {err}")
    _stop_processes(lab)
    topology.delete_namespaces(lab)
    topology.remove_resolv_conf(lab)
    if os.path.exists(lab.marker):
        if os.environ.get("FW_LAB_KEEP_STATE"):
            log(lab.prefix, f"keeping state dir {lab.state} "
                "(FW_LAB_KEEP_STATE)")
        else:
            shutil.rmtree(lab.state, ignore_errors=True)
            try:
                os.rmdir("/run/flightwall-lab")
            except OSError:
                pass
    log(lab.prefix, "down")


@contextlib.contextmanager
def running(lab: Lab):
    """up(), then down() however the block ends."""
    try:
        up(lab)
        yield lab
    finally:
        down(lab)


def status(lab: Lab) -> bool:
    ok = True
    for ns in lab.all_ns:
        if ns_exists(ns):
            print(f"namespace {ns}: present")
            for line in output("ip", "-n", ns, "-br", "addr",
                               "show").splitlines():
                if not line.startswith("lo "):
                    print("  " + line)
        else:
            print(f"namespace {ns}: absent")
            ok = False
    pid_dir = lab.path("pids")
    if os.path.isdir(pid_dir):
        for name in sorted(os.listdir(pid_dir)):
            if not name.endswith(".pid"):
                continue
            pid = read_pid(os.path.join(pid_dir, name))
            server = name[:-len(".pid")]
            if pid and alive(pid):
                print(f"server {server}: running (pid {pid})")
            else:
                print(f"server {server}: NOT running")
                ok = False
        print(f"state: {lab.state} (CA {lab.ca}, logs {lab.logs})",
              flush=True)
        Daemon(lab).status()
    else:
        print(f"state: {lab.state} absent")
        ok = False
    print(f"lab {lab.prefix}: " + ("up" if ok else "not (fully) up"),
          flush=True)
    return ok
