#!/usr/bin/env bash
# systemd/flightwall.service: least privilege, checked three ways.
#  1. systemd-analyze security --offline=true rates it 2.0 or lower ("OK").
#  2. The directives the design depends on are there, with exactly the
#     capabilities and address families the daemon needs, and
#     systemd-analyze verify finds nothing wrong.
#  3. As root with a built binary: the daemon, run under the unit's user
#     model (an unprivileged user with the unit's ambient capabilities, no new
#     privileges, read-only /, private /tmp, /proc subset; see
#     systemd_sandbox.sh), binds NFQUEUE, installs its rules, reloads them on
#     SIGHUP (iptables-restore child) and removes them on SIGTERM, inside a
#     network namespace of its own.
# Exit 77 (skip) without systemd-analyze.
# shellcheck disable=SC2015,SC2016,SC2317  # ok/bad report lines use A && ok || bad (ok never fails); $MAINPID is literal; cleanup runs from the EXIT trap
set -euo pipefail

src="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
unit="$src/systemd/flightwall.service"
here="$src/tests/integration"
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib/check.sh
source "$here/lib/check.sh"
# shellcheck source-path=SCRIPTDIR source=lib/procs.sh
source "$here/lib/procs.sh"

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is missing (apt-get install systemd)"
  exit 77
fi
[[ -f "$unit" ]] || { echo "FAIL: $unit is missing"; exit 1; }

# --- 1. exposure --------------------------------------------------------------
report=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
line=$(grep 'Overall exposure level' <<<"$report" || true)
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$line")
if [[ -z "$exposure" ]]; then
  echo "$report"
  bad "no exposure figure in systemd-analyze's output"
elif awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
  ok "systemd-analyze security: exposure $exposure (<= 2.0): $line"
else
  echo "$report" | grep '✗' || true
  bad "exposure $exposure is above 2.0"
fi

# --- 2. directives --------------------------------------------------------------
value() {
  awk -v key="$1" '
    /^\[/ { in_service = ($0 == "[Service]") }
    in_service && index($0, key "=") == 1 { v = substr($0, length(key) + 2) }
    END { print v }' "$unit"
}
expect() { # KEY EXPECTED
  local got
  got=$(value "$1")
  if [[ "$got" == "$2" ]]; then ok "$1=$got"; else bad "$1 is '$got', expected '$2'"; fi
}
expect Type notify
expect Restart on-failure
expect NoNewPrivileges yes
expect ProtectSystem strict
expect PrivateTmp yes
expect ProtectHome yes
expect User flightwall
expect CapabilityBoundingSet "CAP_NET_ADMIN CAP_NET_RAW"
expect AmbientCapabilities "CAP_NET_ADMIN CAP_NET_RAW"
expect RestrictAddressFamilies "AF_NETLINK AF_INET AF_INET6 AF_UNIX"
expect ReadWritePaths /var/log/flightwall
expect StateDirectory flightwall
expect RuntimeDirectory flightwall
[[ -n "$(value WatchdogSec)" ]] && ok "WatchdogSec=$(value WatchdogSec)" || bad "no WatchdogSec"
[[ "$(value ExecReload)" == *"-HUP"*'$MAINPID'* ]] && ok "ExecReload sends SIGHUP" ||
  bad "ExecReload does not send SIGHUP to \$MAINPID"
grep -q '^SystemCallFilter=@system-service' "$unit" && ok "SystemCallFilter=@system-service" ||
  bad "no SystemCallFilter=@system-service"
[[ "$(value ExecStart)" == "/usr/sbin/flightwall run --config /etc/flightwall/flightwall.yaml" ]] &&
  ok "ExecStart runs the packaged binary and config" || bad "ExecStart is '$(value ExecStart)'"

# verify checks syntax and that ExecStart is executable: point it at the
# build's binary when there is one, and drop the man: links (not installed).
bin="${FLIGHTWALL:-}"
if [[ -n "$bin" && -x "$bin" ]]; then
  vdir=$(mktemp -d)
  sed -e "s#/usr/sbin/flightwall#$bin#" -e '/^Documentation=/d' "$unit" >"$vdir/flightwall.service"
  if out=$(systemd-analyze verify "$vdir/flightwall.service" 2>&1) && [[ -z "$out" ]]; then
    ok "systemd-analyze verify: clean"
  else
    echo "$out"
    bad "systemd-analyze verify complained"
  fi
  rm -rf "$vdir"
fi

# --- 3. the privilege model at run time --------------------------------------------
runtime_skip=""
[[ $EUID -eq 0 ]] || runtime_skip="needs root"
[[ -n "$bin" && -x "$bin" ]] || runtime_skip="needs FLIGHTWALL (the built binary)"
for t in ip iptables-save setpriv unshare curl timeout; do
  command -v "$t" >/dev/null || runtime_skip="needs $t"
done
if [[ -n "$runtime_skip" ]]; then
  echo "note: run-time part skipped ($runtime_skip)"
  summary
  exit
fi

ns="fwunit$$"
work=$(mktemp -d /run/flightwall-unit-test.XXXXXX)
pid=""
cleanup() {
  stop_pid "$pid"
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "$work/log" "$work/run"
chmod 0755 "$work"
chown nobody "$work/log" "$work/run"
# PrivateTmp hides /tmp and /var/tmp inside the sandbox, and the checkout may
# live there (CI clones anywhere): run a copy of the binary and the rules.
install -m 0755 "$bin" "$work/flightwall"
bin="$work/flightwall"
cp -r "$src/rules" "$work/rules"
chmod -R a+rX "$work/rules"
cat >"$work/flightwall.yaml" <<EOF
policy: $work/rules/local-data-mode.yaml
intercept:
  mode: forward
  queue: 11
  backend: iptables
dns:
  state_file: $work/log/names.bin
events:
  path: $work/log/events.jsonl
metrics:
  listen: 127.0.0.1:9714
control:
  socket: $work/run/control.sock
EOF
chmod 0644 "$work/flightwall.yaml"

if start_sandboxed "$ns" "$work/out" "$work/err" --unit "$unit" --user nobody \
  --rw "$work/log" --rw "$work/run" -- "$bin" run --config "$work/flightwall.yaml"; then
  pid=$SANDBOX_PID
  ok "the sandboxed daemon (uid nobody, CAP_NET_ADMIN+CAP_NET_RAW only) is READY"
else
  pid=$SANDBOX_PID
  cat "$work/err"
  bad "the sandboxed daemon did not print READY"
  summary
  exit 1
fi
rules=$(ip netns exec "$ns" iptables-save -t mangle)
grep -q -- '-j NFQUEUE --queue-num 11' <<<"$rules" && ok "its rules send flight-app packets to queue 11" ||
  { echo "$rules"; bad "no NFQUEUE rule for queue 11"; }
grep -q 'warning: no fail-fast replies' "$work/err" &&
  bad "the injector could not open its raw sockets: $(cat "$work/err")"

metrics=$(ip netns exec "$ns" curl -sf --max-time 5 http://127.0.0.1:9714/metrics || true)
grep -q '^flightwall_build_info' <<<"$metrics" && ok "metrics are served" || bad "no metrics"

# $work/run stands in for RuntimeDirectory=flightwall (writable, owned by the user).
"$bin" status --socket "$work/run/control.sock" >"$work/status" 2>&1 &&
  ok "flightwall status answers from the sandboxed daemon's control socket" ||
  { cat "$work/status" "$work/err"; bad "flightwall status failed under the sandbox"; }

kill -HUP "$pid"
reloaded=""
for _ in $(seq 50); do
  metrics=$(ip netns exec "$ns" curl -sf --max-time 5 http://127.0.0.1:9714/metrics || true)
  if grep -qE '^flightwall_policy_reloads_total\{result="ok"\} [1-9]' <<<"$metrics"; then
    reloaded=1
    break
  fi
  sleep 0.2
done
[[ -n "$reloaded" ]] && ok "SIGHUP reloaded the policy (rules reinstalled without root)" ||
  { cat "$work/err"; bad "no successful reload counted after SIGHUP"; }

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 0 ]] && ok "SIGTERM: clean exit" || { cat "$work/err"; bad "exit code $rc after SIGTERM"; }
if ip netns exec "$ns" iptables-save -t mangle | grep -q FLIGHTWALL; then
  bad "rules left behind after SIGTERM"
else
  ok "rules removed on SIGTERM"
fi
[[ -f "$work/log/events.jsonl" ]] && ok "event log created in the writable log directory" ||
  bad "no event log at $work/log/events.jsonl"
[[ ! -e "$work/run/control.sock" ]] && ok "control socket removed on SIGTERM" ||
  bad "control socket left at $work/run/control.sock"
summary
