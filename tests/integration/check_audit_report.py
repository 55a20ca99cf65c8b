#!/usr/bin/env python3
"""Compares a `flightwall audit --report-json` report with a lab scenario's
expected outcome (tests/data/lab/<scenario>.expected.json).

Exactly the expected denied destinations must appear as attempts (each one a
leak, since the lab's servers answer everything), and no allowed destination
may appear among them. Prints each difference; exit 1 on any.
"""
import json
import sys


def key_of_expected(e):
    proto = e["protocol"]
    port = e["port"] if proto in ("tcp", "udp") else None
    return (e.get("name") or "", e["address"], port, proto, e["reason"])


def key_of_finding(f):
    proto = f["protocol"]
    if proto.startswith("dns"):
        proto = "tcp" if proto == "dns-tcp" else "udp"
    port = f["dport"] if proto in ("tcp", "udp") else None
    return (f["hostname"], f["dst"], port, proto, f["reason"])


def main():
    report = json.load(open(sys.argv[1]))
    expected = json.load(open(sys.argv[2]))
    problems = []
    want = {}
    for e in expected["denied"]:
        keys = {key_of_expected(e)}
        for alt in e.get("also_acceptable", []):
            keys.add(key_of_expected(dict(e, reason=alt)))
        want[key_of_expected(e)] = keys
    got = {key_of_finding(f): f for f in report["attempts"]}
    matched = set()
    for k, keys in want.items():
        hit = [g for g in keys if g in got]
        if not hit:
            problems.append(f"missing attempt: {k}")
        matched.update(hit)
    for k, f in got.items():
        if k not in matched:
            problems.append(f"unexpected attempt: {k}")
        elif not f["leaked"]:
            problems.append(f"attempt not marked as leak (lab servers answer): {k}")
    allowed = {(a.get("name") or "", a["address"]) for a in expected.get("allowed", [])}
    for f in report["attempts"]:
        if (f["hostname"], f["dst"]) in allowed:
            problems.append(f"allowed destination reported as attempt: {f['hostname']} {f['dst']}")
    want_verdict = "leak" if expected["denied"] else "clean"
    if report["verdict"] != want_verdict:
        problems.append(f"verdict {report['verdict']}, expected {want_verdict}")
    for p in problems:
        print("FAIL:", p)
    print(f"{len(got)} distinct attempts, {len(want)} expected, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
