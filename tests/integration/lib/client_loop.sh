# shellcheck shell=bash
# The flight app's traffic that the fault tests keep running while they
# break the daemon (daemon_fault_test, daemon_load_fault_test). Source after
# lib/daemon_lab.sh; call cl_init once the lab is up.
#
# cl_init                 writes $DL_DIR/flightlog.csv (64 KiB), what the
#                         denied uploads carry
# cl_upload_denied        the uploads a leaky app makes without asking DNS:
#                         TLS to the vendor's address over IPv4 and IPv6,
#                         plain TCP to a hard-coded IP and, with CL_FRONT=1,
#                         TLS naming flightlog.dji.com to the tile server's
#                         address (domain fronting); prints the HTTP codes
#                         a/b/c[/d] (000 = failed). DL_CURL_TIMEOUT bounds each.
# cl_loop_start PHASE ROUNDS SECONDS [dig]
#                         background client: per round one allowed fetch,
#                         (with dig) a denied DNS question, and the denied
#                         uploads; each round appends "PHASE allowed=CODE
#                         denied=CODES" to $DL_DIR/loop.log, PHASE read from
#                         $DL_DIR/phase (cl_phase NAME switches it). Bounded by
#                         ROUNDS and SECONDS; CL_FETCH_TIMEOUT (default 2)
#                         bounds the allowed fetch.
# cl_loop_stop            ends the loop and waits for it
# cl_rounds PHASE CODE    rounds of PHASE whose allowed fetch gave CODE
# cl_rounds_at_least PHASE CODE N
# CL_DENIED_HOSTS         tcpdump filter: the denied uploads' destinations

# shellcheck disable=SC2034 # read by the tests that source this
CL_DENIED_HOSTS='host 198.51.100.20 or host 2001:db8:100::20 or host 203.0.113.77'
CL_RESOLVE4=(--resolve flightlog.dji.com:443:198.51.100.20)
CL_RESOLVE6=(--resolve "flightlog.dji.com:443:[2001:db8:100::20]")
CL_FRONT_TO=(--resolve flightlog.dji.com:443:198.51.100.10)
CL_FRONT=${CL_FRONT:-0}
CL_LOOP_PID=""

cl_init() { head -c 65536 /dev/urandom | base64 -w 76 >"$DL_DIR/flightlog.csv"; }

cl_upload_denied() {
  local t="${DL_CURL_TIMEOUT:-2}" codes
  codes=$(DL_CURL_TIMEOUT=$t dl_fetch flightlog.dji.com /upload "${CL_RESOLVE4[@]}" \
    --data-binary "@$DL_DIR/flightlog.csv")
  codes+=/$(DL_CURL_TIMEOUT=$t dl_fetch flightlog.dji.com /upload -6 "${CL_RESOLVE6[@]}" \
    --data-binary "@$DL_DIR/flightlog.csv")
  codes+=/$(dl_c curl -s -o /dev/null --max-time "$t" -w '%{http_code}' \
    --data-binary "@$DL_DIR/flightlog.csv" http://203.0.113.77:8443/upload)
  if ((CL_FRONT)); then
    codes+=/$(DL_CURL_TIMEOUT=$t dl_fetch flightlog.dji.com /upload -k "${CL_FRONT_TO[@]}" \
      --data-binary "@$DL_DIR/flightlog.csv")
  fi
  echo "$codes"
}

cl_phase() { echo "$1" >"$DL_DIR/phase"; }

_cl_loop() { # ROUNDS SECONDS [dig]
  local end=$((SECONDS + $2)) i a d phase
  for ((i = 0; i < $1 && SECONDS < end; i++)); do
    [[ -e "$DL_DIR/loop.stop" ]] && break
    phase=$(cat "$DL_DIR/phase")
    a=$(DL_CURL_TIMEOUT=${CL_FETCH_TIMEOUT:-2} dl_fetch a.tiles.mapbox.com)
    [[ "${3:-}" == dig ]] && dl_c dig +time=1 +tries=1 +short flightlog.dji.com >/dev/null 2>&1
    d=$(cl_upload_denied)
    # A round that straddles a phase change (a kill, a restart) belongs to neither.
    [[ "$(cat "$DL_DIR/phase")" == "$phase" ]] || phase="$phase-mixed"
    echo "$phase allowed=$a denied=$d" >>"$DL_DIR/loop.log"
  done
}

cl_loop_start() {
  rm -f "$DL_DIR/loop.stop"
  : >"$DL_DIR/loop.log"
  cl_phase "$1"
  shift
  _cl_loop "$@" &
  CL_LOOP_PID=$!
}

cl_loop_stop() {
  touch "$DL_DIR/loop.stop"
  [[ -n "$CL_LOOP_PID" ]] && wait "$CL_LOOP_PID" 2>/dev/null
  CL_LOOP_PID=""
}

cl_rounds() { grep -c "^$1 allowed=$2 " "$DL_DIR/loop.log" 2>/dev/null; }
cl_rounds_at_least() { (($(cl_rounds "$1" "$2") >= $3)); }
