#!/usr/bin/env python3
"""Run the end-to-end suites (tests/e2e/test_*.py) against a devmail binary.

Usage: run.py BINARY [LABEL] [PATTERN]
Each test starts the real binary on free loopback ports (see harness.py)
and drives it with real clients. Prints the ten slowest test files, then
"LABEL: N passed, N failed" as the last line.
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class TimedResult(unittest.TextTestResult):
    """Wall time per test file, set-up and tear-down of its classes included."""

    files = {}
    _mark = None

    def _charge(self, test):
        now = time.monotonic()
        if TimedResult._mark is not None:
            name = type(test).__module__
            TimedResult.files[name] = TimedResult.files.get(name, 0.0) + now - TimedResult._mark
        TimedResult._mark = now

    def startTest(self, test):
        # the time since the last test ended (a class tear-down and the
        # next set-up) goes to this one
        self._charge(test)
        super().startTest(test)

    def stopTest(self, test):
        self._charge(test)
        super().stopTest(test)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    os.environ["DEVMAIL_BIN"] = os.path.abspath(sys.argv[1])
    label = sys.argv[2] if len(sys.argv) > 2 else "e2e"
    pattern = sys.argv[3] if len(sys.argv) > 3 else "test_*.py"
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    TimedResult._mark = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=TimedResult).run(suite)
    slow = sorted(TimedResult.files.items(), key=lambda kv: -kv[1])[:10]
    if slow:
        print("slowest files: " + ", ".join(f"{name} {secs:.0f}s" for name, secs in slow))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
