"""Running commands in the lab's namespaces, bounded polling, process checks.

LabError is the one error the library raises for operator-facing failures;
its message says what went wrong and what to do. Nothing here is
thread-safe; the lab is driven from one thread.
"""

import os
import signal
import subprocess
import sys
import time


class LabError(Exception):
    """A lab operation failed; str() is the message for the operator."""


def log(prefix: str, msg: str) -> None:
    print(f"lab[{prefix}]: {msg}", file=sys.stderr, flush=True)


def run(*cmd: str, check: bool = True, quiet: bool = False,
        **kwargs) -> subprocess.CompletedProcess:
    """Runs CMD; raises LabError (with its stderr) when check and it fails."""
    if quiet:
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
    try:
        done = subprocess.run(list(cmd), check=False, **kwargs)
    except FileNotFoundError as err:
        raise LabError(f"{cmd[0]} not found (run scripts/setup)") from err
    if check and done.returncode != 0:
        err = done.stderr
        if isinstance(err, bytes):
            err = err.decode(errors="replace")
        raise LabError(f"`{' '.join(cmd)}` exited {done.returncode}"
                       + (f": {err.strip()}" if err else ""))
    return done


def in_ns(ns: str, *cmd: str, **kwargs) -> subprocess.CompletedProcess:
    return run("ip", "netns", "exec", ns, *cmd, **kwargs)


def output(*cmd: str) -> str:
    """CMD's stdout ("" when it fails or is missing)."""
    try:
        return subprocess.run(list(cmd), check=False, capture_output=True,
                              text=True).stdout
    except FileNotFoundError:
        return ""


def ns_exists(ns: str) -> bool:
    return os.path.exists(f"/run/netns/{ns}")


def wait_until(desc: str, tenths: int, probe) -> None:
    """Polls PROBE() every 0.1 s, at most TENTHS times; LabError if never true."""
    for _ in range(tenths):
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise LabError(f"not ready after {tenths // 10} s: {desc}")


def alive(pid: int) -> bool:
    """True if PID runs (a zombie has finished: some containers' init reaps
    orphans late, and its /proc entry lingers)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii",
                  errors="replace") as f:
            for line in f:
                if line.startswith("State:"):
                    state = line.split()[1]
                    return state not in ("Z", "X")
    except OSError:
        return False
    return False


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8",
                  errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def read_pid(path: str) -> int:
    """The pid in PATH, 0 when absent, empty or not a number."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            digits = "".join(c for c in f.read() if c.isdigit())
    except OSError:
        return 0
    return int(digits) if digits else 0


def kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def exit_on_term() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so `finally` blocks (namespace
    cleanup) run on every way out."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)
