#!/usr/bin/env python3
"""Turns scripts/bench's raw figures into results.json and results.md.

  report.py FIGURES.txt OUT.json OUT.md

FIGURES.txt holds one "dotted.key value" per line (scripts/bench writes it as
it measures); values that parse as numbers become numbers. This adds the
ratios against (a) no queue and (b) the reference NFQUEUE program, the added
latency of new connections, and the issue's targets next to the measured
values.
"""
import json
import statistics
import sys

MODES = ["none", "rules_only", "nfq_reference", "nfq_reference_gso_copy128", "decisions", "every_packet"]
LABEL = {
    "none": "(a) no queue",
    "rules_only": "(a') flightwall's rules, all decided, no queue",
    "nfq_reference": "(b) nfq_reference",
    "nfq_reference_gso_copy128": "(b) nfq_reference --gso --copy 128",
    "decisions": "(c) flightwall decisions",
    "every_packet": "(d) flightwall every-packet",
    "every_packet_1q": "every-packet, 1 queue",
    "every_packet_2q": "every-packet, queue 0-1 (3 clients per queue)",
    "every_packet_2q_hashed": "every-packet, queue 0-1 (6 fixed clients, as hashed)",
}
NUMERIC_MACHINE_KEYS = {"machine.cores", "machine.mem_gib"}
REFS = {"none": "vs_none", "rules_only": "vs_rules_only", "nfq_reference": "vs_reference",
        "nfq_reference_gso_copy128": "vs_reference_gso_copy128"}


def parse(path):
    root = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if value in ("true", "false"):
                v = value == "true"
            elif key.startswith("machine.") and key not in NUMERIC_MACHINE_KEYS:
                v = value  # versions and revisions stay text ("12.10", "1e3abc0")
            else:
                try:
                    v = int(value)
                except ValueError:
                    try:
                        v = float(value)
                    except ValueError:
                        v = value
            if v in ("", "nan", "null"):
                v = None
            node = root
            parts = key.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = v
    return root


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def ratio(a, b):
    a, b = num(a), num(b)
    return round(a / b, 3) if a is not None and b else None


def add_ratios(table, metrics):
    """table: mode -> {metric: value}; adds mode.ratios.{vs_x}.{metric}."""
    for mode, row in table.items():
        if not isinstance(row, dict) or mode == "none":
            continue
        rs = {}
        for ref, name in REFS.items():
            if ref == mode or ref not in table:
                continue
            r = {m: ratio(row.get(m), table[ref].get(m)) for m in metrics if m in row}
            r = {k: v for k, v in r.items() if v is not None}
            if r:
                rs[name] = r
        if rs:
            row["ratios"] = rs


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def main():
    src, out_json, out_md = sys.argv[1:4]
    r = parse(src)
    bulk = r.get("bulk", {})
    for table in bulk.values():
        add_ratios(table, ["iperf3_gbit_s", "http_MB_s", "https_MB_s"])
    add_ratios(r.get("udp64", {}), ["passed_pps"])
    conn = r.get("connections", {})
    add_ratios(conn, ["connections_per_s"])
    base = conn.get("none", {})
    for mode, row in conn.items():
        if mode == "none":
            continue
        for m in ("syn_to_first_byte", "dns", "tcp_connect"):
            for p in ("p50", "p99"):
                a, b = num(row.get(f"{m}_{p}_ms")), num(base.get(f"{m}_{p}_ms"))
                if a is not None and b is not None:
                    row[f"{m}_added_{p}_us"] = round((a - b) * 1000.0, 1)
    mq = r.get("multi_queue", {})
    # Round 1 is at the top level, round N under round_N; the figure is the
    # median of the rounds' ratios (each 2-queue run against the 1-queue run
    # right after it).
    rounds = [mq] + [mq[k] for k in sorted(mq, key=lambda k: int(k[6:]) if k[6:].isdigit() else 0)
                     if k.startswith("round_") and isinstance(mq[k], dict)]
    per_round = [v for rd in rounds
                 if (v := ratio(get(rd, "every_packet_2q", "iperf3_gbit_s"),
                                get(rd, "every_packet_1q", "iperf3_gbit_s"))) is not None]
    if per_round:
        mq["ratio_2q_vs_1q_rounds"] = per_round
        mq["ratio_2q_vs_1q"] = round(statistics.median(per_round), 3)
    if mq.get("every_packet_2q_hashed") and mq.get("every_packet_1q"):
        mq["ratio_2q_hashed_vs_1q"] = ratio(mq["every_packet_2q_hashed"].get("iperf3_gbit_s"),
                                            mq["every_packet_1q"].get("iperf3_gbit_s"))
    audit = r.get("audit", {})
    tools = audit.get("tools", {})
    fw = tools.get("flightwall", {})
    for name, row in tools.items():
        if name != "flightwall" and num(row.get("wall_s")):
            audit.setdefault("flightwall_speedup", {})[f"vs_{name}"] = ratio(row["wall_s"], fw.get("wall_s"))

    m = r.setdefault("machine", {})
    try:
        load = float(str(m.get("load_before", "")).split()[0])
    except (ValueError, IndexError):
        load = None
    if not m.get("note") and load is not None and num(m.get("cores")) and load > m["cores"]:
        m["note"] = ("The machine was shared (other engineers compiling: load average above its core "
                     "count), so absolute figures are noisy; the ratios within this run are what count.")
    r["targets"] = targets(r)
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(r, f, indent=2, sort_keys=False)
        f.write("\n")
    with open(out_md, "w", encoding="utf-8") as f:
        f.write(markdown(r))


def get(d, *path):
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def targets(r):
    t = []

    def add(name, target, measured, ok):
        t.append({"target": name, "goal": target, "measured": measured,
                  "met": None if measured is None else bool(ok)})

    for off in ("offloads_off", "offloads_on"):
        dec = get(r, "bulk", off, "decisions", "ratios", "vs_none") or {}
        v = dec.get("https_MB_s")
        add(f"decisions HTTPS bulk, {off.replace('_', ' ')}", ">= 0.95 of no queue", v, v is not None and v >= 0.95)
        v = dec.get("http_MB_s")
        add(f"decisions plain HTTP bulk, {off.replace('_', ' ')}", ">= 0.9 of no queue", v, v is not None and v >= 0.9)
        # The same two figures against (a'), the kernel running flightwall's
        # rules with no queue: what is left of the gap is user space's.
        dec_rules = get(r, "bulk", off, "decisions", "ratios", "vs_rules_only") or {}
        for m, label, goal in (("https_MB_s", "HTTPS", 0.95), ("http_MB_s", "plain HTTP", 0.9)):
            v = dec_rules.get(m)
            add(f"decisions {label} bulk, {off.replace('_', ' ')}, against (a'): its rules, all decided, no queue",
                f">= {goal} of (a')", v, v is not None and v >= goal)
        ev = get(r, "bulk", off, "every_packet", "ratios", "vs_none") or {}
        for m, label in (("iperf3_gbit_s", "iperf3"), ("http_MB_s", "HTTP"), ("https_MB_s", "HTTPS")):
            v = ev.get(m)
            add(f"every-packet {label} bulk, {off.replace('_', ' ')}", ">= 0.75 of no queue", v,
                v is not None and v >= 0.75)
    v = get(r, "udp64", "every_packet", "ratios", "vs_reference", "passed_pps")
    add("every-packet 64-byte UDP", ">= 1.5x nfq_reference pps", v, v is not None and v >= 1.5)
    v = get(r, "connections", "decisions", "syn_to_first_byte_added_p99_us")
    add("decisions: new connection added p99 (SYN to first byte)", "<= 200 us over no queue", v,
        v is not None and v <= 200)
    v = get(r, "multi_queue", "ratio_2q_vs_1q")
    add("every-packet throughput, 2 queues vs 1 (issue 8; median of the rounds)", ">= 1.7x", v,
        v is not None and v >= 1.7)
    sp = get(r, "audit", "flightwall_speedup") or {}
    v = sp.get("vs_tshark")
    add("audit --report-json speed", ">= 25x tshark", v, v is not None and v >= 25)
    v = sp.get("vs_ndpiReader")
    add("audit --report-json speed", ">= 4x ndpiReader", v, v is not None and v >= 4)
    v = get(r, "audit", "tools", "flightwall", "peak_rss_MiB")
    add("audit peak RSS", "<= 64 MiB", v, v is not None and v <= 64)
    v = get(r, "memory", "idle_default_limits", "vm_rss_MiB")
    add("daemon RSS idle (default limits)", "<= 16 MiB", v, v is not None and v <= 16)
    pts = get(r, "memory", "points") or {}
    last = max((int(k) for k in pts if k.isdigit()), default=None)
    if last is not None:
        v = get(pts, str(last), "vm_hwm_MiB")
        bound = get(r, "memory", "config_bound_MiB")
        add(f"daemon peak RSS after {last} flows+names", f"<= the config's bound ({fmt(bound)} MiB)", v,
            v is not None and bound is not None and v <= bound)
    return t


def markdown(r):
    m = r.get("machine", {})
    run = r.get("run", {})
    out = []
    w = out.append
    w(f"# flightwall benchmark results ({run.get('mode', '?')} run)\n")
    w(f"- **Machine**: {m.get('cpu_model')}, {m.get('cores')} cores, {m.get('mem_gib')} GiB, "
      f"kernel {m.get('kernel')}, Debian {m.get('debian')}")
    w(f"- **When**: {m.get('date')}; git {m.get('git_rev')} ({m.get('git_dirty_files')} files modified in the "
      f"working tree); flightwall built {run.get('build_type')} in {run.get('build_dir')}")
    w(f"- **Load**: load average {m.get('load_before')} before, {m.get('load_after')} after. "
      f"{m.get('note') or ''}")
    w(f"- **Run**: {run.get('seconds')} s of measurement; bulk file {run.get('bulk_mb')} MB, iperf3 "
      f"{run.get('iperf3_seconds')} s, {run.get('latency_connections')} new connections per mode. "
      "One run each: ratios within a run are what count.\n")

    def section(title, columns, rows, intro="", outro=""):
        """## TITLE, INTRO, a table, OUTRO: COLUMNS are header names, a
        leading '>' right-aligns the column (numbers); ROWS are lists of
        formatted cells."""
        w(f"## {title}\n")
        if intro:
            w(f"{intro}\n")
        w("| " + " | ".join(c.lstrip(">") for c in columns) + " |")
        w("|" + "|".join("---:" if c.startswith(">") else "---" for c in columns) + "|")
        for cells in rows:
            w("| " + " | ".join(cells) + " |")
        w("")
        if outro:
            w(f"{outro}\n")

    def trio(ratios, digits=2):
        return " / ".join(fmt(ratios.get(k), digits) for k in ("iperf3_gbit_s", "http_MB_s", "https_MB_s"))

    for off in ("offloads_off", "offloads_on"):
        table = get(r, "bulk", off)
        if not table:
            continue
        section(f"Bulk TCP through the router, {off.replace('_', ' ')}",
                ["configuration", ">iperf3 Gbit/s", ">HTTP MB/s", ">HTTPS MB/s", "vs (a) iperf3/HTTP/HTTPS",
                 "vs (a')", "vs (b) plain", "vs (b) --gso --copy 128", ">CPU s/GB HTTP", ">verdict µs (pkts)"],
                [[LABEL[mode], fmt(row.get("iperf3_gbit_s"), 2), fmt(row.get("http_MB_s")),
                  fmt(row.get("https_MB_s")),
                  trio(get(row, "ratios", "vs_none") or {}),
                  trio(get(row, "ratios", "vs_rules_only") or {}),
                  trio(get(row, "ratios", "vs_reference") or {}),
                  trio(get(row, "ratios", "vs_reference_gso_copy128") or {}),
                  fmt(row.get("cpu_s_per_gb_http"), 2),
                  f"{fmt(row.get('verdict_mean_us'))} ({fmt(row.get('verdict_packets'))})"]
                 for mode in MODES if (row := table.get(mode))])

    udp = r.get("udp64")
    if udp:
        section("64-byte UDP to an allowed flow (iperf3 -u -l 64 -b 0)",
                ["configuration", ">sent pkt/s", ">passed pkt/s", ">vs (a)", ">vs (b)"],
                [[LABEL[mode], fmt(row.get("sent_pps")), fmt(row.get("passed_pps")),
                  fmt(get(row, "ratios", "vs_none", "passed_pps"), 2),
                  fmt(get(row, "ratios", "vs_reference", "passed_pps"), 2)]
                 for mode in MODES if (row := udp.get(mode))])

    conn = r.get("connections")
    if conn:
        def pair(row, key, digits=1):
            return f"{fmt(row.get(key % 'p50'), digits)} / {fmt(row.get(key % 'p99'), digits)}"

        section("New allowed connections (offloads off)",
                ["configuration", ">n", "DNS p50/p99 ms", "TCP connect p50/p99 ms", "SYN→first byte p50/p99 ms",
                 "added p50/p99 µs", "DNS added p50/p99 µs", ">HTTP conn/s"],
                [[LABEL[mode], fmt(row.get("connections")), pair(row, "dns_%s_ms", 3),
                  pair(row, "tcp_connect_%s_ms", 3), pair(row, "syn_to_first_byte_%s_ms", 3),
                  pair(row, "syn_to_first_byte_added_%s_us"), pair(row, "dns_added_%s_us"),
                  fmt(row.get("connections_per_s"))]
                 for mode in MODES if (row := conn.get(mode))])

    mq = r.get("multi_queue")
    if mq:
        section("Multi-queue, every-packet, offloads off (6 iperf3 clients from 6 addresses at once)",
                ["configuration", ">iperf3 Gbit/s (sum)", "packets per queue", ">verdict µs",
                 ">daemon CPU s/GB", ">daemon cores", ">machine busy %"],
                [[LABEL[mode], fmt(row.get("iperf3_gbit_s"), 2), row.get("packets_per_queue") or "-",
                  fmt(row.get("verdict_mean_us")), fmt(row.get("cpu_s_per_gb"), 2),
                  fmt(row.get("daemon_cores"), 2), fmt(row.get("machine_busy_pct"))]
                 for mode in ("every_packet_1q", "every_packet_2q", "every_packet_2q_hashed")
                 if (row := mq.get(mode))],
                intro="The ratio uses 6 client addresses probed to hash 3 to each queue; the hashed "
                      "row is 6 fixed addresses, spread as the kernel's hash of the address pair puts them.",
                outro=f"2 queues / 1 queue: {fmt(mq.get('ratio_2q_vs_1q'), 2)}, the median of "
                      f"{len(mq.get('ratio_2q_vs_1q_rounds') or [])} interleaved rounds ("
                      f"{', '.join(fmt(v, 2) for v in mq.get('ratio_2q_vs_1q_rounds') or [])}); "
                      f"round 1's rows are above (hashed, round 1: "
                      f"{fmt(mq.get('ratio_2q_hashed_vs_1q'), 2)})")

    qs = r.get("queue_stats")
    if qs:
        section("Kernel queue counters per configuration (/proc/net/netfilter/nfnetlink_queue)",
                ["phase", "configuration", ">queued", ">queue full drops", ">socket buffer drops"],
                [[phase.replace("_", " "), LABEL.get(mode, mode), fmt(row.get("queued")),
                  fmt(row.get("queue_dropped")), fmt(row.get("user_dropped"))]
                 for phase, table in qs.items() for mode, row in table.items()],
                intro="Over everything measured in that configuration; drops here are packets the "
                      "queue lost (full queue, or the reader's socket buffer full: user_dropped).")

    audit = r.get("audit")
    if audit:
        c = audit.get("capture", {})
        sp = audit.get("flightwall_speedup", {})
        section("Audit speed",
                ["tool", ">wall s", ">packets/s", ">MB/s", ">peak RSS MiB", ">flightwall is N× faster"],
                [[row.get("command", name), fmt(row.get("wall_s"), 2), fmt(row.get("packets_per_s")),
                  fmt(row.get("MB_s")), fmt(row.get("peak_rss_MiB")),
                  fmt(sp.get("vs_" + name), 1) if name != "flightwall" else "-"]
                 for name, row in audit.get("tools", {}).items()],
                intro=f"Capture recorded in the lab (gateway lan0, offloads off): {fmt(c.get('MB'))} MB, "
                      f"{fmt(c.get('packets'))} packets; {c.get('content', '')}",
                outro=audit.get("note") or "")

    mem = r.get("memory")
    if mem:
        rows = []
        idle = mem.get("idle_default_limits")
        if idle:
            rows.append(["idle, default limits", fmt(idle.get("vm_rss_MiB")), fmt(idle.get("vm_hwm_MiB")),
                         "-", "-", "-"])
        idle = mem.get("idle")
        if idle:
            rows.append(["idle, memory-test limits", fmt(idle.get("vm_rss_MiB")), fmt(idle.get("vm_hwm_MiB")),
                         fmt(idle.get("flows_active")), fmt(idle.get("names_cached")), "-"])
        for k in sorted((k for k in mem.get("points", {}) if k.isdigit()), key=int):
            p = mem["points"][k]
            reached = num(p.get("names_total"))
            label = f"after {int(k):,} names + SYN flows"
            if reached is not None and reached != int(k):
                label = f"after {int(reached):,} names + SYN flows (target {int(k):,}: out of time)"
            rows.append([label, fmt(p.get("vm_rss_MiB")), fmt(p.get("vm_hwm_MiB")), fmt(p.get("flows_active")),
                         fmt(p.get("names_cached")),
                         f"{fmt(p.get('answered'))} answered, {fmt(p.get('syns'))} SYNs, {fmt(p.get('seconds'))} s"])
        section("Daemon memory (decisions mode)",
                ["point", ">VmRSS MiB", ">VmHWM MiB", ">flows_active", ">names_cached", "generator"], rows,
                intro=f"Memory test config: {mem.get('config', '')}; `flightwall check --config` bound: "
                      f"{fmt(mem.get('config_bound_MiB'))} MiB.")

    section("Targets (issues 8 and 10)", ["target", "goal", ">measured", "met"],
            [[t["target"], t["goal"], fmt(t["measured"], 2),
              "-" if t["met"] is None else ("yes" if t["met"] else "**no**")]
             for t in r.get("targets", [])])
    notes = r.get("notes", {})
    if notes:
        w("## Notes\n")
        for k in sorted(notes):
            w(f"- {notes[k]}")
        w("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
