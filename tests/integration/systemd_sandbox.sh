#!/usr/bin/env bash
# Runs a command the way systemd would run flightwall.service, as far as
# that can be reproduced without systemd as PID 1 (CI has none):
#
#   systemd_sandbox.sh --unit UNIT [--user NAME] [--rw DIR]... -- CMD [ARG]...
#
# Read from UNIT, so the test exercises the unit's own settings:
#   User=/Group=                  setpriv --reuid/--regid (--user overrides,
#                                 for tests without the packaged user)
#   AmbientCapabilities=, CapabilityBoundingSet=
#                                 inheritable + ambient + bounding sets
#   NoNewPrivileges=yes           --no-new-privs
#   ProtectSystem=strict          / remounted read-only in a private mount
#                                 namespace; ReadWritePaths= (and --rw) stay
#                                 writable
#   StateDirectory=NAME           /var/lib/NAME stays writable when it exists
#                                 (systemd would create it; the .deb does)
#   PrivateTmp=yes                fresh tmpfs on /tmp and /var/tmp
#   ProtectHome=yes               empty read-only tmpfs on /home and /root
#   ProcSubset=pid, ProtectProc=invisible
#                                 /proc remounted subset=pid,hidepid=invisible
#   UMask=                        umask
# Not reproduced: the system call filter, address-family restriction and
# device policy (seccomp/BPF set up by systemd itself).
#
# Needs root and util-linux (unshare, setpriv). Run it inside the network
# namespace under test: ip netns exec NS systemd_sandbox.sh ...
# Work directories given with --rw must not be under /tmp or /var/tmp
# (PrivateTmp hides them); the tests use /run.
# shellcheck disable=SC2016  # the inner script is single-quoted on purpose: it expands its own variables
set -euo pipefail

unit=""
user_override=""
rw=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --unit) unit=$2; shift 2 ;;
    --user) user_override=$2; shift 2 ;;
    --rw) rw+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "systemd_sandbox: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if [[ -z "$unit" || $# -eq 0 ]]; then
  echo "usage: systemd_sandbox.sh --unit UNIT [--user NAME] [--rw DIR]... -- CMD..." >&2
  exit 2
fi

# The last assignment of KEY in [Service] (systemd's rule for most keys;
# ReadWritePaths accumulates, handled below).
directive() {
  awk -v key="$1" '
    /^\[/ { in_service = ($0 == "[Service]") }
    in_service && index($0, key "=") == 1 { value = substr($0, length(key) + 2) }
    END { print value }' "$unit"
}
all_values() {
  awk -v key="$1" '
    /^\[/ { in_service = ($0 == "[Service]") }
    in_service && index($0, key "=") == 1 { print substr($0, length(key) + 2) }' "$unit"
}
# "CAP_NET_ADMIN CAP_NET_RAW" -> "+net_admin,+net_raw"
cap_list() {
  local out="" c
  for c in $1; do
    c=${c#CAP_}
    out+="${out:+,}+${c,,}"
  done
  echo "$out"
}

user=${user_override:-$(directive User)}
user=${user:-root}
group=$(directive Group)
[[ -n "$user_override" || -z "$group" ]] && group=$(id -gn "$user")
ambient=$(cap_list "$(directive AmbientCapabilities)")
bounding=$(cap_list "$(directive CapabilityBoundingSet)")
nnp=$(directive NoNewPrivileges)
protect_system=$(directive ProtectSystem)
private_tmp=$(directive PrivateTmp)
protect_home=$(directive ProtectHome)
proc_subset=$(directive ProcSubset)
protect_proc=$(directive ProtectProc)
umask_value=$(directive UMask)
while read -r line; do
  for p in $line; do
    p=${p#-}
    [[ -d "$p" ]] && rw+=("$p")
  done
done < <(all_values ReadWritePaths)
while read -r line; do
  for p in $line; do
    [[ -d "/var/lib/$p" ]] && rw+=("/var/lib/$p")
  done
done < <(all_values StateDirectory)

setpriv_args=(--reuid "$user" --regid "$group" --init-groups)
setpriv_args+=(--inh-caps "-all${ambient:+,$ambient}")
setpriv_args+=(--ambient-caps "-all${ambient:+,$ambient}")
setpriv_args+=(--bounding-set "-all${bounding:+,$bounding}")
[[ "$nnp" == yes || "$nnp" == true ]] && setpriv_args+=(--no-new-privs)

proc_opts=""
[[ "$proc_subset" == pid ]] && proc_opts="subset=pid"
[[ "$protect_proc" == invisible ]] && proc_opts+="${proc_opts:+,}hidepid=invisible"

export SANDBOX_RW="${rw[*]}" SANDBOX_PROTECT_SYSTEM="$protect_system"
export SANDBOX_PRIVATE_TMP="$private_tmp" SANDBOX_PROTECT_HOME="$protect_home"
export SANDBOX_PROC_OPTS="$proc_opts" SANDBOX_UMASK="${umask_value:-0022}"
exec unshare --mount --propagation private -- bash -euo pipefail -c '
  for d in $SANDBOX_RW; do mount --bind "$d" "$d"; done
  if [[ "$SANDBOX_PROTECT_SYSTEM" == strict ]]; then
    mount -o remount,bind,ro /
    # Where a test lays its throwaway root over them (package_test.sh), these
    # are mounts of their own: read-only too (the --rw binds stay writable).
    for m in /etc /usr /var; do
      if mountpoint -q "$m"; then mount -o remount,bind,ro "$m"; fi
    done
  fi
  if [[ "$SANDBOX_PRIVATE_TMP" == yes ]]; then
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
  fi
  if [[ "$SANDBOX_PROTECT_HOME" == yes ]]; then
    for h in /home /root; do
      [[ -d $h ]] && mount -t tmpfs -o ro,mode=0755 tmpfs "$h"
    done
  fi
  if [[ -n "$SANDBOX_PROC_OPTS" ]]; then
    mount -t proc -o "$SANDBOX_PROC_OPTS" proc /proc
  fi
  umask "$SANDBOX_UMASK"
  exec setpriv "$@"
' sandbox "${setpriv_args[@]}" -- "$@"
