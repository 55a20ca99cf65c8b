# shellcheck shell=bash
# Processes of the integration tests: a daemon under systemd_sandbox.sh (the unit's user,
# capabilities and file system view), for the tests that run it so.
#
# start_sandboxed NS OUT ERR SANDBOX_ARGS...: runs systemd_sandbox.sh with
#   SANDBOX_ARGS in namespace NS (at most 120 s), its stdout through the FIFO
#   OUT (made here, read on fd 3) and its stderr to ERR; sets SANDBOX_PID.
#   Returns 0 once the daemon printed READY, 1 if it did not within 20 s.
# stop_pid PID: SIGTERM, then SIGKILL after 5 s; nothing if PID is empty or gone.

start_sandboxed() {
  local ns="$1" out="$2" err="$3" first=""
  shift 3
  mkfifo "$out"
  ip netns exec "$ns" timeout --foreground 120 \
    "$(dirname "${BASH_SOURCE[0]}")/../systemd_sandbox.sh" "$@" >"$out" 2>"$err" &
  # shellcheck disable=SC2034 # read by the caller
  SANDBOX_PID=$!
  exec 3<"$out"
  read -r -t 20 first <&3 && [[ "$first" == READY ]]
}

stop_pid() {
  local p="$1"
  [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
