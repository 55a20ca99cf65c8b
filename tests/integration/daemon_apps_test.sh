#!/usr/bin/env bash
# Two flight apps on one box (`intercept: mode: output`), told apart.
#
# The apps run in the gateway namespace itself, where `flightwall run`
# enforces the policy: app "pilot" is uid 4101 or cgroup .../pilot, app
# "fly" is user `nobody` (a name the daemon resolves) or cgroup .../fly.
# Allow rules are global, so the apps are told apart by what the daemon
# records: every event names the app whose process made the traffic. The
# cgroup clients run as root, whose uid selects nothing: only the app mark
# the kernel rules set (NFQUEUE reports no cgroup) can name their app. fly
# is the second app on purpose: traffic the daemon cannot attribute counts
# as the first app's.
#
# For each of the four clients (uid pilot, uid fly, cgroup pilot, cgroup
# fly) one allowed fetch or a denied name, and one upload to a hard-coded IP,
# each from its own source port. Witnesses:
#   - tcpdump on the server side: the allowed TLS reached the tile server,
#     no upload byte reached 203.0.113.77 from a flight app, while the same
#     upload from a process of neither app (root, root cgroup) did;
#   - dnsmasq's log: the denied names never reached the resolver;
#   - the installed rules mark each app's connections with its own bits;
#   - the daemon's event log: each flow and DNS question names the right app.
#
# Safety: rules and NFQUEUE only inside the lab's namespaces; two cgroups
# under a directory this test creates in the cgroup v2 hierarchy and removes;
# documentation addresses only; every wait bounded. Exit 77 (skip) without
# root, a tool, or a writable cgroup v2 hierarchy.
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

# shellcheck source=lib/daemon_lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_lab.sh"
dl_check_requirements daemon_apps_test || exit 77
for t in setpriv jq; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: daemon_apps_test needs '$t' (run scripts/setup)"
    exit 77
  fi
done

# --- the test's cgroups -----------------------------------------------------
# The cgroup v2 mount and the path of its root in the hierarchy (field 4 of
# mountinfo: "/" unless mounted inside a cgroup namespace's subtree).
read -r CG_MOUNT CG_MOUNT_ROOT < <(awk '{
    for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5, $4; break }
  }' /proc/self/mountinfo | head -n 1)
if [[ -z "${CG_MOUNT:-}" ]]; then
  echo "SKIP: daemon_apps_test needs a cgroup v2 hierarchy (none is mounted)"
  exit 77
fi
CG_NAME="flightwall-apps-$$"
CG_DIR="$CG_MOUNT/$CG_NAME"
CG_PATH="${CG_MOUNT_ROOT%/}/$CG_NAME"  # as the kernel rules name it
cg_cleanup() {
  local d i
  for d in "$CG_DIR/pilot" "$CG_DIR/fly" "$CG_DIR"; do
    # A cgroup whose last process just exited may be busy for a moment.
    for ((i = 0; i < 20; i++)); do
      [[ -d "$d" ]] || break
      rmdir "$d" 2>/dev/null && break
      sleep 0.1
    done
    [[ -d "$d" ]] && echo "daemon_apps_test: could not remove cgroup $d" >&2
  done
  return 0
}
# cg_run DIR CMD...: runs CMD in the gateway namespace from inside cgroup DIR.
cg_run() {
  local dir="$1"
  shift
  bash -c 'echo $$ >"$1/cgroup.procs" || exit 125; shift; exec ip netns exec "$@"' \
    _ "$dir" "$DL_NS_G" "$@"
}
if ! mkdir "$CG_DIR" 2>/dev/null; then
  echo "SKIP: daemon_apps_test: cgroup v2 at $CG_MOUNT is not writable here"
  exit 77
fi
mkdir "$CG_DIR/pilot" "$CG_DIR/fly" 2>/dev/null
if ! bash -c 'echo $$ >"$1/cgroup.procs"' _ "$CG_DIR/pilot" 2>/dev/null; then
  cg_cleanup
  echo "SKIP: daemon_apps_test: cannot move a process into a cgroup under $CG_DIR"
  exit 77
fi

dl_init "fwa$$"
trap 'dl_down; cg_cleanup' EXIT
if ! dl_up 2>"$DL_DIR/up.log"; then
  cat "$DL_DIR/up.log"
  echo "FAIL: build the namespaces and servers"
  echo "0 passed, 1 failed"
  exit 1
fi
dl_gateway_resolver

PILOT_UID=4101
FLY_UID=65534 # nobody
POLICY="$DL_DIR/policy.yaml"
CONFIG="$DL_DIR/config.yaml"
cat >"$POLICY" <<EOF
version: 1
name: two-apps
mode: enforce
flight_apps:
  - name: pilot
    users: ["$PILOT_UID"]
    cgroups: ["$CG_PATH/pilot"]
  - name: fly
    users: [nobody]
    cgroups: ["$CG_PATH/fly"]
dns:
  resolvers: [203.0.113.53]
allow:
  - name: mapbox-tiles
    hosts: [api.mapbox.com]
    ports: [443]
EOF
dl_write_output_config "$CONFIG" "$POLICY" closed
EVENTS="$DL_DIR/events.jsonl"
TILE=/v4/mapbox.satellite/1/0/0.png

# --- the clients ----------------------------------------------------------------
# as_uid UID CMD... / in_cg APP CMD... / as_other CMD...: a command in the
# gateway as a user of an app, in an app's cgroup (as root), or as neither.
as_uid() {
  local uid="$1"
  shift
  dl_g setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}
in_cg() {
  local app="$1"
  shift
  cg_run "$CG_DIR/$app" "$@"
}
as_other() { dl_g "$@"; }
# The requests, each from a source port that names the case in the event log.
fetch() { # fetch PORT HOST: HTTPS GET over IPv4; prints the HTTP code
  curl -4 -s -o /dev/null --max-time 4 --cacert "$DL_CA" --local-port "$1" \
    -w '%{http_code}' "https://$2$TILE"
}
upload() { # upload PORT: a POST to the hard-coded address; prints the HTTP code
  curl -4 -s -o /dev/null --max-time 4 --local-port "$1" -w '%{http_code}' \
    --data "serial=1ZNBJ7A00C0001 lat=46.51234 lon=6.63201" http://203.0.113.77:8443/upload
}
# The clients run them through setpriv and `ip netns exec`, which keep the
# environment.
export -f fetch upload
export DL_CA TILE
code() { "$@" 2>/dev/null || true; } # the HTTP code, whatever curl's status
not_ok() { [[ "$1" != 200 ]]; }

# --- run ------------------------------------------------------------------------
dl_witness server "$DL_DIR/server.pcap" host 198.51.100.10 or host 203.0.113.77
SERVER_CAP=$DL_CAPTURE_PID
if ! dl_start_daemon "$CONFIG"; then
  echo "FAIL: flightwall run (output mode, two apps) reaches READY"
  echo "0 passed, 1 failed"
  exit 1
fi

RULES=$(dl_g iptables-save -t mangle)
has_rule() { grep -qxF -- "$1" <<<"$RULES"; }
check "rules: pilot's uid marks its connections as app 1" \
  has_rule "-A FLIGHTWALL -m owner --uid-owner $PILOT_UID -j CONNMARK --set-xmark 0x10000/0xff0000"
check "rules: fly's user (nobody, by name) marks its connections as app 2" \
  has_rule "-A FLIGHTWALL -m owner --uid-owner $FLY_UID -j CONNMARK --set-xmark 0x20000/0xff0000"
check "rules: pilot's cgroup marks its connections as app 1" \
  has_rule "-A FLIGHTWALL -m cgroup --path \"$CG_PATH/pilot\" -j CONNMARK --set-xmark 0x10000/0xff0000"
check "rules: fly's cgroup marks its connections as app 2" \
  has_rule "-A FLIGHTWALL -m cgroup --path \"$CG_PATH/fly\" -j CONNMARK --set-xmark 0x20000/0xff0000"
check "rules: the app is copied to the packet before it is queued" \
  has_rule "-A FLIGHTWALL_APP -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000"

# Each client: one request that may pass (or a denied name), one upload.
check "uid pilot: api.mapbox.com fetched (200)" \
  equals 200 "$(code as_uid "$PILOT_UID" bash -c 'fetch 41001 api.mapbox.com')"
check "uid pilot: upload to a hard-coded IP refused" \
  not_ok "$(code as_uid "$PILOT_UID" bash -c 'upload 41002')"
check "uid fly: denied name flysafe.dji.com not resolved (000)" \
  equals 000 "$(code as_uid "$FLY_UID" bash -c 'fetch 41003 flysafe.dji.com')"
check "uid fly: upload to a hard-coded IP refused" \
  not_ok "$(code as_uid "$FLY_UID" bash -c 'upload 41004')"
check "cgroup pilot: api.mapbox.com fetched (200)" \
  equals 200 "$(code in_cg pilot bash -c 'fetch 41005 api.mapbox.com')"
check "cgroup pilot: upload to a hard-coded IP refused" \
  not_ok "$(code in_cg pilot bash -c 'upload 41006')"
check "cgroup fly: denied name www.skypixel.com not resolved (000)" \
  equals 000 "$(code in_cg fly bash -c 'fetch 41007 www.skypixel.com')"
check "cgroup fly: upload to a hard-coded IP refused" \
  not_ok "$(code in_cg fly bash -c 'upload 41008')"
check "neither app (root, root cgroup): the same upload passes (200)" \
  equals 200 "$(code as_other bash -c 'upload 41009')"

dl_stop_daemon TERM
check "daemon exits 0 on SIGTERM" equals 0 "$DL_DAEMON_RC"
dl_capture_stop "$SERVER_CAP"

# --- witnesses ------------------------------------------------------------------
PCAP="$DL_DIR/server.pcap"
nonzero() { [[ "$1" != 0 ]]; }
payload_from() { # payload_from PORT DST: TCP payload packets the server side saw
  dl_count "$PCAP" "($DL_TCP_PAYLOAD) and src port $1 and dst host $2"
}
for port in 41001 41005; do
  check "server side: the tile request from port $port arrived" \
    nonzero "$(payload_from "$port" 198.51.100.10)"
done
for port in 41002 41004 41006 41008; do
  check "server side: no upload byte from flight-app port $port" \
    equals 0 "$(payload_from "$port" 203.0.113.77)"
done
check "server side: the upload of neither app arrived (selection is by uid/cgroup)" \
  nonzero "$(payload_from 41009 203.0.113.77)"
resolver_saw() { grep -qF "query[A] $1 from 203.0.113.241" "$DL_DIR/logs/dnsmasq.log"; }
check "resolver: asked for api.mapbox.com" resolver_saw api.mapbox.com
check "resolver: never asked for flysafe.dji.com" dl_not resolver_saw flysafe.dji.com
check "resolver: never asked for www.skypixel.com" dl_not resolver_saw www.skypixel.com

flow_app() { # flow_app PORT: the app and verdict the daemon logged for the flow
  jq -r --argjson p "$1" 'select(.event == "flow" and .sport == $p) | "\(.app) \(.verdict)"' \
    "$EVENTS" 2>/dev/null | sort -u | paste -sd, -
}
dns_app() { # dns_app NAME: the app and verdict of the logged questions for NAME
  jq -r --arg n "$1" 'select(.event == "dns" and .hostname == $n) | "\(.app) \(.verdict)"' \
    "$EVENTS" 2>/dev/null | sort -u | paste -sd, -
}
check "events: uid pilot's fetch is pilot's, allowed" equals "pilot allow" "$(flow_app 41001)"
check "events: uid pilot's upload is pilot's, denied" equals "pilot deny" "$(flow_app 41002)"
check "events: uid fly's upload is fly's, denied" equals "fly deny" "$(flow_app 41004)"
check "events: cgroup pilot's fetch is pilot's, allowed" equals "pilot allow" "$(flow_app 41005)"
check "events: cgroup pilot's upload is pilot's, denied" equals "pilot deny" "$(flow_app 41006)"
check "events: cgroup fly's upload is fly's, denied" equals "fly deny" "$(flow_app 41008)"
check "events: uid fly's question for flysafe.dji.com is fly's, denied" \
  equals "fly deny" "$(dns_app flysafe.dji.com)"
check "events: cgroup fly's question for www.skypixel.com is fly's, denied" \
  equals "fly deny" "$(dns_app www.skypixel.com)"
check "events: api.mapbox.com was asked by pilot only" \
  equals "pilot allow" "$(dns_app api.mapbox.com)"
check "events: nothing logged for the process of neither app" equals "" "$(flow_app 41009)"

if ((FAILED)); then
  echo "--- events" && cat "$EVENTS" 2>/dev/null
  echo "--- daemon log" && tail -n 20 "$DL_DAEMON_LOG" 2>/dev/null
fi
dl_root_unchanged >/dev/null || { echo "FAIL: the root namespace's netfilter state changed"; FAILED=$((FAILED + 1)); }
dl_summary
