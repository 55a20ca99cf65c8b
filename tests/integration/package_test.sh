#!/usr/bin/env bash
# The Debian package, built and installed into a throwaway root:
#  1. packaging/build-deb builds the .deb (dpkg-buildpackage -us -uc -b) and
#     lintian reports no error;
#  2. dpkg -i installs it: binary, conffiles, rules, unit, logrotate, man
#     pages, completion, monitoring kit, the flightwall user, /var/log/flightwall,
#     /var/lib/flightwall (dns.state_file);
#  3. `flightwall check` accepts the installed policy, systemd-analyze
#     verifies the installed unit, logrotate accepts its file;
#  4. the installed binary runs the installed config and rules unchanged in a
#     test network namespace (a tablet behind lan0, as in forward mode), as
#     the flightwall user with the unit's privileges (systemd_sandbox.sh),
#     blocks the tablet's transfer, logs it and verify-log accepts the log;
#  5. an upgrade keeps the operator's edits to both conffiles (one changed
#     in the new package: the edit stays, the new one lands as .dpkg-dist);
#  6. purge leaves the (throwaway) system as it was.
# The steps run in a private mount namespace in which /etc, /usr (which holds
# /lib on Debian 12) and /var are overlays whose upper layers live in a work
# dir under /run, and /run/systemd is an empty tmpfs (the maintainer scripts
# then leave the machine's service manager alone): dpkg, adduser and the
# daemon write only there, and it all vanishes with the namespace. Afterwards
# the machine is checked from outside: no flightwall package, files or user.
# Set FLIGHTWALL_DEB to test an already built .deb (skips step 1).
# Exit 77 (skip) without root, the Debian build tools, or when a flightwall
# package is already installed here (it is not ours to replace).
# shellcheck disable=SC2015,SC2317  # ok/bad report lines use A && ok || bad (ok never fails); cleanup runs from the EXIT trap
set -euo pipefail

src="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
here="$src/tests/integration"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib/check.sh
source "$here/lib/check.sh"
# shellcheck source-path=SCRIPTDIR source=lib/procs.sh
source "$here/lib/procs.sh"

if [[ $EUID -ne 0 ]]; then
  echo "SKIP: installs a package: needs root"
  exit 77
fi
for t in dpkg-buildpackage dh lintian dpkg-deb ip iptables-save setpriv unshare curl timeout; do
  if ! command -v "$t" >/dev/null; then
    echo "SKIP: needs '$t' (run scripts/setup: dpkg-dev, debhelper, lintian)"
    exit 77
  fi
done
if dpkg-query -W -f='${Status}' flightwall 2>/dev/null | grep -q 'installed\|config-files'; then
  echo "SKIP: a flightwall package is already installed here; not replacing it"
  exit 77
fi

# --- 0. the throwaway root ------------------------------------------------------------
host_paths=(/usr/sbin/flightwall /etc/flightwall /usr/share/flightwall /var/log/flightwall
  /var/lib/flightwall /lib/systemd/system/flightwall.service /etc/logrotate.d/flightwall)
host_state() { # what the package would change on the machine, read from outside
  dpkg-query -W -f='${Status}\n' flightwall 2>/dev/null || echo "not known to dpkg"
  getent passwd flightwall || echo "no user flightwall"
  getent group flightwall || echo "no group flightwall"
  local f
  for f in "${host_paths[@]}"; do [[ -e "$f" ]] && echo "present: $f"; done
  return 0
}
if [[ -z "${FLIGHTWALL_PACKAGE_TEST_ROOT:-}" ]]; then
  root=$(mktemp -d /run/flightwall-package-root.XXXXXX)
  trap 'rm -rf -- "$root"' EXIT
  before=$(host_state)
  rc=0
  FLIGHTWALL_PACKAGE_TEST_ROOT="$root" unshare --mount --propagation private -- \
    bash "${BASH_SOURCE[0]}" "$@" || rc=$?
  after=$(host_state)
  rm -rf -- "$root"
  if [[ "$before" != "$after" ]]; then
    diff <(echo "$before") <(echo "$after")
    echo "FAIL: the machine changed outside the throwaway root"
    exit 1
  fi
  ((rc == 77)) || echo "ok: the machine is as before (no flightwall package, files or user)"
  exit "$rc"
fi
# Inside the private mount namespace: overlays over the system's directories.
for d in etc usr var; do
  mkdir -p "$FLIGHTWALL_PACKAGE_TEST_ROOT/$d/upper" "$FLIGHTWALL_PACKAGE_TEST_ROOT/$d/work"
  if ! mount -t overlay overlay -o "lowerdir=/$d,upperdir=$FLIGHTWALL_PACKAGE_TEST_ROOT/$d/upper,workdir=$FLIGHTWALL_PACKAGE_TEST_ROOT/$d/work" "/$d"; then
    echo "SKIP: cannot lay an overlay over /$d here; not installing on the machine itself"
    exit 77
  fi
done
if [[ -d /run/systemd ]]; then mount -t tmpfs -o mode=0755 tmpfs /run/systemd; fi

work=$(mktemp -d /run/flightwall-package-test.XXXXXX)
chmod 0755 "$work"
ns_gw="fwpkg$$-gw"
ns_tab="fwpkg$$-tab"
ns_inet="fwpkg$$-inet"
pid=""
cleanup() {
  stop_pid "$pid"
  for n in "$ns_gw" "$ns_tab" "$ns_inet"; do ip netns del "$n" 2>/dev/null || true; done
  # Whatever dpkg left goes with the overlays when this namespace ends.
  rm -rf "$work"
}
trap cleanup EXIT

# --- 1. build ----------------------------------------------------------------------
if [[ -n "${FLIGHTWALL_DEB:-}" ]]; then
  deb="$FLIGHTWALL_DEB"
else
  start=$SECONDS
  if ! "$src/packaging/build-deb" --out "$work/out" --lintian >"$work/build.log" 2>&1; then
    tail -40 "$work/build.log"
    echo "FAIL: packaging/build-deb failed (lintian errors fail it too)"
    exit 1
  fi
  deb=$(ls "$work"/out/flightwall_*.deb)
  ok "built $(basename "$deb") in $((SECONDS - start)) s"
  lintian_summary=$( (grep -E '^[EWIP]: flightwall' "$work/build.log" || true) | cut -d: -f1 |
    sort | uniq -c | tr -s ' \n' ' ')
  ok "lintian: no error (${lintian_summary:-no tags})"
  grep -E '^[EW]: flightwall' "$work/build.log" || true
fi
version=$(dpkg-deb -f "$deb" Version)

# --- 2. install --------------------------------------------------------------------
if ! dpkg -i "$deb" >"$work/install.log" 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -f -y --no-install-recommends \
    >>"$work/install.log" 2>&1 || true
fi
if [[ "$(dpkg-query -W -f='${Status}' flightwall 2>/dev/null)" != "install ok installed" ]]; then
  cat "$work/install.log"
  echo "FAIL: the package did not install"
  exit 1
fi
ok "installed flightwall $version"
for f in /usr/sbin/flightwall /etc/flightwall/flightwall.yaml /etc/flightwall/policy.yaml \
  /usr/share/flightwall/rules/local-data-mode.yaml \
  /usr/share/flightwall/rules/map-providers/mapbox.yaml /usr/share/flightwall/rules/catalog/dji.yaml \
  /lib/systemd/system/flightwall.service /etc/logrotate.d/flightwall \
  /usr/share/man/man8/flightwall.8.gz /usr/share/man/man5/flightwall.yaml.5.gz \
  /usr/share/bash-completion/completions/flightwall \
  /usr/share/flightwall/monitoring/grafana-dashboard.json \
  /usr/share/flightwall/monitoring/alerts.yml; do
  [[ -e "$f" ]] || bad "$f is not installed"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' flightwall)
for f in /etc/flightwall/flightwall.yaml /etc/flightwall/policy.yaml /etc/logrotate.d/flightwall; do
  grep -q " $f " <<<"$conffiles" && ok "$f is a conffile" || bad "$f is not a conffile"
done
getent passwd flightwall >/dev/null && ok "system user flightwall exists" || bad "no user flightwall"
owner=$(stat -c '%U:%G %a' /var/log/flightwall 2>/dev/null || echo missing)
[[ "$owner" == "flightwall:adm 2750" ]] && ok "/var/log/flightwall is $owner" ||
  bad "/var/log/flightwall is '$owner', expected 'flightwall:adm 2750'"
owner=$(stat -c '%U:%G %a' /var/lib/flightwall 2>/dev/null || echo missing)
[[ "$owner" == "flightwall:flightwall 750" ]] && ok "/var/lib/flightwall is $owner" ||
  bad "/var/lib/flightwall is '$owner', expected 'flightwall:flightwall 750'"
if grep -qE '^[[:space:]]*-?[[:space:]]*include:[[:space:]]*[^/[:space:]]' /etc/flightwall/policy.yaml; then
  bad "the installed policy has relative includes"
fi

# --- 3. the installed files are accepted by their tools -----------------------------
if out=$(/usr/sbin/flightwall check --policy /etc/flightwall/policy.yaml 2>&1); then
  ok "flightwall check --policy /etc/flightwall/policy.yaml"
else
  echo "$out"
  bad "flightwall check rejects the installed policy"
fi
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify /lib/systemd/system/flightwall.service 2>&1 || true)
  # man: links need man-db; everything else must be clean.
  out=$(grep -v "Command 'man " <<<"$out" || true)
  [[ -z "$out" ]] && ok "systemd-analyze verify: installed unit is clean" ||
    { echo "$out"; bad "systemd-analyze verify complained about the installed unit"; }
fi
if command -v logrotate >/dev/null; then
  if out=$(logrotate -d /etc/logrotate.d/flightwall 2>&1) && ! grep -qi 'error' <<<"$out"; then
    ok "logrotate accepts /etc/logrotate.d/flightwall"
  else
    echo "$out"
    bad "logrotate rejects its file"
  fi
fi
if command -v man >/dev/null; then
  for page in 8:flightwall 5:flightwall.yaml; do
    if MANWIDTH=80 man --warnings=w "${page%%:*}" "${page#*:}" 2>"$work/man.err" >/dev/null &&
      [[ ! -s "$work/man.err" ]]; then
      ok "man ${page%%:*} ${page#*:} renders without warnings"
    else
      cat "$work/man.err"
      bad "man ${page%%:*} ${page#*:} has problems"
    fi
  done
fi
bash -c 'source /usr/share/bash-completion/completions/flightwall 2>/dev/null ||
         { _init_completion() { return 1; }; source /usr/share/bash-completion/completions/flightwall; }
         complete -p flightwall' >/dev/null && ok "bash completion loads" ||
  bad "bash completion does not load"

# --- 4. the installed binary, config and rules in a test namespace -------------------
# The lab's wiring (scripts/flightwall_lab/topology.py): the tablet
# 192.0.2.10 behind the gateway's lan0 (a flight app by the shipped policy),
# and an "internet" namespace with no servers: nothing there answers.
FW_LAB_PREFIX="fwpkg$$" "$src/scripts/lab" wire "$ns_tab" "$ns_gw" "$ns_inet" ||
  { bad "could not wire the test namespaces"; summary; exit 1; }

if start_sandboxed "$ns_gw" "$work/daemon.out" "$work/err" \
  --unit /lib/systemd/system/flightwall.service -- \
  /usr/sbin/flightwall run --config /etc/flightwall/flightwall.yaml; then
  pid=$SANDBOX_PID
  ok "installed daemon READY as user flightwall with the installed config and policy"
else
  pid=$SANDBOX_PID
  cat "$work/err"
  bad "the installed daemon did not start"
  summary
  exit 1
fi
grep -q -- '-j NFQUEUE --queue-num 0' <(ip netns exec "$ns_gw" iptables-save -t mangle) &&
  ok "rules installed in the test namespace" || bad "no NFQUEUE rule in the test namespace"

# The tablet (192.0.2.10 on lan0: a flight app by the shipped policy) sends
# a datagram to a hard-coded address: denied on its first payload packet.
ip netns exec "$ns_tab" timeout 5 bash -c 'echo flight-log >/dev/udp/198.51.100.7/5000' || true
metrics=""
for _ in $(seq 50); do
  metrics=$(ip netns exec "$ns_gw" curl -sf --max-time 5 http://127.0.0.1:9714/metrics || true)
  grep -qE '^flightwall_attempts_total\{[^}]*app="tablet"[^}]*\} [1-9]' <<<"$metrics" && break
  sleep 0.1
done
grep -qE '^flightwall_attempts_total\{[^}]*app="tablet"[^}]*\} [1-9]' <<<"$metrics" &&
  ok "the tablet's transfer was blocked and counted in the metrics" ||
  bad "no blocked attempt counted for the tablet"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 0 ]] && ok "clean exit on SIGTERM" || { cat "$work/err"; bad "exit code $rc"; }
ip netns exec "$ns_gw" iptables-save -t mangle | grep -q FLIGHTWALL && bad "rules left behind"
log=/var/log/flightwall/events.jsonl
if [[ -f "$log" ]]; then
  ok "event log written: $(stat -c '%U:%G %a' "$log") $log"
  [[ "$(stat -c '%U:%G' "$log")" == flightwall:adm ]] || bad "event log is not flightwall:adm"
  grep -q '"verdict":"deny"' "$log" && grep -q '"app":"tablet"' "$log" &&
    ok "the event log records the denied flow" || bad "no deny event for the tablet in $log"
  if /usr/sbin/flightwall --help 2>&1 | grep -q 'verify-log'; then
    /usr/sbin/flightwall verify-log "$log" >"$work/verify.out" 2>&1 &&
      ok "flightwall verify-log accepts the log" ||
      { cat "$work/verify.out"; bad "verify-log rejects the installed daemon's log"; }
  else
    echo "note: this flightwall has no verify-log command yet; chain not checked"
  fi
else
  bad "no event log at $log"
fi

# --- 5. upgrade keeps the operator's configuration -----------------------------------
echo "# operator edit: site gs-17" >>/etc/flightwall/flightwall.yaml
sed -i 's/^name: local-data-mode$/name: site-gs-17/' /etc/flightwall/policy.yaml
# The next version, made from this one: a new Version, and a changed
# packaged flightwall.yaml (the harder case: dpkg must not overwrite the
# edited file; with --force-confold it keeps it and drops the new one
# beside it as .dpkg-dist, which is what apt-get upgrade does unattended).
next="$version+upgradetest1"
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: $next/" "$work/next/DEBIAN/control"
echo "# a comment new in $next" >>"$work/next/etc/flightwall/flightwall.yaml"
(cd "$work/next" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
  xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$work/next" "$work/next.deb" >/dev/null
if dpkg -i --force-confold "$work/next.deb" >"$work/upgrade.log" 2>&1; then
  ok "upgraded to $(dpkg-query -W -f='${Version}' flightwall)"
else
  cat "$work/upgrade.log"
  bad "the upgrade failed"
fi
grep -q 'operator edit: site gs-17' /etc/flightwall/flightwall.yaml &&
  ok "the edited flightwall.yaml survived the upgrade" || bad "the upgrade lost the edit to flightwall.yaml"
grep -q '^name: site-gs-17$' /etc/flightwall/policy.yaml &&
  ok "the edited policy.yaml survived the upgrade" || bad "the upgrade lost the edit to policy.yaml"
[[ -f /etc/flightwall/flightwall.yaml.dpkg-dist ]] &&
  ok "the new packaged flightwall.yaml is beside it as .dpkg-dist" ||
  bad "no flightwall.yaml.dpkg-dist after upgrading a changed conffile"
/usr/sbin/flightwall check --policy /etc/flightwall/policy.yaml >/dev/null 2>&1 ||
  bad "the upgraded installation's policy no longer checks"

# --- 6. purge ----------------------------------------------------------------------------
dpkg --purge flightwall >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; bad "purge failed"; }
for f in /usr/sbin/flightwall /etc/flightwall /var/log/flightwall /var/lib/flightwall /lib/systemd/system/flightwall.service; do
  [[ -e "$f" ]] && bad "$f is still there after purge"
done
ok "purged"
summary
