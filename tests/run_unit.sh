#!/bin/sh
# Run every cmocka unit test binary in DIR; print "LABEL: N passed, N failed".
# Usage: run_unit.sh DIR [LABEL]
dir=$1
label=${2:-unit}
passed=0
failed=0
for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or sanitizer error before cmocka's summary
    fi
    if [ "$f" -ne 0 ]; then
        printf '%s\n' "$out"
        echo "$label: FAILED $(basename "$t")"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$label: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
