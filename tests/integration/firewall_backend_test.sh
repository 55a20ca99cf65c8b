#!/usr/bin/env bash
# The firewall rule backends, installed for real inside a network namespace
# this test creates (never the root namespace): the rules iptables and
# ip6tables list are exactly the planned ones, in front of the operator's
# own rules; installing twice is idempotent; switching modes leaves no stray
# jump; removing restores the namespace's ruleset byte for byte (diff of
# iptables-save/ip6tables-save/nft list ruleset); a failing install changes
# nothing; the nftables backend reports this kernel's missing queue
# expression. Traffic through NFQUEUE is another test's subject.
# Exit 77 (skip) without root, tools or the firewall_probe driver.
set -uo pipefail

if [[ $EUID -ne 0 ]]; then
  echo "SKIP: firewall_backend_test needs root (network namespaces)"
  exit 77
fi
for t in ip iptables ip6tables iptables-save ip6tables-save iptables-restore ip6tables-restore nft; do
  if ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: firewall_backend_test needs '$t'"
    exit 77
  fi
done
PROBE="${FIREWALL_PROBE:-}"
if [[ -z "$PROBE" && -n "${FLIGHTWALL:-}" ]]; then
  build=$(dirname "$(dirname "$FLIGHTWALL")")
  for candidate in "$(dirname "$FLIGHTWALL")/firewall_probe" "$build/tests/firewall_probe" \
    "$build/tests/integration/firewall_probe" "$build/firewall_probe"; do
    if [[ -x "$candidate" ]]; then
      PROBE="$candidate"
      break
    fi
  done
fi
if [[ -z "$PROBE" || ! -x "$PROBE" ]]; then
  echo "SKIP: firewall_backend_test needs the firewall_probe driver (set FIREWALL_PROBE)"
  exit 77
fi

NS="fwfw$$"
WORK=$(mktemp -d)
if ! ip netns add "$NS" 2>/dev/null; then
  rm -rf "$WORK"
  echo "SKIP: cannot create network namespaces here"
  exit 77
fi
cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source-path=SCRIPTDIR source=lib/check.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/check.sh"
same_file() { # same_file EXPECTED ACTUAL: equal, or show the diff
  diff -u "$1" "$2" >&2
}
in_ns() { ip netns exec "$NS" "$@"; }
probe() { in_ns "$PROBE" "$@"; }

# Rulesets without the timestamp comments, one file per tool.
snapshot() { # snapshot NAME
  in_ns iptables-save | grep -v '^#' >"$WORK/$1.v4"
  in_ns ip6tables-save | grep -v '^#' >"$WORK/$1.v6"
  in_ns nft list ruleset >"$WORK/$1.nft" 2>/dev/null
}
same_snapshot() { # same_snapshot A B
  same_file "$WORK/$1.v4" "$WORK/$2.v4" && same_file "$WORK/$1.v6" "$WORK/$2.v6" &&
    same_file "$WORK/$1.nft" "$WORK/$2.nft"
}
# What `iptables -t mangle -S` lists of our chains and jumps, against the plan.
listing_matches() { # listing_matches v4|v6 PROBE-ARGS...
  local family="$1" tool=iptables
  shift
  [[ $family == v6 ]] && tool=ip6tables
  in_ns "$tool" -t mangle -S | grep -E 'FLIGHTWALL' >"$WORK/listing.actual"
  probe "$@" --expect-listing "$family" >"$WORK/listing.expected"
  [[ -s "$WORK/listing.expected" ]] && same_file "$WORK/listing.expected" "$WORK/listing.actual"
}
first_rule_is() { # first_rule_is v4|v6 CHAIN RULE: our jump precedes the operator's rules
  local tool=iptables
  [[ $1 == v6 ]] && tool=ip6tables
  [[ "$(in_ns "$tool" -t mangle -S "$2" | sed -n 2p)" == "$3" ]]
}
warns() { # warns TEXT PROBE-ARGS...: the plan's warnings include TEXT
  local text="$1"
  shift
  probe "$@" --warnings | grep -qF -- "$text"
}
prints_line() { # prints_line LINE PROBE-ARGS...: --print shows LINE
  local line="$1"
  shift
  # grep -c reads everything: -q would stop at the match and, under
  # pipefail, fail the pipeline with the writer's SIGPIPE.
  probe "$@" --print | grep -cxF -- "$line" >/dev/null
}
mangle_lists() { # mangle_lists v4|v6 CHAIN: the chain's rules, one a line
  local tool=iptables
  [[ $1 == v6 ]] && tool=ip6tables
  in_ns "$tool" -t mangle -S "$2"
}
filter_untouched() {
  diff <(sed -n '/^\*filter/,/^COMMIT/p' "$WORK/before.v4") \
    <(in_ns iptables-save -t filter | grep -v '^#') >&2
}
install_fails() { # install_fails ERRFILE PROBE-ARGS...
  local err="$1"
  shift
  ! probe "$@" --install 2>"$err"
}
root_flightwall_rules() {
  { iptables-save; ip6tables-save; } 2>/dev/null | grep -c -i flightwall
}

ROOT_BEFORE=$(root_flightwall_rules)

cat >"$WORK/policy.yaml" <<'YAML'
version: 1
name: firewall-backend-test
mode: enforce
flight_apps:
  - name: tablet
    interfaces: [lan0, "wlan+"]
    sources: [192.0.2.0/24, 198.51.100.7, "2001:db8:1::/64"]
  - name: local-app
    users: [nobody, "4242", flightwall-no-such-user]
    cgroups: ["/"]
dns:
  resolvers: [203.0.113.53, "2001:db8:53::53"]
  ports: [53, 5353]
allow:
  - name: tiles
    hosts: [tile.openstreetmap.org]
    ports: [443]
YAML
sed 's|cgroups: \["/"\]|cgroups: ["/", "/flightwall-no-such-cgroup.slice"]|' \
  "$WORK/policy.yaml" >"$WORK/bad-cgroup.yaml"
POLICY=(--policy "$WORK/policy.yaml")

# The operator's own rules, which ours must precede and leave alone.
for tool in iptables ip6tables; do
  in_ns "$tool" -t mangle -A FORWARD -p tcp --dport 9 -j RETURN
  in_ns "$tool" -t mangle -A OUTPUT -p udp --dport 9 -j RETURN
  in_ns "$tool" -t mangle -A INPUT -p udp --dport 9 -j RETURN
  in_ns "$tool" -t filter -A FORWARD -p tcp --dport 9 -j DROP
done
snapshot before

# --- forward mode ---------------------------------------------------------
check "forward: warns that the output-mode app selects nothing" \
  warns "flight app 'local-app' has no interfaces or sources; in forward mode it selects no traffic" \
  "${POLICY[@]}" --mode forward
check "forward: install" probe "${POLICY[@]}" --mode forward --install
check "forward: iptables lists exactly the planned rules" listing_matches v4 "${POLICY[@]}" --mode forward
check "forward: ip6tables lists exactly the planned rules" listing_matches v6 "${POLICY[@]}" --mode forward
check "forward: IPv6 rules hold no IPv4 source" [ "$(mangle_lists v6 FLIGHTWALL | grep -c 192.0.2)" = 0 ]
check "forward: our jump comes before the operator's FORWARD rule (v4)" \
  first_rule_is v4 FORWARD "-A FORWARD -j FLIGHTWALL"
check "forward: our jump comes before the operator's FORWARD rule (v6)" \
  first_rule_is v6 FORWARD "-A FORWARD -j FLIGHTWALL"
check "forward: the filter table is untouched" filter_untouched
snapshot forward1
check "forward: installing again changes nothing" probe "${POLICY[@]}" --mode forward --install
snapshot forward2
check "forward: second install is identical to the first" same_snapshot forward1 forward2
check "forward: remove" probe --remove
snapshot removed
check "forward: remove restores the ruleset exactly" same_snapshot before removed
check "forward: removing again succeeds and changes nothing" probe --remove
snapshot removed2
check "forward: second remove is a no-op" same_snapshot before removed2

# --- output mode, queue range, fail-open; then a mode switch ---------------
OUT=("${POLICY[@]}" --mode output --queue 2-5 --fail-open)
check "output: warns about the unknown user" \
  warns "user 'flightwall-no-such-user' does not exist; skipped" "${OUT[@]}"
check "output: install" probe "${OUT[@]}" --install
check "output: iptables lists exactly the planned rules" listing_matches v4 "${OUT[@]}"
check "output: ip6tables lists exactly the planned rules" listing_matches v6 "${OUT[@]}"
check "output: users resolved to uids (nobody, 4242)" \
  [ "$(mangle_lists v4 FLIGHTWALL | grep -c -e '--uid-owner 65534 -j' -e '--uid-owner 4242 -j')" = 4 ]
check "output: each uid names local-app (the second app) on the connection" \
  [ "$(mangle_lists v4 FLIGHTWALL | grep -c -e '--uid-owner [0-9]* -j CONNMARK --set-xmark 0x20000/0xff0000')" = 2 ]
check "output: balanced queues with bypass" grep -qxF -- \
  "-A FLIGHTWALL_APP -j NFQUEUE --queue-balance 2:5 --queue-bypass" <(mangle_lists v4 FLIGHTWALL_APP)
check "output: OUTPUT jump first" first_rule_is v4 OUTPUT "-A OUTPUT -j FLIGHTWALL"
check "output: INPUT jump skips loopback" first_rule_is v6 INPUT \
  "-A INPUT ! -i lo -m connmark --mark 0x40000000/0x40000000 -j FLIGHTWALL_APP"
check "switch to forward mode (every-packet) in place" \
  probe "${POLICY[@]}" --mode forward --every-packet --install
check "switch: only the forward rules are listed (v4)" \
  listing_matches v4 "${POLICY[@]}" --mode forward --every-packet
check "switch: only the forward rules are listed (v6)" \
  listing_matches v6 "${POLICY[@]}" --mode forward --every-packet
check "every-packet: no connmark ACCEPT" \
  [ "$(mangle_lists v4 FLIGHTWALL_APP | grep -c -e '-m connmark --mark 0x10000000/0x30000000 -j ACCEPT')" = 0 ]
check "switch: remove" probe --remove
snapshot removed3
check "switch: remove restores the ruleset exactly" same_snapshot before removed3

# --- a failing install changes nothing --------------------------------------
check "a missing cgroup fails the install" \
  install_fails "$WORK/bad.err" --policy "$WORK/bad-cgroup.yaml" --mode output
check "the error names the tool and quotes the rule" \
  grep -q 'iptables-restore --noflush: exit .*flightwall-no-such-cgroup.slice' "$WORK/bad.err"
snapshot failed
check "the failed install left the ruleset as it was" same_snapshot before failed

# --- none backend -------------------------------------------------------------
check "none: install is a no-op that succeeds" probe "${POLICY[@]}" --backend none --install
check "none: print shows the iptables rules" \
  prints_line "-A FLIGHTWALL -s 192.0.2.0/24 -j FLIGHTWALL_APP" "${POLICY[@]}" --backend none
snapshot none
check "none: the ruleset is unchanged" same_snapshot before none

# --- nftables -----------------------------------------------------------------
check "iptables backend is available" probe --available >/dev/null
in_ns "$PROBE" --backend nftables --available >"$WORK/nft.out"
nft_rc=$?
snapshot nftprobe
check "nftables probe leaves the ruleset unchanged" same_snapshot before nftprobe
# Independent witness: can this kernel load a queue statement at all?
if printf 'table inet fwwitness {\n\tchain c {\n\t\tqueue to 0\n\t}\n}\n' | in_ns nft -c -f - 2>/dev/null; then
  check "nftables backend available where the kernel has nft_queue" [ "$nft_rc" -eq 0 ]
  check "nftables: install" probe "${POLICY[@]}" --backend nftables --install
  check "nftables: table present" in_ns nft list table inet flightwall
  check "nftables: install twice" probe "${POLICY[@]}" --backend nftables --install
  check "nftables: remove" probe --backend nftables --remove
  snapshot nftremoved
  check "nftables: remove restores the ruleset exactly" same_snapshot before nftremoved
else
  check "nftables backend reports the missing queue expression" [ "$nft_rc" -eq 1 ]
  check "nftables message says what is missing and what to do" \
    grep -q "this kernel lacks nftables' queue expression (nft_queue); use backend: iptables" "$WORK/nft.out"
  check "nftables: remove with nothing installed succeeds" probe --backend nftables --remove
  snapshot nftremoved
  check "nftables: that remove left the ruleset unchanged" same_snapshot before nftremoved
fi

check "the root namespace gained no flightwall rule" [ "$(root_flightwall_rules)" = "$ROOT_BEFORE" ]

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
