#!/usr/bin/env bash
# ctest registers integration tests by the *_test.sh glob: the rules test
# itself is the table of cases in daemon_rules_test.py (Python, driving
# scripts/flightwall_lab). Exit 77 (skip) comes from it.
exec python3 -B "$(dirname "${BASH_SOURCE[0]}")/daemon_rules_test.py" "$@"
