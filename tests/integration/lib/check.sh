# Shared by integration scripts: `check DESC CMD...` runs CMD and records a
# PASS or FAIL line; the caller prints "$PASSED passed, $FAILED failed" and
# exits non-zero when FAILED > 0.
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
