// The HTML report reads like an FTI-style data-flow review: the verdict
// first, then the method, the evidence inputs and their hashes, the
// destinations, the violations, and a chart of bytes over time. One file,
// no scripts, no network.
#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "common/time_format.h"
#include "sink/report_writers.h"
#include "sink/xml_escape.h"

namespace flightwall {
namespace {

constexpr const char* kCss = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;color:#1d2330;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.88rem}th,td{border:1px solid #d5d9e2;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#eef1f6}td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.85em}td code{overflow-wrap:anywhere}
.verdict{padding:1rem 1.2rem;border-radius:.4rem;font-size:1.15rem;margin:1rem 0}
.clean{background:#e3f5e6;border:1px solid #6dbb7a}.inconclusive{background:#ececf4;border:1px solid #7a7fa8}.attempts{background:#fff6db;border:1px solid #e0b43c}.leak{background:#fde4e4;border:1px solid #d9534f}
tr.leak td{background:#fdecec}.muted{color:#66708a}.tag{display:inline-block;padding:0 .35rem;border-radius:.25rem;background:#eef1f6;margin:0 .15rem .1rem 0}
)";

const char* Colour(std::size_t i) {
  static constexpr const char* kPalette[] = {"#4e79a7", "#e15759", "#f28e2b", "#76b7b2", "#59a14f",
                                             "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string Bytes(std::uint64_t b) {
  char buf[32];
  if (b >= 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", b / 1048576.0);
  } else if (b >= 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", b / 1024.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(b));
  }
  return buf;
}

// Stacked bars of bytes sent per category over the capture's time span.
std::string Chart(const AuditReport& r) {
  const auto& series = r.Series();
  if (series.empty()) return "<p class=\"muted\">No payload bytes were sent by flight apps.</p>";
  Timestamp t0 = series.front().time, t1 = series.front().time;
  std::vector<std::string> categories;
  for (const auto& p : series) {
    t0 = std::min(t0, p.time);
    t1 = std::max(t1, p.time);
    if (std::find(categories.begin(), categories.end(), p.category) == categories.end()) {
      categories.push_back(p.category);
    }
  }
  std::sort(categories.begin(), categories.end());
  constexpr int kBins = 40;
  const double span = std::max<double>(1.0, static_cast<double>(t1 - t0));
  std::vector<std::map<std::string, std::uint64_t>> bins(kBins);
  std::uint64_t peak = 1;
  for (const auto& p : series) {
    int b = static_cast<int>((p.time - t0) / span * (kBins - 1));
    bins[std::clamp(b, 0, kBins - 1)][p.category] += p.bytes;
  }
  for (const auto& bin : bins) {
    std::uint64_t sum = 0;
    for (const auto& [c, v] : bin) sum += v;
    peak = std::max(peak, sum);
  }
  constexpr int kW = 800, kH = 220, kLeft = 70, kBottom = 30;
  const double bar_w = static_cast<double>(kW - kLeft - 10) / kBins;
  std::ostringstream svg;
  // Scaled to the page's width (viewBox), so the bars are readable on a
  // wide screen and still fit a narrow one.
  const std::size_t height = kH + 20 * ((categories.size() + 3) / 4) + 10;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100%\" viewBox=\"0 0 " << kW << " "
      << height << "\" role=\"img\" "
      << "aria-label=\"bytes sent over time by destination category\">";
  svg << "<line x1=\"" << kLeft << "\" y1=\"" << kH - kBottom << "\" x2=\"" << kW - 10 << "\" y2=\""
      << kH - kBottom << "\" stroke=\"#888\"/>";
  svg << "<text x=\"4\" y=\"14\" font-size=\"11\">" << XmlEscape(Bytes(peak)) << "</text>";
  svg << "<text x=\"4\" y=\"" << kH - kBottom << "\" font-size=\"11\">0</text>";
  for (int i = 0; i < kBins; ++i) {
    double y = kH - kBottom;
    for (std::size_t c = 0; c < categories.size(); ++c) {
      auto it = bins[i].find(categories[c]);
      if (it == bins[i].end()) continue;
      const double h = static_cast<double>(it->second) / peak * (kH - kBottom - 20);
      y -= h;
      svg << "<rect x=\"" << kLeft + i * bar_w << "\" y=\"" << y << "\" width=\"" << bar_w - 1
          << "\" height=\"" << std::max(h, 0.5) << "\" fill=\"" << Colour(c) << "\"><title>"
          << XmlEscape(categories[c] + ": " + Bytes(it->second)) << "</title></rect>";
    }
  }
  // A time axis: ticks at fifths of the span, in seconds after the start
  // (printed under the axis), the start's wall-clock time in the title.
  constexpr int kTicks = 5;
  for (int t = 0; t <= kTicks; ++t) {
    const double x = kLeft + (kW - kLeft - 10) * static_cast<double>(t) / kTicks;
    char label[32];
    std::snprintf(label, sizeof(label), "+%.3g s", span / kMicrosPerSecond * t / kTicks);
    svg << "<line x1=\"" << x << "\" y1=\"" << kH - kBottom << "\" x2=\"" << x << "\" y2=\""
        << kH - kBottom + 4 << "\" stroke=\"#888\"/><text x=\"" << x << "\" y=\"" << kH - 12
        << "\" font-size=\"11\" text-anchor=\""
        << (t == 0        ? "start"
            : t == kTicks ? "end"
                          : "middle")
        << "\">" << label << "</text>";
  }
  svg << "<text x=\"" << kW - 10 << "\" y=\"14\" font-size=\"11\" text-anchor=\"end\">from "
      << XmlEscape(FormatTime(t0)) << "</text>";
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const int x = kLeft + static_cast<int>(c % 4) * 180;
    const int y = kH + 5 + static_cast<int>(c / 4) * 20;
    svg << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"12\" height=\"12\" fill=\""
        << Colour(c) << "\"/><text x=\"" << x + 16 << "\" y=\"" << y + 11 << "\" font-size=\"12\">"
        << XmlEscape(categories[c]) << "</text>";
  }
  svg << "</svg>";
  return svg.str();
}

// Violations grouped by host and reason (first packet order), each group
// with its counts and packet range; its attempts folded beneath it.
void WriteViolations(const AuditReport& r, std::ostream& out) {
  struct Group {
    const Finding* first = nullptr;
    std::vector<const Finding*> items;
    std::uint64_t leaks = 0;
    std::uint64_t bytes = 0;
    std::uint64_t last_packet = 0;
  };
  std::vector<Group> groups;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  for (const Finding& f : r.Attempts()) {
    const std::string host = f.hostname.empty() ? f.dst : f.hostname;
    auto [it, fresh] = index.emplace(std::make_pair(host, f.reason), groups.size());
    if (fresh) groups.push_back({&f, {}, 0, 0, 0});
    Group& g = groups[it->second];
    g.items.push_back(&f);
    g.leaks += f.leaked ? 1 : 0;
    g.bytes += f.bytes_out;
    g.last_packet = std::max(g.last_packet, f.first_packet);
    if (f.first_packet < g.first->first_packet) g.first = &f;
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return a.first->first_packet < b.first->first_packet;
  });
  out << "<p>" << r.Attempts().size() << " listed attempt(s) in " << groups.size()
      << " group(s) of destination and reason; open a group for its attempts.</p>\n"
      << "<table><tr><th>Host</th><th>Category</th><th>Reason</th><th>Attempts</th>"
      << "<th>Leaked</th><th>Bytes out</th><th>Packets</th></tr>\n";
  for (const Group& g : groups) {
    const Finding& f = *g.first;
    out << "<tr class=\"group" << (g.leaks ? " leak" : "") << "\"><td>"
        << XmlEscape(f.hostname.empty() ? f.dst : f.hostname) << "</td><td>"
        << XmlEscape(f.category) << "</td><td>" << XmlEscape(f.reason) << "</td><td class=\"num\">"
        << g.items.size() << "</td><td class=\"num\">" << g.leaks << "</td><td class=\"num\">"
        << g.bytes << "</td><td class=\"num\">" << f.first_packet
        << (g.last_packet != f.first_packet ? "&ndash;" + std::to_string(g.last_packet) : "")
        << "</td></tr>\n<tr class=\"detail\"><td colspan=\"7\"><details><summary>" << g.items.size()
        << " attempt(s)</summary><table><tr><th>Packet</th><th>Time</th>"
        << "<th>Kind</th><th>Destination</th><th>Host</th><th>Bytes out</th>"
        << "<th>Data left?</th></tr>\n";
    for (const Finding* a : g.items) {
      out << "<tr" << (a->leaked ? " class=\"leak\"" : "") << "><td class=\"num\">"
          << a->first_packet << "</td><td>" << FormatTime(a->first_time) << "</td><td>"
          << XmlEscape(a->protocol) << "</td><td>" << XmlEscape(a->dst) << ":" << a->dport
          << "</td><td>" << XmlEscape(a->hostname) << " <span class=\"muted\">("
          << XmlEscape(a->name_source) << ")</span></td><td class=\"num\">" << a->bytes_out
          << "</td><td>"
          << (a->leaked ? "yes, packet " + std::to_string(a->evidence_packet) : std::string("no"))
          << "</td></tr>\n";
    }
    out << "</table></details></td></tr>\n";
  }
  out << "</table>\n";
}

void WriteBaselineHtml(const BaselineDiff& b, std::ostream& out) {
  out << "<h2>Changes since the baseline</h2>\n<p class=\"muted\">" << XmlEscape(b.path)
      << " (its verdict: " << XmlEscape(b.verdict) << "; SHA-256 <code>" << XmlEscape(b.sha256)
      << "</code>)</p>\n";
  if (b.added.empty() && b.removed.empty() && b.more_bytes.empty()) {
    out << "<p>No destination is new or gone, and none gets more bytes.</p>\n";
    return;
  }
  out << "<table><tr><th>Change</th><th>Host</th><th>Category</th><th>Bytes out before</th>"
      << "<th>Bytes out now</th><th>Attempts</th><th>Leaks</th></tr>\n";
  const auto row = [&out](const char* change, const DestinationChange& c, bool before, bool now) {
    out << "<tr" << (c.leaks_after ? " class=\"leak\"" : "") << "><td>" << change << "</td><td>"
        << XmlEscape(c.host) << "</td><td>" << XmlEscape(c.category) << "</td><td class=\"num\">"
        << (before ? std::to_string(c.bytes_before) : "") << "</td><td class=\"num\">"
        << (now ? std::to_string(c.bytes_after) : "") << "</td><td class=\"num\">"
        << (now ? std::to_string(c.attempts_after) : "") << "</td><td class=\"num\">"
        << (now ? std::to_string(c.leaks_after) : "") << "</td></tr>\n";
  };
  for (const DestinationChange& c : b.added) row("new", c, false, true);
  for (const DestinationChange& c : b.more_bytes) row("more bytes", c, true, true);
  for (const DestinationChange& c : b.removed) row("gone", c, true, false);
  out << "</table>\n";
}

}  // namespace

const char* ReportCss() { return kCss; }

std::string HumanBytes(std::uint64_t bytes) { return Bytes(bytes); }

void WriteReportHtml(const AuditReport& r, std::ostream& out) {
  const std::string verdict = r.Verdict();
  const Policy& p = r.PolicyUsed();
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<title>flightwall verification report: " << XmlEscape(p.name) << "</title><style>" << kCss
      << "</style></head><body>\n";
  out << "<h1>Local data mode verification report</h1>\n<p class=\"muted\">flightwall "
      << FLIGHTWALL_VERSION << " &middot; policy <b>" << XmlEscape(p.name) << "</b> ("
      << PolicyModeName(p.mode) << ")</p>\n";
  out << "<div class=\"verdict " << verdict << "\"><b>";
  if (verdict == "leak") {
    out << "FAIL: " << r.LeakCount() << " transfer(s) left the device for destinations the "
        << "policy does not allow.";
  } else if (verdict == "inconclusive") {
    out << "INCONCLUSIVE: the evidence is incomplete, so a clean result cannot be claimed ("
        << r.EvidenceProblems().size() << " problem(s) listed below).";
  } else if (verdict == "attempts") {
    out << "PASS with attempts: " << r.AttemptCount() << " denied attempt(s), none of "
        << "which delivered data.";
  } else {
    out << "PASS: flight-app traffic reached only allowed map-tile hosts.";
  }
  out << "</b><br>" << r.GovernedFlows() << " flight-app flow(s), " << r.DnsQuestions()
      << " DNS question(s), " << r.AttemptCount() << " attempt(s), " << r.LeakCount()
      << " leak(s).</div>\n";
  if (r.Inconclusive()) {
    out << "<div class=\"verdict inconclusive\"><b>Incomplete evidence</b>";
    if (verdict == "leak") out << " (the leaks above are proven regardless)";
    out << "<ul>";
    for (const auto& [kind, count] : r.EvidenceProblemCounts()) {
      out << "<li><b>" << XmlEscape(kind) << "</b>: " << count << " occurrence(s)<ul>";
      for (const EvidenceProblem& e : r.EvidenceProblems()) {
        if (e.kind != kind) continue;
        out << "<li>" << XmlEscape(e.where) << ": " << XmlEscape(e.detail) << "</li>";
      }
      out << "</ul></li>";
    }
    out << "</ul></div>\n";
  }

  out << "<h2>Method</h2>\n<p>Every packet of the inputs below was decoded (link layer, IPv4/IPv6 "
      << "with fragment reassembly, TCP, UDP, ICMP) and grouped into flows. Host names were "
      << "attributed from DNS answers, TLS ClientHello SNI, HTTP Host headers and decrypted QUIC "
      << "Initial packets. Each flight-app flow and DNS question was judged by the policy's "
      << "decision function, the same one the flightwall daemon enforces. An <i>attempt</i> is "
      << "flight-app traffic the policy denies; a <i>leak</i> is an attempt whose data left: TCP "
      << "payload acknowledged by the peer, UDP or ICMP payload answered, a DNS question "
      << "answered. Vantage: <b>" << XmlEscape(r.VantageName()) << "</b>.</p>\n";
  if (!r.Notes().empty()) {
    out << "<ul>";
    for (const auto& n : r.Notes()) out << "<li>" << XmlEscape(n) << "</li>";
    out << "</ul>\n";
  }
  out << "<h2>Evidence inputs</h2>\n<table><tr><th>File</th><th>SHA-256</th><th>Link type</th>"
      << "<th>Packets</th><th>First packet</th><th>Last packet</th></tr>\n";
  for (const auto& in : r.Inputs()) {
    out << "<tr><td>" << XmlEscape(in.path) << "</td><td><code>" << in.sha256 << "</code></td><td>"
        << XmlEscape(in.link_type) << "</td><td class=\"num\">" << in.packets << "</td><td>"
        << (in.packets ? FormatTime(in.first_time) : "") << "</td><td>"
        << (in.packets ? FormatTime(in.last_time) : "") << "</td></tr>\n";
    for (const auto& w : in.warnings) {
      out << "<tr><td colspan=\"6\" class=\"muted\">warning: " << XmlEscape(w) << "</td></tr>\n";
    }
  }
  out << "</table>\n";
  if (const CaptureStats* c = r.Capture()) {
    out << "<p>Live capture on <b>" << XmlEscape(c->interface) << "</b>, filter <code>"
        << XmlEscape(c->filter.empty() ? "(none)" : c->filter) << "</code>: " << c->received
        << " packet(s) received, " << c->dropped_kernel << " dropped by the kernel, "
        << c->dropped_interface << " dropped by the interface.";
    for (const auto& f : c->files) out << " Written to <code>" << XmlEscape(f) << "</code>.";
    out << "</p>\n";
  }
  out << "<p>Policy file <code>" << XmlEscape(p.path) << "</code>, SHA-256 <code>" << p.sha256
      << "</code>.</p>\n";

  out << "<h2>Bytes sent over time by destination category</h2>\n" << Chart(r) << "\n";

  out << "<h2>Destinations</h2>\n<table><tr><th>Host</th><th>Learned from</th><th>Addresses</th>"
      << "<th>Endpoints</th><th>Category</th><th>Verdict</th><th>Flows</th><th>Bytes out</th>"
      << "<th>Bytes in</th><th>Leaks</th></tr>\n";
  for (const Destination* d : r.Destinations()) {
    out << "<tr" << (d->leaks ? " class=\"leak\"" : "") << "><td>" << XmlEscape(d->host)
        << "</td><td>" << XmlEscape(d->name_source) << "</td><td>";
    for (const auto& a : d->addresses) out << "<span class=\"tag\">" << XmlEscape(a) << "</span>";
    out << "</td><td>";
    for (const auto& e : d->endpoints) out << "<span class=\"tag\">" << XmlEscape(e) << "</span>";
    out << "</td><td>" << XmlEscape(d->category)
        << (d->vendor.empty() ? "" : " (" + XmlEscape(d->vendor) + ")") << "</td><td>"
        << XmlEscape(d->verdict) << "</td><td class=\"num\">" << d->flows
        << "</td><td class=\"num\">" << d->bytes_out << "</td><td class=\"num\">" << d->bytes_in
        << "</td><td class=\"num\">" << d->leaks << "</td></tr>\n";
  }
  out << "</table>\n";
  if (const BaselineDiff* b = r.BaselineChanges()) WriteBaselineHtml(*b, out);

  out << "<h2>Violations</h2>\n";
  if (r.AttemptCount() == 0) {
    out << "<p>None.</p>\n";
  } else {
    WriteViolations(r, out);
    if (r.UnlistedAttempts() > 0) {
      out << "<p class=\"muted\">" << r.UnlistedAttempts()
          << " more attempt(s) are counted above but not listed one by one (the first "
          << AuditReport::kListedAttempts << " attempts and " << AuditReport::kListedLeaks
          << " leaks are); every destination's totals include them.</p>\n";
    }
  }
  out << "<h2>Engine counters</h2>\n<table>";
  for (const auto& [k, v] : r.Counters()) {
    out << "<tr><td>" << XmlEscape(k) << "</td><td class=\"num\">" << v << "</td></tr>";
  }
  out << "</table>\n</body></html>\n";
}

void WriteReportSummary(const AuditReport& r, std::ostream& out) {
  out << "flightwall audit: " << r.Verdict() << " (policy " << r.PolicyUsed().name << ")\n";
  std::uint64_t packets = 0;
  for (const auto& in : r.Inputs()) packets += in.packets;
  if (const CaptureStats* c = r.Capture()) {
    out << "  input: live capture on " << c->interface << ", " << packets << " packets\n";
  } else {
    out << "  inputs: " << r.Inputs().size() << " file(s), " << packets << " packets\n";
  }
  for (const auto& in : r.Inputs()) {
    for (const auto& w : in.warnings) out << "  warning: " << w << "\n";
  }
  if (const CaptureStats* c = r.Capture()) {
    out << "  capture: " << c->interface << ", " << c->received << " received, "
        << c->dropped_kernel << " dropped by the kernel, " << c->dropped_interface
        << " by the interface\n";
  }
  for (const EvidenceProblem& e : r.EvidenceProblems()) {
    out << "  evidence problem: " << e.kind << ": " << e.where << ": " << e.detail << "\n";
  }
  for (const auto& [kind, count] : r.EvidenceProblemCounts()) {
    if (count > AuditReport::kListedProblemsPerKind) {
      out << "  evidence problem: " << kind << ": " << count - AuditReport::kListedProblemsPerKind
          << " more not listed\n";
    }
  }
  out << "  flight-app flows: " << r.GovernedFlows() << ", DNS questions: " << r.DnsQuestions()
      << ", attempts: " << r.AttemptCount() << ", leaks: " << r.LeakCount() << "\n";
  for (const Finding& f : r.Attempts()) {
    out << "  " << (f.leaked ? "LEAK    " : "attempt ") << f.protocol << " " << f.dst << ":"
        << f.dport << " " << (f.hostname.empty() ? "-" : f.hostname) << " [" << f.category << "] "
        << f.reason << " (" << f.bytes_out << " bytes, packet " << f.first_packet << ")\n";
  }
}

}  // namespace flightwall
