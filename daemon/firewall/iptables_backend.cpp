// Why the mangle table: an ACCEPT ends only the table it is in. Our
// "allowed: pass in the kernel" ACCEPT (and the daemon's NF_ACCEPT verdicts)
// must not skip the operator's own filter rules, and in mangle they do not:
// the filter table still runs after us. Denied connections are dropped here,
// which is final in any table. mangle OUTPUT also runs before nat OUTPUT, so
// in output mode we see the destination the app asked for, not a DNAT one.
//
// Output mode: the owner and cgroup matches are only valid on the output
// path (the kernel refuses them in a chain reachable from INPUT), so INPUT
// jumps straight to ${P}_APP for replies of governed connections. Looped-back
// packets (-i lo) are skipped in INPUT: they were already inspected once in
// OUTPUT, where their socket's uid is known; queueing them twice would make
// the engine see every loopback packet twice. Other processes' loopback
// traffic is queued only when it belongs to a governed connection (a local
// stub resolver answering a flight app), never otherwise.
//
// Bridge mode is forward mode for bridged packets: br_netfilter runs them
// through the IPv4/IPv6 FORWARD hooks (conntrack included), where -i names
// the bridge and the tablet's port is only visible to -m physdev.
//
// Which app: NFQUEUE reports a socket's uid but neither its cgroup nor the
// selector that matched, and nothing at all for replies. So each selector
// rule writes its app into the connmark (AppMark, rule_backend.h) and ${P}_APP
// copies it into the packet mark before queueing; the daemon reads it there.
#include "firewall/iptables_backend.h"

#include <cstdio>
#include <sstream>
#include <utility>

namespace flightwall {
namespace {

std::string Hex(std::uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%x", value);
  return buffer;
}

std::string MarkMatch(const char* module, std::uint32_t value, std::uint32_t mask) {
  return std::string("-m ") + module + " --mark " + Hex(value) + "/" + Hex(mask);
}

std::string QueueTarget(const InterceptSettings& s) {
  std::string target = "-j NFQUEUE ";
  if (s.queue_last > s.queue_first) {
    target +=
        "--queue-balance " + std::to_string(s.queue_first) + ":" + std::to_string(s.queue_last);
  } else {
    target += "--queue-num " + std::to_string(s.queue_first);
  }
  if (s.fail_open) target += " --queue-bypass";
  return target;
}

// multiport takes at most 15 ports per rule.
std::vector<std::string> PortLists(const std::vector<std::uint16_t>& ports) {
  std::vector<std::string> lists;
  for (std::size_t i = 0; i < ports.size(); i += 15) {
    std::string list;
    for (std::size_t j = i; j < ports.size() && j < i + 15; ++j) {
      if (!list.empty()) list += ",";
      list += std::to_string(ports[j]);
    }
    lists.push_back(list);
  }
  return lists;
}

const char* SaveTool(bool v6) { return v6 ? "ip6tables-save" : "iptables-save"; }
const char* RestoreTool(bool v6) { return v6 ? "ip6tables-restore" : "iptables-restore"; }
const char* ListTool(bool v6) { return v6 ? "ip6tables" : "iptables"; }

// iptables-restore names the failing line ("line 7: ..."); quote it so the
// operator sees the rule, not just a number.
std::string QuoteFailingLine(const std::string& message, const std::string& script) {
  const auto at = message.find("line ");
  if (at == std::string::npos) return message;
  int line = 0;
  for (std::size_t i = at + 5; i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i) {
    line = line * 10 + (message[i] - '0');
  }
  std::istringstream lines(script);
  std::string text;
  for (int i = 0; i < line && std::getline(lines, text); ++i) {
  }
  if (line <= 0 || text.empty()) return message;
  return message + " [line " + std::to_string(line) + ": " + text + "]";
}

// The fast path, first in ${P}: a packet of a connection the daemon already
// decided, that is not itself a re-injected verdict (no verdict bits in its
// packet mark; those must reach the save-mark rules in ${P}_APP), is passed
// or dropped here, without the selectors, the bookkeeping marks and the
// queue rules after them. Each rule gives the verdict the long path would:
// ${P}_APP drops a denied connection before anything else, queues DNS even
// on an allowed connection (hence the DNS ports left out here), and passes
// an allowed connection, or plain HTTP's server data between requests (and
// the client's pure ACKs: the daemon passes them whole either way). On a
// router that is 2 rules instead of about 17 for each packet of a download
// (with wire-sized packets the kernel forwarded 0.75 of no-firewall with the
// long path, 0.88 with conntrack alone; bench/README.md).
// Plain HTTP's server data: reply-direction packets long enough to carry
// payload whatever their headers (see kReplyBypassMinLength).
std::string ServerDataMatch() {
  return "-m conntrack --ctdir REPLY -m length --length " + std::to_string(kReplyBypassMinLength) +
         ":65535";
}

// Plain HTTP's client pure ACKs: what the client sends while it downloads,
// one for every other segment of the server's data. They cannot carry the
// app's data, so they pass too; a segment with one byte of payload must not.
// u32 cannot compare the IP length with the headers' lengths, so the rule
// says "no payload" in two steps: the first 4 bytes after the TCP header are
// not there (the read from IP header length + TCP data offset fails), and the
// IP length is a multiple of 4 (both headers are, so 1-3 bytes of payload
// would make it not). Not a fragment (conntrack reassembled them before this
// hook anyway), no IPv6 extension header, flags exactly ACK (ECN bits aside):
// a FIN, RST, PSH or URG still goes to the daemon. What passes while a new
// request is held unjudged is its length, in the ACKs' sequence numbers, not
// its bytes; the held request itself still waits for the daemon.
// The u32 tests are written as iptables -S prints them back (hex), so the
// listing matches the plan.
std::string ClientPureAckMatch(bool v6) {
  std::string match =
      "-m conntrack --ctdir ORIGINAL -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG ACK ";
  if (v6) {
    match +=
        "-m u32 --u32 \"0x4>>0x8&0xff=0x6&&0x4>>0x10&0x3=0x0\" "
        "-m u32 ! --u32 \"0x34>>0x1a&0x3c@0x28=0x0:0xffffffff\"";
  } else {
    match +=
        "-m u32 --u32 \"0x0&0x3=0x0&&0x4&0x3fff=0x0\" "
        "-m u32 ! --u32 \"0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x0:0xffffffff\"";
  }
  return match;
}

template <typename Add>
void AddDecidedFastPath(const RulePlan& plan, const std::string& select, bool v6, const Add& add) {
  const std::string fresh = MarkMatch("mark", 0, kConnmarkVerdictMask) + " ";
  const auto decided = [](std::uint32_t verdict) {
    return MarkMatch("connmark", kConnmarkGoverned | verdict,
                     kConnmarkGoverned | kConnmarkVerdictMask) +
           " ";
  };
  add(select, fresh + decided(kConnmarkDenied) + "-j DROP");
  if (plan.settings.every_packet) return;
  std::string not_dns;
  for (const std::string& ports : PortLists(plan.dns_ports)) {
    not_dns += "-m multiport ! --ports " + ports + " ";
  }
  add(select, "-p tcp " + not_dns + fresh + decided(kConnmarkAllowed) + "-j ACCEPT");
  const std::string requests = "-p tcp " + not_dns + fresh + decided(kConnmarkRequests);
  add(select, requests + ServerDataMatch() + " -j ACCEPT");
  add(select, requests + ClientPureAckMatch(v6) + " -j ACCEPT");
  add(select, "-p udp " + not_dns + fresh + decided(kConnmarkAllowed) + "-j ACCEPT");
}

}  // namespace

IptablesRuleSet BuildIptablesRules(const RulePlan& plan, const std::string& prefix, bool v6) {
  const InterceptSettings& s = plan.settings;
  const std::string& select = prefix;
  const std::string app = prefix + "_APP";
  const std::string to_app = " -j " + app;
  IptablesRuleSet set;
  set.chains = {":" + select + " - [0:0]", ":" + app + " - [0:0]"};
  const bool output = s.mode == InterceptMode::kOutput;
  const bool bridge = s.mode == InterceptMode::kBridge;

  auto add = [&](const std::string& chain, const std::string& rest) {
    set.rules.push_back("-A " + chain + " " + rest);
  };
  if (output)
    add(select, MarkMatch("mark", kPacketMarkInjected, kPacketMarkInjected) + " -j RETURN");
  AddDecidedFastPath(plan, select, v6, add);
  // Each selector names its app on the connection, then hands the packet on.
  auto select_app = [&](const std::string& match, int index) {
    add(select,
        match + " -j CONNMARK --set-xmark " + Hex(AppMark(index)) + "/" + Hex(kMarkAppMask));
    add(select, match + to_app);
  };
  for (const RuleSelector& sel : plan.selectors) {
    switch (sel.kind) {
      case RuleSelector::Kind::kInInterface:
        // A bridged packet's -i is the bridge itself; br_netfilter keeps the
        // port it came in on for the physdev match.
        if (bridge) select_app("-m physdev --physdev-in " + sel.value, sel.app);
        if (!output && !bridge) select_app("-i " + sel.value, sel.app);
        break;
      case RuleSelector::Kind::kSource:
        if (!output && sel.v6 == v6) select_app("-s " + sel.value, sel.app);
        break;
      case RuleSelector::Kind::kUid:
        if (output) select_app("-m owner --uid-owner " + sel.value, sel.app);
        break;
      case RuleSelector::Kind::kCgroup:
        if (output) select_app("-m cgroup --path \"" + sel.value + "\"", sel.app);
        break;
    }
  }
  // Replies (and ICMP errors) of governed connections match no selector:
  // the connmark set below carries the selection over to them.
  const std::string governed = MarkMatch("connmark", kConnmarkGoverned, kConnmarkGoverned);
  add(select, governed + to_app);

  // A verdict given by repeat-mark (NF_REPEAT with the verdict in the packet
  // mark, see source/nfqueue_source.h; this kernel cannot set connmarks from
  // a verdict) re-runs the hook: keep the verdict on the connection and act
  // on it, before anything can queue the packet again.
  const std::string save = " -j CONNMARK --save-mark --nfmask " + Hex(kConnmarkVerdictMask) +
                           " --ctmask " + Hex(kConnmarkVerdictMask);
  for (const auto& [bits, target] :
       {std::pair{kConnmarkAllowed, " -j ACCEPT"}, std::pair{kConnmarkDenied, " -j DROP"},
        std::pair{kConnmarkRequests, " -j ACCEPT"}, std::pair{kConnmarkInspect, " -j ACCEPT"}}) {
    add(app, MarkMatch("mark", bits, kConnmarkVerdictMask) + save);
    add(app, MarkMatch("mark", bits, kConnmarkVerdictMask) + target);
  }
  add(app, "-j CONNMARK --set-xmark " + Hex(kConnmarkGoverned) + "/" + Hex(kConnmarkGoverned));
  // The queued packet carries its connection's app, replies included.
  add(app, "-j CONNMARK --restore-mark --nfmask " + Hex(kMarkAppMask) + " --ctmask " +
               Hex(kMarkAppMask));
  add(app, MarkMatch("connmark", kConnmarkDenied, kConnmarkVerdictMask) + " -j DROP");
  const std::string queue = QueueTarget(s);
  if (!s.every_packet) {
    // DNS is queued even on allowed connections: each question is judged
    // and each answer is what attests names to addresses.
    for (const char* proto : {"udp", "tcp"}) {
      for (const std::string& ports : PortLists(plan.dns_ports)) {
        std::string rule = std::string("-p ") + proto;
        rule += " -m multiport --ports " + ports;
        rule += " " + queue;
        add(app, rule);
      }
    }
    // Plain HTTP between requests: the server's data passes in the kernel.
    add(app, MarkMatch("connmark", kConnmarkRequests, kConnmarkVerdictMask) + " " +
                 ServerDataMatch() + " -j ACCEPT");
    add(app, MarkMatch("connmark", kConnmarkAllowed, kConnmarkVerdictMask) + " -j ACCEPT");
  }
  add(app, queue);

  if (output) {
    set.jumps.push_back("-I OUTPUT 1 -j " + select);
    set.jumps.push_back("-I INPUT 1 ! -i lo " + governed + to_app);
  } else {
    set.jumps.push_back("-I FORWARD 1 -j " + select);
  }
  return set;
}

std::string RenderIptablesScript(const IptablesRuleSet& rules,
                                 const std::vector<std::string>& before) {
  std::string script = "*mangle\n";
  for (const auto* part : {&before, &rules.chains, &rules.rules, &rules.jumps}) {
    for (const std::string& line : *part) script += line + "\n";
  }
  script += "COMMIT\n";
  return script;
}

IptablesInstalled ParseIptablesSave(std::string_view save_text, const std::string& prefix) {
  const std::string& select = prefix;
  const std::string app = prefix + "_APP";
  IptablesInstalled installed;
  bool has_select = false, has_app = false;
  std::istringstream lines{std::string(save_text)};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(":")) {
      const std::string name = line.substr(1, line.find(' ') - 1);
      has_select = has_select || name == select;
      has_app = has_app || name == app;
      continue;
    }
    if (!line.starts_with("-A ")) continue;
    std::istringstream tokens(line.substr(3));
    std::string chain, token, target;
    tokens >> chain;
    while (tokens >> token) {
      if ((token == "-j" || token == "-g" || token == "--jump" || token == "--goto") &&
          tokens >> target) {
        break;
      }
    }
    if (chain != select && chain != app && (target == select || target == app)) {
      installed.jump_deletions.push_back("-D " + line.substr(3));
    }
  }
  if (has_select) installed.chains.push_back(select);
  if (has_app) installed.chains.push_back(app);
  return installed;
}

IptablesBackend::IptablesBackend(std::string prefix, std::unique_ptr<CommandRunner> runner)
    : prefix_(std::move(prefix)), runner_(std::move(runner)) {}

Status IptablesBackend::Available() {
  for (bool v6 : {false, true}) {
    const char* tool = ListTool(v6);
    CommandResult version = runner_->Run({tool, "-V"}, "");
    if (!version.started) {
      return Status::Error(std::string(tool) + " is not installed (" + version.failure +
                           "); install the iptables package or use backend: nftables");
    }
    CommandResult list = runner_->Run({tool, "-w", "5", "-t", "mangle", "-S"}, "");
    if (!list.Ok()) {
      return Status::Error(list.Describe(std::string(tool) + " -t mangle -S") +
                           " (run as root, or with CAP_NET_ADMIN)");
    }
    for (const char* save_or_restore : {SaveTool(v6), RestoreTool(v6)}) {
      if (!runner_->Run({save_or_restore, "--version"}, "").started) {
        return Status::Error(std::string(save_or_restore) +
                             " is not installed; install the iptables package");
      }
    }
    // The userspace extensions the rules use; a minimal iptables build may
    // lack some. Kernel support is only known when Install() loads the rules.
    CommandResult help = runner_->Run({tool, "-m", "connmark", "-j", "NFQUEUE", "--help"}, "");
    if (help.out.find("NFQUEUE target options") == std::string::npos ||
        help.out.find("connmark match options") == std::string::npos) {
      return Status::Error(std::string(tool) +
                           " lacks the NFQUEUE target or the connmark match extension");
    }
  }
  return {};
}

std::string IptablesBackend::Render(const RulePlan& plan) const {
  std::string text;
  for (bool v6 : {false, true}) {
    text += std::string("# IPv") + (v6 ? "6" : "4") + ": " + RestoreTool(v6) + " --noflush\n";
    text += RenderIptablesScript(BuildIptablesRules(plan, prefix_, v6));
  }
  return text;
}

Result<IptablesInstalled> IptablesBackend::ReadInstalled(bool v6) {
  CommandResult save = runner_->Run({SaveTool(v6), "-t", "mangle"}, "");
  if (!save.Ok()) return Status::Error(save.Describe(std::string(SaveTool(v6)) + " -t mangle"));
  return ParseIptablesSave(save.out, prefix_);
}

Status IptablesBackend::Restore(bool v6, const std::string& script) {
  CommandResult result = runner_->Run({RestoreTool(v6), "-w", "5", "--noflush"}, script);
  if (!result.Ok()) {
    return Status::Error(
        QuoteFailingLine(result.Describe(std::string(RestoreTool(v6)) + " --noflush"), script));
  }
  return {};
}

Status IptablesBackend::Install(const RulePlan& plan) {
  if (Status valid = IsValidChainPrefix(prefix_); !valid.ok()) return valid;
  // Per family, one transaction: delete the previous install's jumps (the
  // mode may have changed), redeclare our chains (which flushes them), add
  // the rules and the jumps. No moment without rules, no duplicate jumps.
  // If IPv6 fails after IPv4 succeeded, IPv4 keeps the new rules: failing
  // closed, the caller must treat the error as fatal.
  for (bool v6 : {false, true}) {
    const Result<IptablesInstalled> installed = ReadInstalled(v6);
    if (!installed.ok()) return installed.status();
    const std::string script =
        RenderIptablesScript(BuildIptablesRules(plan, prefix_, v6), installed->jump_deletions);
    if (Status restored = Restore(v6, script); !restored.ok()) return restored;
  }
  return {};
}

Status IptablesBackend::Remove() {
  if (Status valid = IsValidChainPrefix(prefix_); !valid.ok()) return valid;
  for (bool v6 : {false, true}) {
    const Result<IptablesInstalled> installed = ReadInstalled(v6);
    if (!installed.ok()) return installed.status();
    if (installed->Empty()) continue;
    std::string script = "*mangle\n";
    for (const std::string& line : installed->jump_deletions) script += line + "\n";
    // Flush both before deleting either: ${P} refers to ${P}_APP.
    for (const std::string& chain : installed->chains) script += "-F " + chain + "\n";
    for (const std::string& chain : installed->chains) script += "-X " + chain + "\n";
    script += "COMMIT\n";
    if (Status restored = Restore(v6, script); !restored.ok()) return restored;
  }
  return {};
}

}  // namespace flightwall
