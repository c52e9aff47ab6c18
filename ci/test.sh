#!/usr/bin/env bash
# `make test`: installs what is missing, builds, runs every suite, and ends
# with one line "N passed, N failed". Suites: cmocka unit tests (under
# ASan+UBSan), mock-store's libmongoc suite, and the Node suites (mock-store
# with the official driver, integration against real Apache, frontend unit
# tests, browser tests in real Chromium).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOGDIR="$ROOT/build/test-logs"

bash ci/deps.sh || { echo "deps: install failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$LOGDIR"

passed=0; failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

if ! make -s all unit-tests >"$LOGDIR/build.log" 2>&1; then
    cat "$LOGDIR/build.log"
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

# cmocka binaries: each prints "[  PASSED  ] N test(s)." and, on failure,
# "[  FAILED  ] N test(s)". A binary that dies before its summary counts as
# one failure.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for bin in build/unit/test_* build/mock-store/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    log="$LOGDIR/$name.log"
    echo "== $bin"
    "$bin" >"$log" 2>&1
    rc=$?
    n=$(sed -n 's/^\[==========\] Running \([0-9]*\) test.*/\1/p' "$log" | head -1)
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0}; f=${f:-0}
    # Tests that never ran (a failed group setup, a crash mid-suite) fail.
    if [ -n "$n" ] && [ $((p + f)) -lt "$n" ]; then f=$((n - p)); fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    grep -E '^\[  (PASSED|FAILED|  OK  |  ERROR )' "$log" | grep -v '^\[       OK' || true
    if [ "$f" -gt 0 ]; then cat "$log"; fi
    count "$p" "$f"
done

# Node suites, one file at a time (they start their own servers).
mapfile -t node_tests < <(ls tests/mock-store/*.test.mjs tests/frontend/*.test.mjs \
    tests/integration/*.test.mjs tests/browser/*.test.mjs 2>/dev/null)
if [ "${#node_tests[@]}" -gt 0 ]; then
    echo "== node --test (${#node_tests[@]} files)"
    rm -f "$LOGDIR/node.tap"
    node --test --test-concurrency=1 --test-timeout=240000 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$LOGDIR/node.tap" \
        "${node_tests[@]}"
    rc=$?
    tap_count() { sed -n "s/^# $1 \\([0-9]*\\)\$/\\1/p" "$LOGDIR/node.tap" 2>/dev/null | tail -1; }
    p=$(tap_count pass); f=$(tap_count fail)
    c=$(tap_count cancelled); sk=$(tap_count skipped); td=$(tap_count todo)
    p=${p:-0}; f=${f:-0}; c=${c:-0}; sk=${sk:-0}; td=${td:-0}
    # A cancelled, skipped or todo test proves nothing: it is not a pass.
    if [ $((c + sk + td)) -gt 0 ]; then
        echo "node: $c cancelled, $sk skipped, $td todo (counted as failed)"
        f=$((f + c + sk + td))
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    count "$p" "$f"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
