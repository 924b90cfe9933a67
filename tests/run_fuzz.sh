#!/bin/sh
# replay: run every fuzz target over its stored corpus (part of make test).
# fuzz [SECONDS]: fuzz each target for real (make fuzz FUZZ_SECONDS=...).
mode=${1:-replay}
secs=${2:-60}
passed=0
failed=0
for t in build/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t" | sed 's/^fuzz_//')
    corpus=fuzz/corpus/$name
    mkdir -p "$corpus"
    if [ "$mode" = fuzz ]; then
        work=build/fuzz/corpus-$name
        mkdir -p "$work"
        "$t" -max_total_time="$secs" -print_final_stats=1 "$work" "$corpus" || failed=$((failed + 1))
        continue
    fi
    if "$t" -runs=0 "$corpus" > "build/fuzz/$name.log" 2>&1; then
        passed=$((passed + 1))
    else
        cat "build/fuzz/$name.log"
        echo "fuzz: FAILED $name"
        failed=$((failed + 1))
    fi
done
[ "$mode" = fuzz ] && exit "$failed"
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
