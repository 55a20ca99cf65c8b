"""One PASS/FAIL counter for the lab's tests.

Checks.check(desc, ok) prints "PASS: desc" or "FAIL: desc"; summary() prints
the final "N passed, M failed" line and returns the exit status (0 only when
nothing failed). A check whose probe raises counts as failed, with the
error, so a broken witness can never read as a pass.
"""

import sys


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def record(self, ok: bool, desc: str) -> bool:
        print(("PASS: " if ok else "FAIL: ") + desc, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def check(self, desc: str, probe) -> bool:
        """PROBE is a bool or a callable returning one (or (bool, detail))."""
        detail = ""
        try:
            result = probe() if callable(probe) else probe
        except Exception as err:  # noqa: BLE001 - any failure is a FAIL
            result, detail = False, f" ({type(err).__name__}: {err})"
        if isinstance(result, tuple):
            result, extra = result
            detail = f" {extra}" if extra else ""
        return self.record(bool(result), desc + detail)

    def summary(self) -> int:
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.stdout.flush()
        return 0 if self.failed == 0 else 1
