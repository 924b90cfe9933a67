#!/bin/sh
# Everything `make test` runs, in order; the last line sums all suites.
# Each suite ends with a line "LABEL: N passed, N failed".
out=build/test-summary.txt
mkdir -p build
: > "$out"
status=0
suite() {
    sh -c "$*" > build/suite.log 2>&1
    rc=$?
    cat build/suite.log
    tail -1 build/suite.log >> "$out"
    [ $rc -eq 0 ] || status=1
}
suite sh tests/run_unit.sh build/tests unit
suite sh tests/run_unit.sh build/asan/tests unit-asan
suite sh tests/run_fuzz.sh replay
suite python3 tests/e2e/run.py build/devmail e2e
suite python3 tests/e2e/run.py build/asan/devmail e2e-asan
echo "----"
cat "$out"
awk -v st=$status '
    /: [0-9]+ passed, [0-9]+ failed/ {
        for (i = 1; i <= NF; i++) { if ($i == "passed,") p += $(i-1); if ($i == "failed" || $i == "failed,") f += $(i-1) }
    }
    END { if (st != 0 && f == 0) f = 1; printf "total: %d passed, %d failed\n", p, f }' "$out"
exit $status
