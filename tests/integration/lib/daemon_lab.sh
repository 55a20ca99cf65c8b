# shellcheck shell=bash
# A minimal three-namespace lab for tests and benchmarks of `flightwall run`,
# built with the lab library (scripts/lab wire, serve daemon-lab, capture).
# Source it, call dl_init, then dl_up (a test: dl_test_up); dl_down
# (installed as an EXIT trap by dl_init) removes everything.
#
#   ${DL_PREFIX}-c  client   eth0 192.0.2.10/24, 2001:db8:1::10/64
#   ${DL_PREFIX}-g  gateway  lan0 192.0.2.1/24, 2001:db8:1::1/64
#                            wan0 203.0.113.241/30, 2001:db8:ff::1/64
#                            runs `flightwall run` (iptables rules live here)
#   ${DL_PREFIX}-s  server   eth0 203.0.113.242/30, 2001:db8:ff::2/64
#                            srv0: 203.0.113.53 + 2001:db8:53::53 dnsmasq
#                                  198.51.100.10 + 2001:db8:100::10 tile nginx
#                                      (443 TLS, 80 plain; /bulk.bin for benches)
#                                      and, on the same addresses, a shared
#                                      CDN tenant the policy denies:
#                                      $DL_CDN_DENIED (443 TLS + 80 plain,
#                                      POST /upload answers 200)
#                                  198.51.100.20 + 2001:db8:100::20 vendor nginx
#                                      (443 TLS: flightlog.dji.com & co.)
#                                  203.0.113.77 plain TCP 8443 (hard-coded IP)
#                                  203.0.113.88 nothing listens (UDP sink)
#
# dnsmasq logs every query (log-queries=extra) to $DL_DIR/logs/dnsmasq.log,
# so a test can show that a denied name never reached the resolver.
#
# The client resolves through 203.0.113.53 (/etc/netns/${DL_PREFIX}-c), so its
# DNS crosses the gateway and the daemon sees the answers that attest names.
# Names are those of the lab policy (tests/data/lab/lab-policy.yaml).
#
# Safety: nothing is configured in the root namespace. Veths are created
# inside the namespaces, every rule and NFQUEUE binding is made by the daemon
# (or `flightwall rules`) run with `ip netns exec ${DL_PREFIX}-g`. Only
# documentation addresses are used. Every wait is bounded.
#
# Needs: root, ip, dnsmasq, nginx, openssl, curl, dig, tcpdump, python3,
# iptables; FLIGHTWALL (path of the binary) in the environment or found in a
# build directory.

DL_SRC="${FLIGHTWALL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
DL_TOOLS=(ip dnsmasq nginx openssl curl dig tcpdump python3 iptables iptables-save ss timeout)
# A denied name (an analytics host of rules/catalog/analytics.yaml, so reports
# label it) that DNS resolves to the tile server's addresses: a shared CDN
# address, where only the name a flow reveals tells tenants apart.
# shellcheck disable=SC2034  # used by the sourcing scripts
DL_CDN_DENIED=region1.app-measurement.com

dl_log() { echo "daemon_lab: $*" >&2; }

# dl_find_flightwall: sets FLIGHTWALL from the environment or a build dir.
dl_find_flightwall() {
  if [[ -n "${FLIGHTWALL:-}" && -x "${FLIGHTWALL}" ]]; then return 0; fi
  local b
  for b in build-bench build; do
    if [[ -x "$DL_SRC/$b/daemon/flightwall" ]]; then
      FLIGHTWALL="$DL_SRC/$b/daemon/flightwall"
      return 0
    fi
  done
  return 1
}

# dl_check_requirements NAME: prints a SKIP line and returns 1 when the test
# cannot run here (caller exits 77).
dl_check_requirements() {
  local name="$1" t
  if [[ $EUID -ne 0 ]]; then
    echo "SKIP: $name needs root (network namespaces, iptables, NFQUEUE)"
    return 1
  fi
  for t in "${DL_TOOLS[@]}"; do
    if ! command -v "$t" >/dev/null 2>&1; then
      echo "SKIP: $name needs '$t' (run scripts/setup)"
      return 1
    fi
  done
  if ! dl_find_flightwall; then
    echo "SKIP: $name needs the flightwall binary (set FLIGHTWALL or build it)"
    return 1
  fi
  if ! "$FLIGHTWALL" run --help >/dev/null 2>&1; then
    echo "SKIP: $name: $FLIGHTWALL has no 'run' subcommand"
    return 1
  fi
  if ! ip netns add "dlprobe$$" 2>/dev/null; then
    echo "SKIP: $name cannot create network namespaces here"
    return 1
  fi
  ip netns del "dlprobe$$"
  DL_REQUIREMENTS_MET="$name"
}

# The root namespace's netfilter state that a stray daemon could touch: its
# mangle table and queue bindings. Read only; compared before and after.
dl_root_state() {
  iptables-save -t mangle 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
  ip6tables-save -t mangle 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
  awk '{ print "queue", $1 }' /proc/net/netfilter/nfnetlink_queue 2>/dev/null
}
dl_root_unchanged() { diff "$DL_DIR/root-before" <(dl_root_state); }

# dl_init [PREFIX]: names and a work dir; installs the cleanup trap.
dl_init() {
  DL_PREFIX="${1:-fwd$$}"
  DL_NS_C="$DL_PREFIX-c"
  DL_NS_G="$DL_PREFIX-g"
  DL_NS_S="$DL_PREFIX-s"
  DL_DIR=$(mktemp -d "/tmp/flightwall-$DL_PREFIX.XXXXXX")
  chmod 755 "$DL_DIR"
  mkdir -p "$DL_DIR"/{pids,logs}
  DL_CA="$DL_DIR/certs/ca.crt"
  DL_DAEMON_PID=""
  DL_CAPTURE_PIDS=()
  declare -gA DL_CAPTURE_FILES=()
  DL_KEEP="${DL_KEEP:-0}"
  dl_root_state >"$DL_DIR/root-before"
  trap dl_down EXIT
  trap 'exit 130' INT TERM
}

dl_c() { ip netns exec "$DL_NS_C" "$@"; }
dl_g() { ip netns exec "$DL_NS_G" "$@"; }
dl_s() { ip netns exec "$DL_NS_S" "$@"; }

# dl_wait TENTHS CMD...: polls CMD every 0.1 s, at most TENTHS times.
dl_wait() {
  local tenths="$1" i
  shift
  for ((i = 0; i < tenths; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

dl_listening() { # NS PROTO(t|u) ADDR:PORT
  ip netns exec "$1" ss -Hln"$2" | awk '{print $4}' | grep -cxF "$3" >/dev/null
}

# The client/gateway/server wiring is the lab library's (scripts/lab wire,
# scripts/flightwall_lab/topology.py), with this lab's server addresses.
# DL_OFFLOADS=on keeps the veths' checksum/segmentation offloads (faster,
# but the daemon and tcpdump then see 64 KB super-packets). Default off,
# like scripts/lab, so every packet looks like one on a wire.
# _dl_make_namespaces routed|bridge: bridge, the gateway bridges the client
# to the server instead of routing (topology.wire_bridge).
_dl_make_namespaces() {
  local how=()
  [[ "$1" == bridge ]] && how=(--bridge)
  FW_LAB_PREFIX="$DL_PREFIX" "$DL_SRC/scripts/lab" wire "${how[@]}" --offloads "${DL_OFFLOADS:-off}" \
    "$DL_NS_C" "$DL_NS_G" "$DL_NS_S" \
    203.0.113.53/32 198.51.100.10/32 198.51.100.20/32 203.0.113.77/32 203.0.113.88/32 \
    2001:db8:53::53/128 2001:db8:100::10/128 2001:db8:100::20/128 || return 1
  mkdir -p "/etc/netns/$DL_NS_C"
  echo "nameserver 203.0.113.53" >"/etc/netns/$DL_NS_C/resolv.conf"
}

# The servers are the lab library's (scripts/lab serve daemon-lab,
# scripts/flightwall_lab/daemon_lab_servers.py, configs rendered from
# scripts/lab.d/daemon-lab-*.conf.in): it issues the CA ($DL_CA) and
# certificates, writes www/tiles, starts dnsmasq and nginx in the server
# namespace and returns once they answer. Pids in $DL_DIR/pids, logs in
# $DL_DIR/logs; dl_down stops them.
_dl_start_servers() {
  local bulk=()
  [[ -n "${DL_BULK_MB:-}" ]] && bulk=(--bulk-mb "$DL_BULK_MB")
  FW_LAB_PREFIX="$DL_PREFIX" "$DL_SRC/scripts/lab" serve daemon-lab "${bulk[@]}" "$DL_DIR" "$DL_NS_S"
}

# dl_up: builds the namespaces and starts the servers; returns 1 on failure.
dl_up() {
  _dl_make_namespaces routed || return 1
  _dl_start_servers || return 1
  # The path works without any firewall (so later failures are the daemon's).
  dl_fetch a.tiles.mapbox.com >/dev/null || { dl_log "baseline fetch failed"; return 1; }
}

# dl_test_up NAME [PREFIX]: a daemon test's lab. Exits 77 (SKIP) when NAME
# cannot run here (dl_check_requirements, unless it already passed), else
# dl_init PREFIX and dl_up; when the lab does not come up, prints dl_up's
# log, a FAIL line and "0 passed, 1 failed" and exits 1.
dl_test_up() {
  local name="$1"
  if [[ "${DL_REQUIREMENTS_MET:-}" != "$name" ]]; then
    dl_check_requirements "$name" || exit 77
  fi
  dl_init "${2:-}"
  if ! dl_up 2>"$DL_DIR/up.log"; then
    cat "$DL_DIR/up.log"
    echo "FAIL: build the namespaces and servers"
    echo "0 passed, 1 failed"
    exit 1
  fi
}

# dl_write_policy FILE MODE [EXTRA_HOSTS_RULES] [NAME] [TILE_HOSTS]: the lab
# policy's shape (the lab's flight app, resolver and map-tile allow rules)
# with MODE (enforce or lockdown); EXTRA is YAML appended to the allow list,
# TILE_HOSTS the map-tile rule's flow-style host list (default: api and
# *.tiles of mapbox.com). Catalog includes are absolute, as the file lives
# outside the source tree.
dl_write_policy() {
  local file="$1" mode="$2" extra="${3:-}" name="${4:-daemon-lab}"
  local tiles="${5:-api.mapbox.com, \"*.tiles.mapbox.com\"}"
  cat >"$file" <<EOF
version: 1
name: $name
mode: $mode
flight_apps:
  - name: tablet
    interfaces: [lan0]
    sources: [192.0.2.0/24, "2001:db8:1::/64"]
dns:
  resolvers: [203.0.113.53, "2001:db8:53::53"]
allow:
  - name: mapbox-tiles
    hosts: [$tiles]
    ports: [443]
$extra
catalog:
  - include: $DL_SRC/rules/catalog/dji.yaml
  - include: $DL_SRC/rules/catalog/analytics.yaml
EOF
}

# YAML for dl_write_policy's EXTRA: the lab's openstreetmap rule.
# shellcheck disable=SC2034  # used by the sourcing scripts
DL_OSM_RULE='  - name: openstreetmap-tiles
    hosts: [tile.openstreetmap.org]
    ports: [443]'

# dl_write_config FILE POLICY ON_FAILURE [INSPECT] [QUEUE] [EXTRA]: EXTRA is
# YAML appended as is (e.g. a `limits:` section).
dl_write_config() {
  local file="$1" policy="$2" on_failure="$3" inspect="${4:-decisions}" queue="${5:-0}"
  local extra="${6:-}"
  # Each lab daemon answers `flightwall status` on its own socket, never on
  # the machine's /run/flightwall/control.sock.
  local control="control:
  socket: $DL_DIR/control.sock"
  [[ "$extra" == *"control:"* ]] && control=""
  cat >"$file" <<EOF
policy: $policy
intercept:
  mode: forward
  queue: $queue
  backend: iptables
  on_failure: $on_failure
  inspect: $inspect
dns:
  refuse_with: refused
  state_file: $DL_DIR/names.bin
events:
  path: $DL_DIR/events.jsonl
metrics:
  listen: 127.0.0.1:9714
$control
$extra
EOF
}

# dl_write_output_config FILE POLICY ON_FAILURE [INSPECT] [QUEUE] [EXTRA]: as
# dl_write_config, in output mode: the flight apps run on the gateway itself
# (see dl_gateway_resolver) and are selected by uid and cgroup.
dl_write_output_config() {
  dl_write_config "$@"
  sed -i 's/^  mode: forward$/  mode: output/' "$1"
}

# dl_gateway_resolver: the gateway's own processes resolve through the lab's
# dnsmasq, so in output mode their DNS crosses the daemon as the tablet's does.
dl_gateway_resolver() {
  mkdir -p "/etc/netns/$DL_NS_G"
  echo "nameserver 203.0.113.53" >"/etc/netns/$DL_NS_G/resolv.conf"
}

# dl_start_daemon CONFIG [LOGNAME]: runs `flightwall run` in the gateway and
# returns once it printed READY (at most 20 s). DL_DAEMON_PID is the daemon
# itself (ip netns exec execs it), DL_DAEMON_LOG its stderr.
dl_start_daemon() {
  local cfg="$1" name="${2:-daemon}" i
  DL_DAEMON_LOG="$DL_DIR/logs/$name.stderr"
  DL_DAEMON_OUT="$DL_DIR/logs/$name.stdout"
  : >"$DL_DAEMON_OUT"
  ip netns exec "$DL_NS_G" "$FLIGHTWALL" run --config "$cfg" \
    </dev/null >"$DL_DAEMON_OUT" 2>>"$DL_DAEMON_LOG" &
  DL_DAEMON_PID=$!
  for ((i = 0; i < 200; i++)); do
    if grep -qx READY "$DL_DAEMON_OUT"; then return 0; fi
    if ! kill -0 "$DL_DAEMON_PID" 2>/dev/null; then
      wait "$DL_DAEMON_PID" 2>/dev/null
      dl_log "flightwall run exited before READY: $(tail -n 5 "$DL_DAEMON_LOG")"
      DL_DAEMON_PID=""
      return 1
    fi
    sleep 0.1
  done
  dl_log "flightwall run not READY after 20 s: $(tail -n 5 "$DL_DAEMON_LOG")"
  return 1
}

# dl_stop_daemon [SIGNAL]: signals the daemon and waits (10 s) for it to exit;
# DL_DAEMON_RC is its exit code.
dl_stop_daemon() {
  local sig="${1:-TERM}" i
  DL_DAEMON_RC=""
  [[ -n "$DL_DAEMON_PID" ]] || return 0
  kill -"$sig" "$DL_DAEMON_PID" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$DL_DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$DL_DAEMON_PID" 2>/dev/null; then
    dl_log "daemon $DL_DAEMON_PID ignored SIG$sig for 10 s; killing it"
    kill -KILL "$DL_DAEMON_PID" 2>/dev/null
  fi
  wait "$DL_DAEMON_PID" 2>/dev/null
  # shellcheck disable=SC2034  # read by the sourcing scripts
  DL_DAEMON_RC=$?
  DL_DAEMON_PID=""
  return 0
}

# dl_fetch HOST [PATH] [CURL_ARGS...]: HTTPS GET from the client (DNS through
# the gateway); prints the HTTP code ("000" when no connection).
dl_fetch() {
  local host="$1" path="${2:-/v4/mapbox.satellite/1/0/0.png}"
  shift 2 2>/dev/null || shift $#
  dl_c curl -s -o /dev/null --max-time "${DL_CURL_TIMEOUT:-4}" --cacert "$DL_CA" \
    -w '%{http_code}' "$@" "https://$host$path"
}

# dl_fetch_ok HOST [PATH] [ARGS]: true when the fetch answered 200.
dl_fetch_ok() { [[ "$(dl_fetch "$@")" == 200 ]]; }

# dl_metric NAME_WITH_LABELS: the value of one metric line from the daemon's
# metrics endpoint in the gateway ("" when absent), e.g.
# dl_metric 'flightwall_policy_reloads_total{result="failure"}'.
dl_metric() {
  dl_g curl -s --max-time 2 http://127.0.0.1:9714/metrics |
    awk -v m="$1" '$1 == m { print $2; exit }'
}

# dl_capture_start NS IFACE FILE [FILTER...]: tcpdump until dl_capture_stop
# (scripts/lab capture, scripts/flightwall_lab/witness.py); returns once it
# captures and sets DL_CAPTURE_PID. Its stderr is FILE.log.
dl_capture_start() {
  DL_CAPTURE_PID=$(FW_LAB_PREFIX="${DL_PREFIX:-}" "$DL_SRC/scripts/lab" capture start "$@") || return 1
  DL_CAPTURE_PIDS+=("$DL_CAPTURE_PID")
  DL_CAPTURE_FILES[$DL_CAPTURE_PID]="$3"
}

# dl_witness server|client FILE [FILTER...]: dl_capture_start in the server's
# or the client's namespace (eth0); a test without its witness cannot judge
# anything, so on failure it prints a FAIL line and exits 1.
dl_witness() {
  local side="$1" ns="$DL_NS_S"
  shift
  [[ "$side" == client ]] && ns="$DL_NS_C"
  dl_capture_start "$ns" eth0 "$@" || {
    echo "FAIL: tcpdump on the $side side"
    exit 1
  }
}

# dl_capture_stop PID: stops the capture and waits until its file is
# complete; returns 1 (and says why) if tcpdump dropped packets or did not
# exit cleanly, so a witness that missed packets is never read as clean.
dl_capture_stop() {
  FW_LAB_PREFIX="${DL_PREFIX:-}" "$DL_SRC/scripts/lab" capture stop "$1" "${DL_CAPTURE_FILES[$1]:-}" >/dev/null
}

# dl_count FILE FILTER: packets of a capture matching a BPF filter.
dl_count() { tcpdump -r "$1" -n "$2" 2>/dev/null | wc -l; }

# BPF: IPv4/IPv6 TCP segments that carry payload, or any UDP.
# shellcheck disable=SC2034  # used by the sourcing scripts
DL_TCP_PAYLOAD='((ip and tcp and (ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2)) > 0) or (ip6 and tcp and (ip6[4:2] - ((ip6[40+12]&0xf0)>>2)) > 0))'

# dl_rules_present: the daemon's chains exist in the gateway's mangle table.
# grep -c reads all of its input: with grep -q the writer could die of
# SIGPIPE and, under pipefail, a present rule would read as absent.
dl_rules_present() { dl_g iptables-save -t mangle 2>/dev/null | grep -c '^:FLIGHTWALL_APP ' >/dev/null; }
dl_rules_jump_present() {
  dl_g iptables-save -t mangle 2>/dev/null | grep -c -- '-A FORWARD -j FLIGHTWALL$' >/dev/null
}

_dl_alive() {
  local s
  s=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n "$s" && "$s" != Z && "$s" != X ]]
}

# dl_down: stops every process in the namespaces, deletes them, /etc/netns
# entries and the work dir (kept with DL_KEEP=1 for debugging).
dl_down() {
  local rc=$? p ns pids=() i
  for p in "${DL_CAPTURE_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  [[ -n "${DL_DAEMON_PID:-}" ]] && kill -TERM "$DL_DAEMON_PID" 2>/dev/null
  for ns in "$DL_NS_C" "$DL_NS_G" "$DL_NS_S"; do
    [[ -e "/run/netns/$ns" ]] && mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
  done
  for p in "$DL_DIR"/pids/*.pid; do
    [[ -s "$p" ]] && pids+=("$(tr -dc '0-9' <"$p")")
  done
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null
  for ((i = 0; i < 30; i++)); do
    local alive=0
    for p in "${pids[@]}" ${DL_DAEMON_PID:-}; do _dl_alive "$p" && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}" ${DL_DAEMON_PID:-}; do _dl_alive "$p" && kill -KILL "$p" 2>/dev/null; done
  for p in "${DL_CAPTURE_PIDS[@]}" ${DL_DAEMON_PID:-}; do wait "$p" 2>/dev/null; done
  for ns in "$DL_NS_C" "$DL_NS_G" "$DL_NS_S"; do
    [[ -e "/run/netns/$ns" ]] && ip netns del "$ns" 2>/dev/null
  done
  rm -f "/etc/netns/$DL_NS_C/resolv.conf" "/etc/netns/$DL_NS_G/resolv.conf"
  rmdir "/etc/netns/$DL_NS_C" "/etc/netns/$DL_NS_G" 2>/dev/null
  rmdir /etc/netns 2>/dev/null
  if [[ "$DL_KEEP" == 1 ]]; then
    dl_log "kept $DL_DIR"
  else
    rm -rf -- "$DL_DIR"
  fi
  return "$rc"
}

# Test bookkeeping shared by the daemon tests: check, equals, PASSED, FAILED.
# shellcheck source=tests/integration/lib/check.sh
source "$DL_SRC/tests/integration/lib/check.sh"
dl_not() { ! "$@"; }
dl_summary() { summary; }

# dl_finish: how every daemon test ends: checks that the root namespace's
# mangle tables and queue bindings are as before, shows the daemons' last
# stderr lines when a check failed, prints the summary (its exit status).
dl_finish() {
  check "root namespace: mangle tables and queue bindings unchanged" dl_root_unchanged
  if ((FAILED)); then
    echo "--- daemon stderr (last lines) ---"
    tail -n 20 "$DL_DIR"/logs/*.stderr 2>/dev/null
  fi
  summary
}
