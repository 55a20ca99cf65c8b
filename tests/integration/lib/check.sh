# shellcheck shell=bash
# The one PASS/FAIL bookkeeping of the integration scripts (lib/daemon_lab.sh
# sources it too): `check DESC CMD...` runs CMD and records a PASS or FAIL
# line; `ok DESC` and `bad DESC` record one already judged (`A && ok X ||
# bad Y`: ok never fails); `summary` prints "$PASSED passed, $FAILED failed"
# and returns non-zero when FAILED > 0 (end a test with it).
PASSED=0
FAILED=0

check() { # check DESC CMD...: runs CMD, records pass/fail.
  local desc="$1"
  shift
  if "$@"; then
    echo "PASS: $desc"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL: $desc"
    FAILED=$((FAILED + 1))
  fi
}

ok() {
  echo "PASS: $*"
  PASSED=$((PASSED + 1))
}

bad() {
  echo "FAIL: $*"
  FAILED=$((FAILED + 1))
}

equals() { # equals EXPECTED ACTUAL: true if equal, else says what differs.
  [[ "$1" == "$2" ]] || {
    echo "  expected '$1', got '$2'"
    return 1
  }
}

summary() {
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
}
