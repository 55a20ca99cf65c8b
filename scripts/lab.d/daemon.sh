# The lab's flightwall daemon: `flightwall run` inside ${prefix}-gw, the
# router between the tablet (lan0) and the internet (wan0). Sourced by
# scripts/lab, which provides STATE, NS_GW, LAB_D, log, die, in_ns, alive,
# ns_exists, wait_until.
#
#   daemon start [CONFIG]   render CONFIG (default tests/data/lab/daemon-config.yaml)
#                           into the state dir, start the daemon, wait for READY
#   daemon stop             SIGTERM, wait until it has removed its rules and exited
#   daemon kill             SIGKILL: its rules stay, so flight-app traffic is dropped
#   daemon reload           SIGHUP, wait for the daemon to say reloaded or failed
#   daemon status           pid and the daemon's last status line
#   daemon metrics          the Prometheus scrape from inside the gw namespace
#
# Files (state dir): daemon/flightwall.yaml (rendered config), daemon/pid,
# logs/daemon.log (stderr), logs/daemon.stdout, events.jsonl (default config).
# FLIGHTWALL names the binary (default: build/daemon/flightwall of this tree).
# shellcheck shell=bash

REPO_ROOT="$(cd "$LAB_D/../.." && pwd)"
DAEMON_DIR="$STATE/daemon"
DAEMON_PID_FILE="$DAEMON_DIR/pid"
DAEMON_LOG="$STATE/logs/daemon.log"
DAEMON_OUT="$STATE/logs/daemon.stdout"
DAEMON_READY_TENTHS="${FW_LAB_DAEMON_WAIT:-200}" # bounded wait for READY (0.1 s units)

daemon_bin() {
  local fw="${FLIGHTWALL:-$REPO_ROOT/build/daemon/flightwall}"
  [[ -x "$fw" ]] || die "no flightwall binary at $fw (run scripts/build or set FLIGHTWALL)"
  echo "$fw"
}

# Prints the daemon's pid if it runs (pid file present, process alive and
# still a flightwall), else nothing.
daemon_pid() {
  local pid
  [[ -s "$DAEMON_PID_FILE" ]] || return 0
  pid=$(tr -dc '0-9' <"$DAEMON_PID_FILE")
  [[ -n "$pid" ]] && alive "$pid" || return 0
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == flightwall ]] && echo "$pid"
  return 0
}

# render_daemon_config IN OUT: @STATEDIR@ -> the state dir; a relative
# `policy:` becomes absolute against IN's directory (the policy's own
# includes then still resolve next to it).
render_daemon_config() {
  local in="$1" out="$2" dir
  dir=$(cd "$(dirname "$in")" && pwd)
  python3 - "$in" "$out" "$dir" "$STATE" <<'PY'
import os, re, sys
src, dst, base, state = sys.argv[1:5]
out = []
for line in open(src, encoding="utf-8"):
    line = line.replace("@STATEDIR@", state)
    m = re.match(r'^policy:\s*("?)([^"#\s]+)\1(\s*(#.*)?)$', line.rstrip("\n"))
    if m and not os.path.isabs(m.group(2)):
        line = "policy: " + os.path.normpath(os.path.join(base, m.group(2))) + "\n"
    out.append(line)
open(dst, "w", encoding="utf-8").writelines(out)
PY
}

daemon_start() {
  local config="${1:-$REPO_ROOT/tests/data/lab/daemon-config.yaml}" fw pid i
  ns_exists "$NS_GW" || die "lab is not up (scripts/lab up)"
  [[ -r "$config" ]] || die "no daemon config at $config"
  pid=$(daemon_pid)
  [[ -z "$pid" ]] || die "the daemon already runs (pid $pid); scripts/lab daemon stop first"
  fw=$(daemon_bin)
  mkdir -p "$DAEMON_DIR"
  render_daemon_config "$config" "$DAEMON_DIR/flightwall.yaml"
  : >"$DAEMON_OUT"
  touch "$DAEMON_LOG"
  local first_line
  first_line=$(($(wc -l <"$DAEMON_LOG") + 1))
  echo "--- $(date -u +%FT%TZ) start: $fw run --config $DAEMON_DIR/flightwall.yaml" >>"$DAEMON_LOG"
  # setsid: a Ctrl-C meant for the caller does not reach the daemon; in a
  # non-interactive shell the job is no group leader, so setsid and then
  # `ip netns exec` exec in place and $! is the daemon's own pid.
  setsid ip netns exec "$NS_GW" "$fw" run --config "$DAEMON_DIR/flightwall.yaml" \
    </dev/null >>"$DAEMON_OUT" 2>>"$DAEMON_LOG" &
  pid=$!
  echo "$pid" >"$DAEMON_PID_FILE"
  for ((i = 0; i < DAEMON_READY_TENTHS; i++)); do
    if grep -qx READY "$DAEMON_OUT" 2>/dev/null; then
      log "daemon up (pid $pid, config $DAEMON_DIR/flightwall.yaml, log $DAEMON_LOG)"
      return 0
    fi
    if ! alive "$pid"; then
      local rc=0
      wait "$pid" 2>/dev/null || rc=$?
      rm -f "$DAEMON_PID_FILE"
      tail -n "+$first_line" "$DAEMON_LOG" | tail -n 20 >&2
      die "daemon exited with status $rc before READY (log $DAEMON_LOG)"
    fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DAEMON_PID_FILE"
  tail -n "+$first_line" "$DAEMON_LOG" | tail -n 20 >&2
  die "daemon not READY after $((DAEMON_READY_TENTHS / 10)) s; killed it (log $DAEMON_LOG)"
}

# daemon_signal_wait SIGNAL TENTHS: signals the daemon and waits for it to
# exit; 1 if it is still alive afterwards.
daemon_signal_wait() {
  local sig="$1" tenths="$2" pid i
  pid=$(daemon_pid)
  [[ -n "$pid" ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < tenths; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then return 1; fi
  rm -f "$DAEMON_PID_FILE"
  log "daemon (pid $pid) stopped by SIG$sig"
}

daemon_stop() {
  if [[ -z "$(daemon_pid)" ]]; then
    rm -f "$DAEMON_PID_FILE"
    return 0
  fi
  daemon_signal_wait TERM 100 && return 0
  log "daemon did not stop within 10 s of SIGTERM; killing it (its rules stay in $NS_GW)"
  daemon_signal_wait KILL 30 || die "daemon survives SIGKILL"
  return 1
}

daemon_kill() {
  [[ -n "$(daemon_pid)" ]] || die "the daemon does not run"
  daemon_signal_wait KILL 30 || die "daemon survives SIGKILL"
}

daemon_reload() {
  local pid before i line
  pid=$(daemon_pid)
  [[ -n "$pid" ]] || die "the daemon does not run"
  before=$(wc -l <"$DAEMON_LOG")
  kill -HUP "$pid"
  for ((i = 0; i < 100; i++)); do
    line=$(tail -n "+$((before + 1))" "$DAEMON_LOG" | grep -m1 -E 'reloaded policy|reload failed' || true)
    if [[ "$line" == *"reloaded policy"* ]]; then
      log "$line"
      return 0
    elif [[ -n "$line" ]]; then
      tail -n "+$((before + 1))" "$DAEMON_LOG" >&2
      log "$line"
      return 1
    fi
    alive "$pid" || die "daemon exited on SIGHUP (log $DAEMON_LOG)"
    sleep 0.1
  done
  die "daemon said nothing about the reload within 10 s (log $DAEMON_LOG)"
}

daemon_status() {
  local pid
  pid=$(daemon_pid)
  if [[ -z "$pid" ]]; then
    echo "daemon: not running"
    return 1
  fi
  echo "daemon: running (pid $pid, config $DAEMON_DIR/flightwall.yaml, log $DAEMON_LOG)"
}

daemon_metrics() {
  local listen
  ns_exists "$NS_GW" || die "lab is not up (scripts/lab up)"
  listen=$(sed -n 's/^[[:space:]]*listen:[[:space:]]*\([^[:space:]#]*\).*/\1/p' \
    "$DAEMON_DIR/flightwall.yaml" 2>/dev/null | head -n1)
  in_ns "$NS_GW" curl -sS --max-time 3 "http://${listen:-127.0.0.1:9714}/metrics"
}

cmd_daemon() {
  need_root
  local sub="${1:-}"
  (($#)) && shift
  case "$sub" in
    start) daemon_start "$@" ;;
    stop) daemon_stop ;;
    kill) daemon_kill ;;
    reload) daemon_reload ;;
    status) daemon_status ;;
    metrics) daemon_metrics ;;
    *) die "usage: scripts/lab daemon start [CONFIG] | stop | kill | reload | status | metrics" ;;
  esac
}
