#!/usr/bin/env python3
"""scripts/soak's verdict: reads soak.csv (sampler.py) and the run's facts
(run.json: minutes, warm-up, memory bound, far-side witness counts, the
daemon's exit code), checks every bound, prints a table and writes
summary.json. Exit 0 when every bound holds, 1 otherwise.

Bounds (after warm-up, i.e. rows whose phase is not "warmup"):
  RSS    peak <= warm-up level + max(8 MiB, 20 %) + what the flows the table
         gained since may cost by the memory bound's own count per flow, and
         never above the memory bound `flightwall check --config` prints
  fds    the lowest count in every 30 s window <= warm-up peak + 5 (a reload
         holds a few files open for a moment; a leak raises the floor)
  held   back to <= 2 at least once in every 30 s window, and 0 in at least one
         of the cool-down's last 5 samples (traffic stopped: a packet stuck in
         the queue keeps it >= 1 in all of them; a late retransmission
         crossing the queue at the moment of one sample does not)
  flows  table fill below 90 % (beyond, new flows are denied for want of room)
  leaks  0 denied attempts answered (client side), 0 adversary runs answered,
         0 far-side witness hits (tcpdump payload to denied addresses, nginx
         requests for denied names, dnsmasq questions for denied names)
  allowed fetch success >= 99 %
  daemon alive in every row, metrics scraped, 0 events lost, every reload ok,
         clean exit (0) on SIGTERM at the end
"""
import argparse
import csv
import json
import sys

RSS_SLACK_KIB = 8 * 1024
RSS_SLACK_FRACTION = 0.20
FD_SLACK = 5
HELD_QUIET = 2
HELD_END_SAMPLES = 5
WINDOW_S = 30
FLOW_FILL_MAX_PCT = 90.0
ALLOWED_MIN_RATE = 0.99


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def col(rows, name):
    return [x for x in (num(r.get(name)) for r in rows) if x is not None]


def judge(rows, run):
    warm = [r for r in rows if r["phase"] == "warmup"]
    post = [r for r in rows if r["phase"] != "warmup"]
    cool = [r for r in rows if r["phase"] == "cool"]
    checks = []

    def check(name, ok, value, bound):
        checks.append({"check": name, "pass": bool(ok), "value": value, "bound": bound})

    check("sampled rows", len(post) >= 10 and len(warm) >= 5,
          "%d warm-up, %d after" % (len(warm), len(post)), ">= 5 warm-up, >= 10 after")
    if not post or not warm:
        return checks, {}
    # The warm-up level: the peak over the warm-up's last third (the tables
    # and pools touched by then), so one slow start does not set the bar.
    tail = warm[-max(1, len(warm) // 3):]
    rss_warm = max(col(tail, "rss_kib") or [0])
    rss_post = col(post, "rss_kib")
    rss_peak = max(rss_post or [0])
    rss_end = rss_post[-1] if rss_post else 0
    # The flow table may fill (flows live up to an hour): each flow gained
    # after warm-up may cost what the memory bound counts per flow.
    flows_warm = max(col(tail, "flows_active") or [0])
    flows_peak = max(col(post, "flows_active") or [0])
    flow_allowance = max(0.0, flows_peak - flows_warm) * run.get("flow_bytes_bound", 0) / 1024.0
    rss_bound = (rss_warm + max(RSS_SLACK_KIB, RSS_SLACK_FRACTION * rss_warm) + flow_allowance)
    check("RSS after warm-up (KiB)", rss_peak <= rss_bound,
          "warm-up %d, peak %d, end %d" % (rss_warm, rss_peak, rss_end), "<= %d" % rss_bound)
    mem_bound_kib = run.get("memory_bound_kib")
    if mem_bound_kib:
        peak_all = max(col(rows, "rss_kib") or [0])
        check("RSS within the configured memory bound (KiB)", peak_all <= mem_bound_kib,
              "peak %d" % peak_all, "<= %d" % mem_bound_kib)
    # fds: a reload opens the policy and its includes for a moment, so one
    # sample may be a few higher; a leak raises the floor. Each 30 s window's
    # lowest count must stay within the bound.
    windows = []
    start = num(post[0]["t"])
    window = []
    for r in post:
        window.append(r)
        if num(r["t"]) - start >= WINDOW_S or r is post[-1]:
            windows.append(("%.0f-%.0f s" % (start, num(r["t"])), window))
            start, window = num(r["t"]), []
    fd_warm = max(col(warm, "fds") or [0])
    fd_peak = max(col(post, "fds") or [0])
    fd_floor = max(min(col(w, "fds") or [0]) for _, w in windows)
    check("open fds after warm-up (lowest in each %d s window)" % WINDOW_S,
          fd_floor <= fd_warm + FD_SLACK,
          "warm-up %d, floor %d, peak %d, end %d" % (fd_warm, fd_floor, fd_peak,
                                                     (col(post, "fds") or [0])[-1]),
          "<= %d" % (fd_warm + FD_SLACK))
    # Held packets come back to ~0 at quiet moments: every 30 s window.
    bad_windows = [name for name, w in windows if min(col(w, "held") or [0]) > HELD_QUIET]
    check("held packets back to <= %d in every %d s window" % (HELD_QUIET, WINDOW_S),
          not bad_windows, ", ".join(bad_windows[:5]) or "all windows",
          "no window above %d" % HELD_QUIET)
    held_tail = col(cool, "held")[-HELD_END_SAMPLES:]
    check("held packets 0 at the end of the cool-down (lowest of the last %d samples)"
          % HELD_END_SAMPLES, bool(held_tail) and min(held_tail) == 0,
          "%s (%d cool-down rows)" % (held_tail, len(cool)), "0")
    fill = col(rows, "flow_fill_pct")
    check("flow-table fill (%)", max(fill or [0]) < FLOW_FILL_MAX_PCT,
          "peak %.2f (%d flows)" % (max(fill or [0]), max(col(rows, "flows_active") or [0])),
          "< %.0f" % FLOW_FILL_MAX_PCT)
    # No attack in the soak exhausts a pool on purpose (daemon_adversary_test
    # does): a newcomer denied for want of a slot means slots leak (denied
    # flows once kept theirs for an hour and starved allowed fetches).
    exhausted = max(col(rows, "pool_exhausted") or [0])
    check("inspection pools never full (flows denied pool-exhausted)", exhausted == 0,
          "%d; stream slots in use peak %d" % (exhausted, max(col(rows, "stream_slots_in_use") or [0])),
          "0")
    last = rows[-1]
    ok, fail = num(last["allowed_ok"]) or 0, num(last["allowed_fail"]) or 0
    rate = ok / (ok + fail) if ok + fail else 0.0
    check("allowed fetches answered 200", ok > 0 and rate >= ALLOWED_MIN_RATE,
          "%d of %d (%.2f %%)" % (ok, ok + fail, 100 * rate), ">= %.0f %%" % (100 * ALLOWED_MIN_RATE))
    blocked, leaked = num(last["denied_blocked"]) or 0, num(last["denied_leaked"]) or 0
    check("denied attempts answered (client side)", blocked > 0 and leaked == 0,
          "%d leaked, %d blocked" % (leaked, blocked), "0 leaked")
    runs, adv = num(last["adversary_runs"]) or 0, num(last["adversary_leaked"]) or 0
    check("adversary runs answered (client side)", runs > 0 and adv == 0,
          "%d leaked of %d runs" % (adv, runs), "0 leaked")
    for name, value in sorted(run.get("witness", {}).items()):
        check("far side: " + name, value == 0, value, "0")
    alive = col(rows, "alive")
    check("daemon alive in every sample", alive and min(alive) == 1,
          "%d of %d rows" % (sum(alive), len(rows)), "all")
    scraped = col(rows, "metrics_ok")
    check("metrics scraped", sum(scraped) >= 0.95 * len(rows),
          "%d of %d rows" % (sum(scraped), len(rows)), ">= 95 %")
    lost = max(col(rows, "events_lost") or [0])
    check("events lost", lost == 0, int(lost), "0")
    reloads_ok = max(col(rows, "reloads_ok") or [0])
    reloads_failed = max(col(rows, "reloads_failed") or [0])
    sent = run.get("reloads_sent", 0)
    check("policy reloads (SIGHUP, two valid policies)",
          reloads_failed == 0 and reloads_ok >= max(1, sent - 1),
          "%d ok, %d failed, %d sent" % (reloads_ok, reloads_failed, sent), "all ok")
    rc = run.get("daemon_exit_code")
    check("daemon exit code on SIGTERM", rc == 0, rc, "0")

    lat_warm = col(warm, "latency_us")
    lat_post = col(post, "latency_us")
    p99_post = sorted(col(post, "latency_p99_us"))
    figures = {
        "rss_kib": {"start": (col(rows, "rss_kib") or [0])[0], "warmup": rss_warm,
                    "peak": rss_peak, "end": rss_end, "bound": rss_bound,
                    "memory_bound": mem_bound_kib, "flow_allowance": flow_allowance,
                    "growth_kib_per_1000_flows": (1000.0 * (rss_end - rss_warm) /
                                              (flows_peak - flows_warm)
                                              if flows_peak > flows_warm else None)},
        "fds": {"start": (col(rows, "fds") or [0])[0], "warmup_peak": fd_warm, "peak": fd_peak,
                "floor": fd_floor,
                "end": (col(post, "fds") or [0])[-1]},
        "threads": max(col(rows, "threads") or [0]),
        "flows_active_peak": max(col(rows, "flows_active") or [0]),
        "names_cached_peak": max(col(rows, "names_cached") or [0]),
        "held_peak": max(col(rows, "held") or [0]),
        "latency_us": {
            "warmup_mean": sum(lat_warm) / len(lat_warm) if lat_warm else None,
            "mean": sum(lat_post) / len(lat_post) if lat_post else None,
            "max_1s": max(lat_post) if lat_post else None,
            # Per second, estimated from the histogram's buckets (10 us .. 100 ms).
            "p99_median_1s": p99_post[len(p99_post) // 2] if p99_post else None,
            "p99_max_1s": p99_post[-1] if p99_post else None},
        "allowed": {"ok": ok, "failed": fail, "success_pct": 100 * rate},
        "denied": {"blocked": blocked, "leaked": leaked},
        "adversary": {"runs": runs, "leaked": adv},
        "kernel_queue_dropped": max(col(rows, "kernel_queue_dropped") or [0]),
        "kernel_user_dropped": max(col(rows, "kernel_user_dropped") or [0]),
        "reloads": {"ok": reloads_ok, "failed": reloads_failed, "sent": sent},
    }
    return checks, figures


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", required=True)
    p.add_argument("--run", required=True, help="run.json written by scripts/soak")
    p.add_argument("--summary", required=True)
    args = p.parse_args(argv)
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(args.run) as f:
        run = json.load(f)
    checks, figures = judge(rows, run) if rows else (
        [{"check": "sampled rows", "pass": False, "value": 0, "bound": "> 0"}], {})
    ok = all(c["pass"] for c in checks)
    summary = {"pass": ok, "run": run, "rows": len(rows), "checks": checks, "figures": figures}
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")
    fmt = "%-60s %-44s %-26s %s"
    print(fmt % ("check", "value", "bound", "verdict"))
    for c in checks:
        print(fmt % (c["check"][:60], str(c["value"])[:44], str(c["bound"])[:26],
                     "PASS" if c["pass"] else "FAIL"))
    lat = figures.get("latency_us", {})
    if lat.get("mean") is not None:
        print("verdict latency: mean %.1f us after warm-up (warm-up %.1f us), worst second %.1f us"
              % (lat["mean"], lat["warmup_mean"] or 0, lat["max_1s"]))
    if lat.get("p99_median_1s") is not None:
        print("verdict latency p99 of each second after warm-up: median %.1f us, worst %.1f us"
              % (lat["p99_median_1s"], lat["p99_max_1s"]))
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
