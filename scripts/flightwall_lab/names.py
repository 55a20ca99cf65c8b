"""What a lab is called and where its state lives.

A Lab is a plain value: the prefix names the namespaces <prefix>-tablet,
<prefix>-gw and <prefix>-inet (inet_ns, when set, names the servers'
namespace instead: the daemon test lab's <prefix>-s); the state dir (FW_LAB_DIR, default
/run/flightwall-lab/<prefix>) holds pids/, logs/, certs/ (certs/ca.crt is the
lab CA), www/, daemon/ and the marker file that lets `down` delete it.
"""

import os
import re
from dataclasses import dataclass

from .procs import LabError

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_D = os.path.join(SCRIPTS_DIR, "lab.d")
REPO_ROOT = os.path.dirname(SCRIPTS_DIR)

_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$")


@dataclass(frozen=True)
class Lab:
    prefix: str
    state: str
    inet_ns: str = ""

    @staticmethod
    def from_env(env=None) -> "Lab":
        env = os.environ if env is None else env
        prefix = env.get("FW_LAB_PREFIX") or "fwlab"
        if not _PREFIX_RE.match(prefix):
            raise LabError(f"FW_LAB_PREFIX '{prefix}' must be 1-24 of "
                           "[A-Za-z0-9_-]")
        state = env.get("FW_LAB_DIR") or f"/run/flightwall-lab/{prefix}"
        return Lab(prefix, state)

    @property
    def tablet(self) -> str:
        return f"{self.prefix}-tablet"

    @property
    def gw(self) -> str:
        return f"{self.prefix}-gw"

    @property
    def inet(self) -> str:
        return self.inet_ns or f"{self.prefix}-inet"

    @property
    def all_ns(self) -> tuple:
        return (self.tablet, self.gw, self.inet)

    def ns(self, name: str) -> str:
        """tablet|gw|inet or a full namespace name -> the full name."""
        if name in ("tablet", "gw", "inet"):
            return f"{self.prefix}-{name}"
        if name in self.all_ns:
            return name
        raise LabError(f"unknown namespace '{name}' (tablet, gw, inet)")

    def path(self, *parts: str) -> str:
        return os.path.join(self.state, *parts)

    @property
    def marker(self) -> str:
        return self.path(".flightwall-lab")

    @property
    def ca(self) -> str:
        return self.path("certs", "ca.crt")

    @property
    def logs(self) -> str:
        return self.path("logs")

    @property
    def netns_etc(self) -> str:
        return f"/etc/netns/{self.tablet}"
