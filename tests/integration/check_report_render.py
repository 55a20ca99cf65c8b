#!/usr/bin/env python3
"""Checks of an HTML audit report as headless Chromium rendered it (used by
report_html_chromium_test.sh). Standard library only.

  dom DOM.html REPORT.json     the DOM Chromium dumped shows the JSON report's
                               verdict, its destinations and its violations
  netlog NETLOG.json           the page itself asked the network for nothing
  png SHOT.png W H VERDICT     a W x H PNG with the verdict box painted
  static REPORT.html           the file names no external resource

Each prints what it found and exits 1 when a check fails.
"""
import json
import re
import struct
import sys
import zlib
from html.parser import HTMLParser

# The verdict box's background in report_html.cpp's CSS, per verdict.
VERDICT_BACKGROUND = {
    "clean": (0xE3, 0xF5, 0xE6),
    "attempts": (0xFF, 0xF6, 0xDB),
    "leak": (0xFD, 0xE4, 0xE4),
    "inconclusive": (0xEC, 0xEC, 0xF4),
}
VERDICT_HEADLINE = {
    "clean": "PASS:",
    "attempts": "PASS with attempts:",
    "leak": "FAIL:",
    "inconclusive": "INCONCLUSIVE:",
}
SECTIONS = ["Method", "Evidence inputs", "Bytes sent over time by destination category",
            "Destinations", "Violations", "Engine counters"]


class Dom(HTMLParser):
    """Collects the verdict box's text, the h2 headings, the rows of the
    tables under each heading and the chart's bars."""

    def __init__(self):
        super().__init__()
        self.in_svg = 0
        self.verdict_class = None
        self.verdict_text = ""
        self.in_verdict = 0
        self.headings = []
        self.in_h2 = False
        self.rows = {}  # heading -> list of (tr class, number of td cells)
        self.svg_bars = 0
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "script":
            self.scripts += 1
        if tag == "div" and "verdict" in classes and self.verdict_class is None:
            self.verdict_class = [c for c in classes if c != "verdict"]
            self.in_verdict = 1
        elif self.in_verdict and tag == "div":
            self.in_verdict += 1
        if tag == "h2":
            self.in_h2 = True
            self.headings.append("")
        if tag == "tr" and self.headings:
            self.rows.setdefault(self.headings[-1], []).append([" ".join(classes), 0])
        if tag == "td" and self.headings and self.rows.get(self.headings[-1]):
            self.rows[self.headings[-1]][-1][1] += 1
        if tag == "svg":
            self.in_svg += 1
        if tag == "title" and self.in_svg:  # each bar has one, the legend none
            self.svg_bars += 1
        if tag == "br" and self.in_verdict:
            self.verdict_text += " "

    def handle_endtag(self, tag):
        if tag == "h2":
            self.in_h2 = False
        if tag == "div" and self.in_verdict:
            self.in_verdict -= 1
        if tag == "svg" and self.in_svg:
            self.in_svg -= 1

    def handle_data(self, data):
        if self.in_verdict:
            self.verdict_text += data
        if self.in_h2:
            self.headings[-1] += data


def check_dom(dom_path, json_path):
    report = json.load(open(json_path))
    verdict = report["verdict"]
    d = Dom()
    d.feed(open(dom_path, encoding="utf-8").read())
    ok = True

    def expect(cond, what):
        nonlocal ok
        print(("  ok: " if cond else "  WRONG: ") + what)
        ok = ok and cond

    text = " ".join(d.verdict_text.split())
    expect(d.verdict_class == [verdict],
           f"verdict box has class {d.verdict_class} (JSON verdict {verdict!r})")
    expect(text.startswith(VERDICT_HEADLINE[verdict]),
           f"verdict box reads {text[:90]!r}")
    s = report["summary"]
    counts = re.findall(r"(\d+) (?:flight-app flow|DNS question|attempt|leak)\(s\)", text)
    want = [str(s.get(k, "?")) for k in ("flight_app_flows", "dns_questions", "attempts", "leaks")]
    expect(counts == want, f"verdict box counts {counts} match the JSON summary {want}")
    expect(all(h in d.headings for h in SECTIONS), f"sections {d.headings}")
    dest_rows = [r for r in d.rows.get("Destinations", []) if r[1] > 0]
    expect(len(dest_rows) == len(report["destinations"]),
           f"{len(dest_rows)} destination rows for {len(report['destinations'])} in the JSON")
    # Violations: one row per (host, reason) group, its attempts folded in
    # a <details> beneath it (a "detail" row holding their own rows).
    rows = [r for r in d.rows.get("Violations", []) if r[1] > 0]
    groups = [r for r in rows if "group" in r[0].split()]
    viol = [r for r in rows if not {"group", "detail"} & set(r[0].split())]
    want_groups = {((a["hostname"] or a["dst"]), a["reason"]) for a in report["attempts"]}
    expect(len(groups) == len(want_groups),
           f"{len(groups)} violation groups for {len(want_groups)} (host, reason) pairs")
    leaky_groups = {((a["hostname"] or a["dst"]), a["reason"])
                    for a in report["attempts"] if a.get("leaked")}
    expect(sum(1 for r in groups if "leak" in r[0].split()) == len(leaky_groups),
           f"{len(leaky_groups)} groups marked leak")
    listed_leaks = sum(1 for a in report["attempts"] if a.get("leaked"))
    expect(len(viol) == len(report["attempts"]),
           f"{len(viol)} violation rows for {len(report['attempts'])} listed attempts")
    expect(sum(1 for r in viol if r[0] == "leak") == listed_leaks,
           f"{sum(1 for r in viol if r[0] == 'leak')} violation rows marked leak "
           f"for {listed_leaks} leaked attempts")
    expect(d.svg_bars > 0 or s["flight_app_flows"] == 0,
           f"the chart has {d.svg_bars} bar segment(s)")
    expect(d.scripts == 0, f"{d.scripts} script element(s) (the report has none)")
    return ok


def check_netlog(path):
    raw = open(path, encoding="utf-8").read()
    try:
        log = json.loads(raw)
    except json.JSONDecodeError:  # Chromium may stop before closing the list
        log = json.loads(raw.rstrip().rstrip(",") + "]}")
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    page, browser = [], []
    for e in log.get("events", []):
        p = e.get("params") or {}
        if types.get(e["type"]) != "URL_REQUEST_START_JOB":
            continue
        # Requests made for the page carry its origin (a file:// page's is
        # "null") and its isolation key; the browser's own background fetches
        # (component updates, dictionaries) carry neither.
        from_page = (p.get("initiator", "not an origin") != "not an origin"
                     or "file://" in p.get("network_isolation_key", ""))
        (page if from_page else browser).append(p.get("url", "?"))
    print(f"  {len(page)} request(s) made for the page {page[:5]}; "
          f"{len(browser)} by the browser itself (not the report's)")
    return not page


def png_rows(path):
    """(width, height, bytes per pixel, decoded rows) of an 8-bit RGB(A) PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, colour, _, _, interlace = ihdr
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unexpected PNG format {ihdr}")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    # Bytewise addition mod 256 of whole rows at once (for the Up filter).
    low = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    rows, prev, i = [], bytes(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 2:
            x, y = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
            line = bytearray((((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(stride, "big"))
        elif f != 0:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                if f == 1:
                    line[x] = (line[x] + a) & 255
                elif f == 3:
                    line[x] = (line[x] + (a + b) // 2) & 255
                elif f == 4:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_png(path, want_w, want_h, verdict):
    w, h, bpp, rows = png_rows(path)
    ok = (w, h) == (want_w, want_h)
    print(f"  {'ok' if ok else 'WRONG'}: {w}x{h} PNG (wanted {want_w}x{want_h})")
    colour = bytes(VERDICT_BACKGROUND[verdict])
    top = rows[:500]
    box = sum(1 for r in top for x in range(0, w * bpp, bpp) if r[x:x + 3] == colour)
    # The box spans the page column with ~1.2 rem of padding around two lines.
    painted = box > 20000
    print(f"  {'ok' if painted else 'WRONG'}: {box} pixels of the {verdict} "
          f"verdict colour #{colour.hex()} in the top {len(top)} rows")
    # Nothing may stick out of the page column (body max-width 70rem = 1120
    # CSS px, centred): a table wider than the page is cut off when printed.
    right = (w + 1120) // 2 + 2
    white = b"\xff" * ((w - right) * bpp)
    spill = [y for y, r in enumerate(rows) if r[right * bpp:] != white]
    inside = not spill
    print(f"  {'ok' if inside else 'WRONG'}: {len(spill)} row(s) paint right of x={right}, "
          f"outside the page column" + (f" (first at y={spill[0]})" if spill else ""))
    return ok and painted and inside


def check_static(path):
    html = open(path, encoding="utf-8").read()
    # Anything a browser would fetch: src/href/srcset/action/poster/data
    # attributes, CSS url() and @import. The SVG's xmlns is a name, not a fetch.
    refs = re.findall(r"""(?:\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?|url\(|@import)""",
                      html, re.I)
    schemes = re.findall(r"\b(?:https?|ftp|wss?)://[^\s\"'<>]*", html, re.I)
    external = [u for u in schemes if u != "http://www.w3.org/2000/svg"]
    print(f"  {len(refs)} resource reference(s), external URLs {external[:5]}")
    return not refs and not external


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "dom" and len(argv) == 4:
        return 0 if check_dom(argv[2], argv[3]) else 1
    if cmd == "netlog" and len(argv) == 3:
        return 0 if check_netlog(argv[2]) else 1
    if cmd == "png" and len(argv) == 6:
        return 0 if check_png(argv[2], int(argv[3]), int(argv[4]), argv[5]) else 1
    if cmd == "static" and len(argv) == 3:
        return 0 if check_static(argv[2]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
