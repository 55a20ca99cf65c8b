#!/usr/bin/env bash
# scripts/setup leaves what the machine serves alone: an nginx started here in
# the ROOT network namespace (bound only to 127.0.0.1 on a free high port,
# with its own config, pid file, logs and temp dirs under a work dir; the
# system's nginx config is never read or touched) is still the same process
# and still serving after scripts/setup ran. Only that nginx, by the pid its
# own pid file holds, is stopped at the end.
# Also checks that scripts/setup holds no command that stops, disables or
# kills services or processes by name (a machine with systemd as PID 1 is not
# needed to see that).
# Exit 77 (skip) without root or nginx/curl/python3.
# The bash -c check takes its file as "$1" on purpose.
# shellcheck disable=SC2016
set -uo pipefail

SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

if [[ $EUID -ne 0 ]]; then
  echo "SKIP: setup_leaves_machine_test runs scripts/setup (apt-get): needs root"
  exit 77
fi
for t in nginx curl python3; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: setup_leaves_machine_test needs '$t' (run scripts/setup)"
    exit 77
  fi
done

# shellcheck source-path=SCRIPTDIR source=lib/check.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/check.sh"

work=$(mktemp -d /tmp/flightwall-setup-test.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work"/{www,temp/body,temp/proxy,temp/fastcgi,temp/uwsgi,temp/scgi}
token="flightwall-setup-test-$$-$RANDOM"
echo "$token" >"$work/www/index.html"
chmod -R a+rX "$work/www"
pid=""

alive() { # alive PID: runs and is not a zombie
  local state
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}
# ours PID: the nginx master this test started (its command line names our
# config), so a recycled pid is never signalled.
ours() {
  alive "$1" && [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == nginx ]] &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$work/nginx.conf"
}
stop_ours() {
  [[ -n "$pid" ]] && ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do
    alive "$pid" || return 0
    sleep 0.1
  done
  ours "$pid" && kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  stop_ours
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
serves() { [[ "$(curl -sf --max-time 3 "http://127.0.0.1:$port/")" == "$token" ]]; }

# --- an nginx of our own in the root namespace ----------------------------------
started=0
for _ in 1 2 3 4 5; do
  port=$(free_port)
  cat >"$work/nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log notice;
events { worker_connections 64; }
http {
  access_log $work/access.log;
  client_body_temp_path $work/temp/body;
  proxy_temp_path $work/temp/proxy;
  fastcgi_temp_path $work/temp/fastcgi;
  uwsgi_temp_path $work/temp/uwsgi;
  scgi_temp_path $work/temp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
  }
}
EOF
  if nginx -e "$work/error.log" -p "$work/" -c "$work/nginx.conf" 2>>"$work/start.err"; then
    for _ in $(seq 50); do
      [[ -s "$work/nginx.pid" ]] && break
      sleep 0.1
    done
    pid=$(tr -dc '0-9' <"$work/nginx.pid" 2>/dev/null)
    if [[ -n "$pid" ]] && ours "$pid"; then
      started=1
      break
    fi
  fi
  sleep 0.2 # the port was taken between the probe and nginx's bind: try another
done
if ((!started)); then
  cat "$work/start.err" "$work/error.log" 2>/dev/null
  echo "FAIL: could not start a test nginx on 127.0.0.1"
  exit 1
fi
for _ in $(seq 50); do
  serves && break
  sleep 0.1
done
check "test nginx (pid $pid) serves on 127.0.0.1:$port before scripts/setup" serves

# Services the machine runs, when systemd manages them: unchanged afterwards.
services_state() {
  [[ -d /run/systemd/system ]] || return 0
  local s
  for s in nginx prometheus; do
    echo "$s $(systemctl is-active "$s" 2>/dev/null) $(systemctl is-enabled "$s" 2>/dev/null)"
  done
}
services_before=$(services_state)

# --- scripts/setup ------------------------------------------------------------------
start=$SECONDS
if "$SRC/scripts/setup" >"$work/setup.log" 2>&1; then
  echo "scripts/setup finished in $((SECONDS - start)) s"
  check "scripts/setup succeeded" true
else
  tail -n 20 "$work/setup.log"
  check "scripts/setup succeeded (see its output above)" false
fi

# --- the same nginx still runs and serves -------------------------------------------
check "the same nginx master (pid $pid) is still running" ours "$pid"
check "it still serves 127.0.0.1:$port" serves
check "systemd services nginx/prometheus kept their state" \
  test "$services_before" == "$(services_state)"
check "scripts/setup holds no command that stops, disables or kills by name" \
  bash -c '! grep -vE "^[[:space:]]*#" "$1" |
    grep -qE "pkill|killall|systemctl[[:space:]]+(stop|disable|mask|kill)|invoke-rc\.d|service[[:space:]]+[^ ]+[[:space:]]+stop|init\.d/[^ ]+[[:space:]]+stop"' \
  _ "$SRC/scripts/setup"

stop_ours
gone() { ! alive "$1"; }
check "the test nginx stopped by its pid" gone "$pid"
pid=""

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
