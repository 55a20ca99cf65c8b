"""The lab's flightwall daemon: `flightwall run` inside <prefix>-gw, the
router between the tablet (lan0) and the internet (wan0).

Files (state dir): daemon/flightwall.yaml (rendered config), daemon/pid,
logs/daemon.log (stderr), logs/daemon.stdout, events.jsonl (default config).
FLIGHTWALL names the binary (default build/daemon/flightwall of this tree).
Readiness is the daemon's own READY line on stdout, waited for at most
FW_LAB_DAEMON_WAIT tenths of a second (default 200).
"""

import os
import re
import signal
import subprocess
import sys
import time

from .names import REPO_ROOT, Lab
from .procs import LabError, alive, comm, kill, log, ns_exists, read_pid, run

DEFAULT_CONFIG = os.path.join(REPO_ROOT, "tests", "data", "lab",
                              "daemon-config.yaml")
_POLICY_RE = re.compile(r'^policy:\s*("?)([^"#\s]+)\1(\s*(#.*)?)$')


class Daemon:
    """One lab's daemon, found again through its pid file by any process."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.dir = lab.path("daemon")
        self.pid_file = os.path.join(self.dir, "pid")
        self.config = os.path.join(self.dir, "flightwall.yaml")
        self.log_path = lab.path("logs", "daemon.log")
        self.out_path = lab.path("logs", "daemon.stdout")
        # Set when this process started the daemon: its exit status is then
        # known once it stopped (None while unknown).
        self.proc = None
        self.exit_status = None

    def binary(self) -> str:
        fw = os.environ.get("FLIGHTWALL") or os.path.join(
            REPO_ROOT, "build", "daemon", "flightwall")
        if not os.access(fw, os.X_OK):
            raise LabError(f"no flightwall binary at {fw} "
                           "(run scripts/build or set FLIGHTWALL)")
        return fw

    def pid(self) -> int:
        """The daemon's pid if it runs (and still is a flightwall), else 0."""
        pid = read_pid(self.pid_file)
        if pid and alive(pid) and comm(pid) == "flightwall":
            return pid
        return 0

    def render_config(self, src: str) -> None:
        """@STATEDIR@ -> the state dir; a relative `policy:` becomes absolute
        against SRC's directory (the policy's own includes still resolve)."""
        base = os.path.dirname(os.path.abspath(src))
        out = []
        with open(src, encoding="utf-8") as f:
            for line in f:
                line = line.replace("@STATEDIR@", self.lab.state)
                m = _POLICY_RE.match(line.rstrip("\n"))
                if m and not os.path.isabs(m.group(2)):
                    line = ("policy: " + os.path.normpath(
                        os.path.join(base, m.group(2))) + "\n")
                out.append(line)
        with open(self.config, "w", encoding="utf-8") as f:
            f.writelines(out)

    def _tail(self, first_byte: int) -> None:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            f.seek(first_byte)
            lines = f.read().splitlines()
        sys.stderr.write("".join(line + "\n" for line in lines[-20:]))

    def start(self, config: str = "") -> None:
        config = config or DEFAULT_CONFIG
        if not ns_exists(self.lab.gw):
            raise LabError("lab is not up (scripts/lab up)")
        if not os.access(config, os.R_OK):
            raise LabError(f"no daemon config at {config}")
        pid = self.pid()
        if pid:
            raise LabError(f"the daemon already runs (pid {pid}); "
                           "scripts/lab daemon stop first")
        fw = self.binary()
        os.makedirs(self.dir, exist_ok=True)
        self.render_config(config)
        open(self.out_path, "w", encoding="utf-8").close()
        with open(self.log_path, "a", encoding="utf-8") as f:
            first_byte = f.tell()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            f.write(f"--- {stamp} start: {fw} run --config {self.config}\n")
        # A new session: a Ctrl-C meant for the caller does not reach the
        # daemon. `ip netns exec` execs in place, so proc.pid is the daemon.
        with open(self.out_path, "ab") as out, \
                open(self.log_path, "ab") as err:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.lab.gw, fw, "run", "--config",
                 self.config], stdin=subprocess.DEVNULL, stdout=out,
                stderr=err, start_new_session=True)
        self.proc, self.exit_status = proc, None
        with open(self.pid_file, "w", encoding="ascii") as f:
            f.write(f"{proc.pid}\n")
        tenths = int(os.environ.get("FW_LAB_DAEMON_WAIT") or 200)
        for _ in range(tenths):
            with open(self.out_path, encoding="utf-8",
                      errors="replace") as f:
                if "READY" in f.read().splitlines():
                    log(self.lab.prefix, f"daemon up (pid {proc.pid}, config "
                        f"{self.config}, log {self.log_path})")
                    return
            rc = proc.poll()
            if rc is not None:
                os.unlink(self.pid_file)
                self._tail(first_byte)
                raise LabError(f"daemon exited with status {rc} before READY "
                               f"(log {self.log_path})")
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        os.unlink(self.pid_file)
        self._tail(first_byte)
        raise LabError(f"daemon not READY after {tenths // 10} s; killed it "
                       f"(log {self.log_path})")

    def _signal_wait(self, sig: int, tenths: int) -> bool:
        """Signals the daemon, waits for it to exit; False if still alive."""
        pid = self.pid()
        if not pid:
            return True
        kill(pid, sig)
        for _ in range(tenths):
            if not alive(pid):
                break
            time.sleep(0.1)
        if alive(pid):
            return False
        if self.proc is not None and self.proc.pid == pid:
            self.exit_status = self.proc.wait()
            self.proc = None
        _unlink(self.pid_file)
        log(self.lab.prefix, f"daemon (pid {pid}) stopped by "
            f"{signal.Signals(sig).name}")
        return True

    def stop(self) -> bool:
        """SIGTERM, wait until it removed its rules and exited. False when it
        had to be killed (its rules then stay in the gw namespace)."""
        if not self.pid():
            _unlink(self.pid_file)
            return True
        if self._signal_wait(signal.SIGTERM, 100):
            return True
        log(self.lab.prefix, "daemon did not stop within 10 s of SIGTERM; "
            f"killing it (its rules stay in {self.lab.gw})")
        if not self._signal_wait(signal.SIGKILL, 30):
            raise LabError("daemon survives SIGKILL")
        return False

    def kill(self) -> None:
        """SIGKILL: its rules stay, so flight-app traffic is dropped."""
        if not self.pid():
            raise LabError("the daemon does not run")
        if not self._signal_wait(signal.SIGKILL, 30):
            raise LabError("daemon survives SIGKILL")

    def reload(self) -> bool:
        """SIGHUP; True once the daemon logs "reloaded policy", False on
        "reload failed"."""
        pid = self.pid()
        if not pid:
            raise LabError("the daemon does not run")
        with open(self.log_path, "rb") as f:
            before = len(f.read())
        kill(pid, signal.SIGHUP)
        for _ in range(100):
            with open(self.log_path, "rb") as f:
                f.seek(before)
                new = f.read().decode(errors="replace")
            for line in new.splitlines():
                if "reloaded policy" in line:
                    log(self.lab.prefix, line)
                    return True
                if "reload failed" in line:
                    sys.stderr.write(new)
                    log(self.lab.prefix, line)
                    return False
            if not alive(pid):
                raise LabError(f"daemon exited on SIGHUP (log {self.log_path})")
            time.sleep(0.1)
        raise LabError("daemon said nothing about the reload within 10 s "
                       f"(log {self.log_path})")

    def status(self) -> bool:
        pid = self.pid()
        if not pid:
            print("daemon: not running", flush=True)
            return False
        print(f"daemon: running (pid {pid}, config {self.config}, log "
              f"{self.log_path})", flush=True)
        return True

    def scrape(self):
        """(curl's exit status, its stdout, its stderr): the Prometheus
        scrape from inside the gw namespace."""
        if not ns_exists(self.lab.gw):
            raise LabError("lab is not up (scripts/lab up)")
        listen = "127.0.0.1:9714"
        try:
            with open(self.config, encoding="utf-8") as f:
                for line in f:
                    m = re.match(r"^\s*listen:\s*([^\s#]*)", line)
                    if m and m.group(1):
                        listen = m.group(1)
                        break
        except OSError:
            pass
        done = run("ip", "netns", "exec", self.lab.gw, "curl", "-sS",
                   "--max-time", "3", f"http://{listen}/metrics",
                   check=False, capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
