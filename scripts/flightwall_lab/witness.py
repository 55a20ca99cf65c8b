"""Far-side witnesses: tcpdump captures and tshark counts over them.

A Capture is ready once tcpdump says "listening on" (bounded wait), and
stop() ends it with SIGINT and waits until the file is complete. A capture
may outlive the process that started it (`scripts/lab capture start|stop`
for the bash tests): Capture.adopt(pid, path) stops it later by pid.
--immediate-mode matters: without it libpcap's TPACKET_V3 ring hands packets
over only when a block fills or its 1 s timer fires, and packets still in an
unretired block are lost on SIGINT (short scenarios then record nothing).
"""

import os
import signal
import subprocess
import time

from .procs import LabError, alive, comm, kill, output


class Capture:
    """tcpdump -w FILE on IFACE inside NS; its stderr goes to FILE.log."""

    def __init__(self, ns: str, iface: str, path: str, bpf=()):
        self.ns, self.iface, self.path = ns, iface, path
        self.log_path = path + ".log"
        self.bpf = tuple(bpf)
        self.proc = None
        self.pid = 0

    @staticmethod
    def adopt(pid: int, path: str) -> "Capture":
        """The running capture PID (started by another process) writing
        PATH; stop() signals it only while PID is still a tcpdump."""
        cap = Capture("", "", path)
        cap.pid = pid if comm(pid) == "tcpdump" else 0
        return cap

    def start(self) -> "Capture":
        with open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, "tcpdump", "-i", self.iface,
                 "-s", "0", "-U", "--immediate-mode", "-n", "-Z", "root",
                 "-w", self.path, *self.bpf],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err)
        # ip netns exec execs tcpdump: this is tcpdump's own pid.
        self.pid = self.proc.pid
        for _ in range(50):
            if "listening on" in self._log():
                return self
            if self.proc.poll() is not None:
                raise LabError(f"tcpdump in {self.ns} failed: {self._log()}")
            time.sleep(0.1)
        self.stop()
        raise LabError(f"tcpdump in {self.ns} not capturing after 5 s")

    def _log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _exited(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is not None
        return not alive(self.pid)

    def stop(self) -> None:
        """SIGINT (tcpdump flushes and exits), then waits 10 s for the exit
        before SIGKILL. Idempotent."""
        if self.pid == 0:
            return
        if not self._exited():
            kill(self.pid, signal.SIGINT)
            for _ in range(100):
                if self._exited():
                    break
                time.sleep(0.1)
            else:
                kill(self.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.proc, self.pid = None, 0

    def complete(self, allow_empty: bool = False) -> int:
        """Packets in the stopped capture; LabError if tcpdump dropped any,
        did not exit cleanly, or (unless ALLOW_EMPTY: a far-side witness
        that must see nothing) recorded nothing."""
        if not self._log():
            raise LabError(f"no tcpdump output in {self.log_path}: was "
                           f"{self.path} captured (capture start)?")
        if not any(line.startswith("0 packets dropped by kernel")
                   for line in self._log().splitlines()):
            raise LabError("tcpdump dropped packets or did not exit cleanly: "
                           + self._log().replace("\n", " "))
        n = len(output("tcpdump", "-r", self.path, "-n").splitlines())
        if n == 0 and not allow_empty:
            raise LabError(f"capture {self.path} is empty")
        return n

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def count(pcap: str, display_filter: str) -> int:
    """Packets of PCAP that tshark's display filter matches. LabError when
    the capture is missing or tshark fails (a bad filter must never read as
    "0 packets")."""
    if not os.path.exists(pcap):
        raise LabError(f"no capture at {pcap}")
    done = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", display_filter,
                           "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"tshark -Y '{display_filter}' on {pcap} exited "
                       f"{done.returncode}: {done.stderr.strip()}")
    return len(done.stdout.splitlines())
