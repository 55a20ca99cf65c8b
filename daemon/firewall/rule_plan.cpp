// PlanRules: the policy's flight_apps selectors, resolved for the kernel.
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "firewall/rule_backend.h"

namespace flightwall {
namespace {

// Values end up as tokens of an iptables-restore or nft script; anything
// that could split a token or open a quote/comment is refused rather than
// escaped (the policy loader already rejects most of it).
bool IsSafeToken(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\' || c == '#' || c == ';' ||
        c == '{' || c == '}' || c == '$') {
      return false;
    }
  }
  return true;
}

std::optional<std::uint32_t> ParseUid(std::string_view text) {
  std::uint32_t uid = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, uid);
  // (uid_t)-1 means "no change" to the kernel; it is never a real user.
  if (text.empty() || ec != std::errc() || ptr != end || uid == 0xffffffffu) return std::nullopt;
  return uid;
}

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The cgroup2 mount point from /proc/self/mountinfo (field 5, after the
// " - cgroup2 " separator), empty when cgroup2 is not mounted.
std::string Cgroup2Mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto sep = line.find(" - ");
    if (sep == std::string::npos || line.compare(sep + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, sep));
    std::string field, mount_point;
    for (int i = 0; i < 5 && fields >> field; ++i) mount_point = field;
    return mount_point;
  }
  return {};
}

const char* KindName(RuleSelector::Kind kind) {
  switch (kind) {
    case RuleSelector::Kind::kInInterface:
      return "interface";
    case RuleSelector::Kind::kSource:
      return "source";
    case RuleSelector::Kind::kUid:
      return "uid";
    case RuleSelector::Kind::kCgroup:
      return "cgroup";
  }
  return "selector";
}

// The first app to claim a selector gets its packets, as in MatchFlightApp;
// the same selector in a later app is dropped with a warning.
void AddSelector(const Policy& policy, RulePlan* plan, RuleSelector selector) {
  for (const RuleSelector& s : plan->selectors) {
    if (s.kind != selector.kind || s.value != selector.value || s.v6 != selector.v6) continue;
    if (s.app != selector.app) {
      plan->warnings.push_back("flight app '" + policy.flight_apps[selector.app].name +
                               "': " + KindName(s.kind) + " " + s.value +
                               " already selects flight app '" + policy.flight_apps[s.app].name +
                               "', which its traffic is attributed to; give each app its own");
    }
    return;
  }
  plan->selectors.push_back(std::move(selector));
}

std::optional<std::uint32_t> ResolveUser(const std::string& user,
                                         const SelectorResolver& resolver) {
  if (IsDigits(user)) return ParseUid(user);
  return resolver.uid_of ? resolver.uid_of(user) : std::nullopt;
}

// Forward mode: interfaces and sources. Returns how many were usable.
int PlanForward(const Policy& policy, int index, RulePlan* plan) {
  const FlightApp& app = policy.flight_apps[index];
  int usable = 0;
  for (const std::string& name : app.interfaces) {
    if (!IsSafeToken(name)) {
      plan->warnings.push_back("flight app '" + app.name + "': interface '" + name +
                               "' cannot be written into a rule; skipped");
      continue;
    }
    AddSelector(policy, plan, {RuleSelector::Kind::kInInterface, name, false, index});
    ++usable;
  }
  for (const Cidr& cidr : app.sources) {
    AddSelector(policy, plan,
                {RuleSelector::Kind::kSource, cidr.ToString(), cidr.Base().IsV6(), index});
    ++usable;
  }
  return usable;
}

// Output mode: users (as uids) and cgroups.
int PlanOutput(const Policy& policy, int index, const SelectorResolver& resolver, RulePlan* plan) {
  const FlightApp& app = policy.flight_apps[index];
  int usable = 0;
  for (const std::string& user : app.users) {
    const std::optional<std::uint32_t> uid = ResolveUser(user, resolver);
    if (!uid) {
      plan->warnings.push_back("flight app '" + app.name + "': user '" + user +
                               (IsDigits(user) ? "' is not a valid uid; skipped"
                                               : "' does not exist; skipped (create the user "
                                                 "or write its numeric uid, then reload)"));
      continue;
    }
    AddSelector(policy, plan, {RuleSelector::Kind::kUid, std::to_string(*uid), false, index});
    ++usable;
  }
  for (const std::string& path : app.cgroups) {
    if (!IsSafeToken(path) || !path.starts_with('/')) {
      plan->warnings.push_back("flight app '" + app.name + "': cgroup '" + path +
                               "' cannot be written into a rule; skipped");
      continue;
    }
    if (const Status exists = resolver.cgroup_exists ? resolver.cgroup_exists(path) : Status();
        !exists.ok()) {
      std::string warning = "flight app '" + app.name + "': cgroup '" + path + "' ";
      warning += exists.message();
      warning +=
          "; skipped (the kernel needs it to exist when the rules are loaded: start the "
          "app's unit, then reload)";
      plan->warnings.push_back(std::move(warning));
      continue;
    }
    AddSelector(policy, plan, {RuleSelector::Kind::kCgroup, path, false, index});
    ++usable;
  }
  return usable;
}

}  // namespace

SelectorResolver SystemSelectorResolver() {
  SelectorResolver resolver;
  resolver.uid_of = [](const std::string& user) -> std::optional<std::uint32_t> {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr) {
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(found->pw_uid);
  };
  resolver.cgroup_exists = [](const std::string& path) -> Status {
    // The kernel resolves the path in its own cgroup2 hierarchy, mounted or
    // not; `ip netns exec` hides /sys/fs/cgroup. Without a mount to look in,
    // let the kernel judge when the rules are loaded.
    const std::string mount = Cgroup2Mount();
    if (mount.empty()) return {};
    struct stat st {};
    if (stat((mount + path).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::Error("does not exist under " + mount);
    }
    return {};
  };
  return resolver;
}

void ResolveFlightAppUids(Policy* policy, const SelectorResolver& resolver) {
  for (FlightApp& app : policy->flight_apps) {
    app.uids.clear();
    for (const std::string& user : app.users) {
      if (const std::optional<std::uint32_t> uid = ResolveUser(user, resolver)) {
        app.uids.push_back(*uid);
      }
    }
  }
}

RulePlan PlanRules(const Policy& policy, const InterceptSettings& settings) {
  return PlanRules(policy, settings, SystemSelectorResolver());
}

RulePlan PlanRules(const Policy& policy, const InterceptSettings& settings,
                   const SelectorResolver& resolver) {
  RulePlan plan;
  plan.settings = settings;
  plan.dns_ports = policy.dns.ports;
  // Bridge mode selects like forward mode; its interfaces are bridge ports.
  const bool forward = settings.mode != InterceptMode::kOutput;
  // More apps than the mark can name cannot load (policy.h); a plan built
  // from a Policy made by hand stops there too.
  const int apps = std::min(static_cast<int>(policy.flight_apps.size()), kMaxFlightApps);
  if (apps < static_cast<int>(policy.flight_apps.size())) {
    plan.warnings.push_back("only the first " + std::to_string(kMaxFlightApps) +
                            " flight apps select traffic (the rules name the app in 8 bits of "
                            "the packet mark); merge apps that share selectors");
  }
  for (int index = 0; index < apps; ++index) {
    const FlightApp& app = policy.flight_apps[index];
    const int usable =
        forward ? PlanForward(policy, index, &plan) : PlanOutput(policy, index, resolver, &plan);
    if (usable > 0) continue;
    const bool declared = forward ? !(app.interfaces.empty() && app.sources.empty())
                                  : !(app.users.empty() && app.cgroups.empty());
    const char* kinds = forward ? "interfaces or sources" : "users or cgroups";
    plan.warnings.push_back("flight app '" + app.name + "' has no " +
                            (declared ? std::string("usable ") : std::string()) + kinds + "; in " +
                            InterceptModeName(settings.mode) + " mode it selects no traffic");
  }
  if (plan.selectors.empty()) {
    plan.warnings.push_back(std::string("no flight app selects any traffic in ") +
                            InterceptModeName(settings.mode) + " mode: nothing will be inspected");
  }
  return plan;
}

const char* InterceptModeName(InterceptMode mode) {
  switch (mode) {
    case InterceptMode::kForward:
      return "forward";
    case InterceptMode::kOutput:
      return "output";
    case InterceptMode::kBridge:
      return "bridge";
  }
  return "unknown";
}

Status IsValidChainPrefix(std::string_view prefix) {
  auto fail = [&](const std::string& text) {
    return Status::Error("chain prefix '" + std::string(prefix) + "' " + text);
  };
  if (prefix.empty() || prefix.size() > 24) return fail("must be 1-24 characters long");
  const char first = prefix.front();
  if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z'))) {
    return fail("must start with a letter");
  }
  for (char c : prefix) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return fail("may hold only letters, digits and '_'");
  }
  return {};
}

}  // namespace flightwall
