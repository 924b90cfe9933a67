#!/usr/bin/env python3
"""Run the end-to-end suites (tests/e2e/test_*.py) against a devmail binary.

Usage: run.py BINARY [LABEL] [PATTERN]
Each test starts the real binary on free loopback ports (see harness.py)
and drives it with real clients. Prints "LABEL: N passed, N failed".
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    os.environ["DEVMAIL_BIN"] = os.path.abspath(sys.argv[1])
    label = sys.argv[2] if len(sys.argv) > 2 else "e2e"
    pattern = sys.argv[3] if len(sys.argv) > 3 else "test_*.py"
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
