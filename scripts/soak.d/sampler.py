#!/usr/bin/env python3
"""scripts/soak's sampler: one CSV row per second about a running daemon.

Run inside the gateway namespace (`ip netns exec`), so that the daemon's
metrics endpoint (127.0.0.1:9714) and the namespace's NFQUEUE state
(/proc/net/netfilter/nfnetlink_queue) are the daemon's. Reads:

  /proc/PID/status, /proc/PID/fd   rss_kib, fds, threads
  the metrics endpoint             flows_active, names_cached, verdict latency
                                   (mean over the last second from the
                                   histogram's _sum/_count), accepted/dropped
                                   packets per second, events lost, reloads
  nfnetlink_queue                  held: packets queued and still waiting for
                                   their verdict (the daemon holds a packet
                                   until its flow's name is known), and the
                                   kernel's queue drops
  COUNTS_DIR/*                     the client loops' outcome counters (one
                                   byte per attempt, see traffic.sh)

Stops when STOP_FILE exists, at --until, or when the daemon is gone (the row
then says alive=0). Bounded: at most --max-rows rows.
"""
import argparse
import csv
import os
import re
import sys
import time
import urllib.request

COUNTERS = ["allowed_ok", "allowed_fail", "denied_blocked", "denied_leaked",
            "adversary_runs", "adversary_leaked"]
COLUMNS = (["t", "phase", "alive", "rss_kib", "fds", "threads", "flows_active", "flow_fill_pct",
            "names_cached", "held", "latency_us", "latency_p99_us", "accepted_per_s", "dropped_per_s",
            "events_lost", "reloads_ok", "reloads_failed", "kernel_queue_dropped",
            "kernel_user_dropped", "metrics_ok", "stream_slots_in_use", "pool_exhausted"]
           + COUNTERS)

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def scrape(url):
    """{(name, labels): value} of a Prometheus text exposition, or None."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as r:
            text = r.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    out = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            try:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


def metric(m, name, labels=""):
    return m.get((name, labels), 0.0) if m else 0.0


LE = re.compile(r'le="([^"]+)"')


def buckets(m):
    """{upper bound in s: cumulative count} of the verdict latency histogram."""
    out = {}
    for (name, labels), v in (m or {}).items():
        if name == "flightwall_verdict_latency_seconds_bucket":
            le = LE.search(labels)
            if le:
                bound = float(le.group(1))  # "+Inf" parses as inf
                out[bound] = out.get(bound, 0.0) + v
    return out


def quantile_us(now, before, q):
    """The q-quantile (us) of the verdicts between two scrapes, interpolated
    within its bucket as Prometheus' histogram_quantile does; "" when no
    verdict fell between them. Past the last finite bound it is that bound."""
    bounds = sorted(now)
    delta = [now[b] - before.get(b, 0.0) for b in bounds]
    if not delta or delta[-1] <= 0:
        return ""
    rank = q * delta[-1]
    lower, below = 0.0, 0.0
    for bound, cum in zip(bounds, delta):
        if cum >= rank:
            if bound == float("inf"):
                return "%.1f" % (lower * 1e6)
            inside = cum - below
            frac = (rank - below) / inside if inside > 0 else 1.0
            return "%.1f" % ((lower + (bound - lower) * frac) * 1e6)
        lower, below = bound, cum
    return "%.1f" % (lower * 1e6)


def proc_status(pid):
    rss = threads = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
                elif line.startswith("State:") and line.split()[1] in ("Z", "X"):
                    return None, None, None
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None, None, None
    return rss, fds, threads


def queue_state():
    """(held, queue_dropped, user_dropped) summed over this namespace's queues."""
    held = dropped = user = 0
    try:
        with open("/proc/net/netfilter/nfnetlink_queue") as f:
            for line in f:
                v = line.split()
                if len(v) >= 7:
                    held += int(v[2])
                    dropped += int(v[5])
                    user += int(v[6])
    except OSError:
        pass
    return held, dropped, user


def counter(counts, name):
    try:
        return os.path.getsize(os.path.join(counts, name))
    except OSError:
        return 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--counts", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--metrics", default="http://127.0.0.1:9714/metrics")
    p.add_argument("--max-flows", type=int, default=0)
    p.add_argument("--warmup-until", type=float, required=True)
    p.add_argument("--traffic-until", type=float, required=True)
    p.add_argument("--until", type=float, required=True)
    p.add_argument("--max-rows", type=int, default=100000)
    args = p.parse_args(argv)

    t0 = time.time()
    prev = None  # (time, latency sum, latency count, accepted, dropped, latency buckets)
    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        f.flush()
        for _ in range(args.max_rows):
            now = time.time()
            if now >= args.until or os.path.exists(args.stop_file):
                break
            rss, fds, threads = proc_status(args.pid)
            alive = rss is not None
            m = scrape(args.metrics) if alive else None
            held, qdrop, udrop = queue_state()
            lsum = metric(m, "flightwall_verdict_latency_seconds_sum")
            lcount = metric(m, "flightwall_verdict_latency_seconds_count")
            drop = metric(m, "flightwall_packets_total", '{verdict="deny"}')
            acc = sum(v for (n, _), v in (m or {}).items() if n == "flightwall_packets_total") - drop
            hist = buckets(m)
            latency_us = p99_us = acc_rate = drop_rate = ""
            if m and prev:
                dt = max(now - prev[0], 1e-3)
                if lcount > prev[2]:
                    latency_us = "%.1f" % ((lsum - prev[1]) / (lcount - prev[2]) * 1e6)
                    p99_us = quantile_us(hist, prev[5], 0.99)
                acc_rate = "%.0f" % ((acc - prev[3]) / dt)
                drop_rate = "%.0f" % ((drop - prev[4]) / dt)
            if m:
                prev = (now, lsum, lcount, acc, drop, hist)
            flows = metric(m, "flightwall_flows_active")
            phase = ("warmup" if now < args.warmup_until else
                     "run" if now < args.traffic_until else "cool")
            row = ["%.1f" % (now - t0), phase, int(alive), rss or "", fds or "", threads or "",
                   int(flows) if m else "",
                   ("%.2f" % (100.0 * flows / args.max_flows)) if m and args.max_flows else "",
                   int(metric(m, "flightwall_names_cached")) if m else "", held,
                   latency_us, p99_us, acc_rate, drop_rate,
                   int(metric(m, "flightwall_events_lost_total")) if m else "",
                   int(metric(m, "flightwall_policy_reloads_total", '{result="ok"}')) if m else "",
                   int(metric(m, "flightwall_policy_reloads_total", '{result="failed"}'))
                   if m else "",
                   qdrop, udrop, int(m is not None),
                   int(metric(m, "flightwall_inspection_slots_in_use", '{pool="stream"}'))
                   if m else "",
                   int(sum(v for (n, _), v in m.items()
                           if n == "flightwall_inspection_pool_exhausted_total")) if m else ""]
            row += [counter(args.counts, c) for c in COUNTERS]
            w.writerow(row)
            f.flush()
            if not alive:
                break
            time.sleep(max(0.0, 1.0 - (time.time() - now)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
