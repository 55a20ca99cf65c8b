"""A lab test as a table of cases: each Case names the tablet's clients
(commands with what they must see) and the witnesses that judge the case
afterwards from outside (captures, server logs, the daemon's event log).

run_client() runs one Client in the tablet namespace and records one check;
a Witness's probe gets the Evidence once every client has run and the
captures are complete. Probes that raise count as FAIL (see checks.py).
"""

import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field

from .checks import Checks
from .names import Lab
from .witness import count

INET, TABLET = "inet", "tablet"  # which capture a packet witness reads


@dataclass
class Result:
    """What the tablet saw: exit status of the last command, wall time of
    all of them, and each one's output (stdout and stderr)."""
    rc: int = 0
    ms: int = 0
    outs: list = field(default_factory=list)

    @property
    def out(self) -> str:
        return self.outs[-1] if self.outs else ""


@dataclass
class Client:
    """Commands run in the tablet, then EXPECT(result) -> bool. DESC is a
    format string over the result (rc, ms, out) or a callable of it."""
    desc: object
    cmds: list
    expect: object
    stdin: str = ""


@dataclass
class Witness:
    """A judgement of evidence gathered outside the client: PROBE(ctx) ->
    bool or (bool, detail)."""
    desc: str
    probe: object


@dataclass
class Case:
    name: str
    clients: list
    witnesses: list


@dataclass
class Evidence:
    """Where the evidence lives: the lab (its logs), captures by side, the
    daemon's events once read."""
    lab: Lab
    work: str
    pcaps: dict = field(default_factory=dict)
    events: list = field(default_factory=list)

    def log(self, name: str) -> str:
        try:
            with open(os.path.join(self.lab.logs, name), encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def dig_status(out: str) -> str:
    m = re.search(r"status: ([A-Z]*),", out)
    return m.group(1) if m else ""


def lines_with(out: str, text: str) -> int:
    return sum(1 for line in out.splitlines() if text in line)


def http_200(r: Result) -> bool:
    return r.rc == 0 and r.out.strip() == "200"


def reset_fast(what: str, cmd: list) -> Client:
    """A denied TCP connection must end at once with a reset (curl 7
    connect, 35 TLS handshake, 56 receive), well before the 3 s connect
    timeout."""
    return Client(what + ": fails fast with a reset (curl exit {rc} after "
                  "{ms} ms; want 7/35/56 in < 2000 ms)", [cmd],
                  lambda r: r.rc in (7, 35, 56) and r.ms < 2000)


def packets(side: str, display_filter: str, want_some: bool):
    def probe(ctx: Evidence):
        n = count(ctx.pcaps[side], display_filter)
        label = f"{n} packets" if n else ("no packet" if want_some
                                          else "0 packets")
        return (n > 0) == want_some, f"({label}: {display_filter})"
    return probe


def some_in(desc: str, side: str, display_filter: str) -> Witness:
    return Witness(desc, packets(side, display_filter, True))


def none_in(desc: str, side: str, display_filter: str) -> Witness:
    return Witness(desc, packets(side, display_filter, False))


def matches(e: dict, fields: dict) -> bool:
    return all(e.get(k) == v for k, v in fields.items())


def event(desc: str, **fields) -> Witness:
    """Some event of the daemon has all FIELDS."""
    def probe(ctx: Evidence):
        found = any(matches(e, fields) for e in ctx.events)
        return found, "" if found else f"(no event with {fields})"
    return Witness(desc, probe)


def log_has(name: str, *texts: str):
    return lambda ctx: all(t in ctx.log(name) for t in texts)


def log_lacks(name: str, pattern: str):
    return lambda ctx: re.search(pattern, ctx.log(name)) is None



def run_client(lab: Lab, client: Client, checks: Checks) -> None:
    r = Result()
    t0 = time.monotonic()
    for cmd in client.cmds:
        with open(client.stdin or os.devnull, "rb") as stdin:
            done = subprocess.run(["ip", "netns", "exec", lab.tablet, *cmd],
                                  stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, check=False)
        r.rc = done.returncode
        r.outs.append(done.stdout.decode(errors="replace"))
    r.ms = int((time.monotonic() - t0) * 1000)
    desc = (client.desc(r) if callable(client.desc)
            else client.desc.format(rc=r.rc, ms=r.ms, out=r.out.strip()))
    ok = checks.check(desc, lambda: client.expect(r))
    if not ok:
        print("  tablet saw: " + r.out.strip().replace("\n", " ")[:300])


def chain_intact(path: str):
    """The event log's hash chain, recomputed independently of flightwall."""
    prev, n = "", 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            obj = json.loads(line)
            h = obj.pop("hash")
            body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
            if obj["seq"] != n or obj["prev"] != prev or hashlib.sha256(
                    (prev + "\n" + body).encode()).hexdigest() != h:
                return False, f"(chain broken at line {n})"
            prev = h
    return (True, "") if n > 0 else (False, "(empty event log)")
