# shellcheck shell=bash
# The daemon's own ruleset without its queue, for the benchmarks that measure
# what the rules cost the kernel (scripts/bench's (a') row, bench/rules_cost.sh).
# Sourced; no side effects.

# The connmark the daemon's verdict gives a decided-allowed connection
# (kConnmarkGoverned | kConnmarkAllowed over the governed and verdict bits,
# daemon/firewall/rule_backend.h).
# shellcheck disable=SC2034  # used by the sourcing scripts
BENCH_DECIDED_MARK="0x50000000/0x74000000"

# rules_without_queue FILE [decided]: FILE (iptables-save output of a running
# daemon) with every NFQUEUE jump turned into ACCEPT, so no packet leaves the
# kernel; with "decided", behind one rule that marks every connection
# decided-allowed as the daemon's verdict would, so that packets take the fast
# path a decided connection takes. Prints the ruleset for *tables-restore.
rules_without_queue() {
  local mark=()
  [[ "${2:-}" == decided ]] &&
    mark=(-e "s|^-A FORWARD -j FLIGHTWALL\$|-A FORWARD -j CONNMARK --set-xmark $BENCH_DECIDED_MARK\\n&|")
  sed -E -e 's/-j NFQUEUE.*$/-j ACCEPT/' "${mark[@]}" "$1"
}
