#!/usr/bin/env bash
# ci/fuzz.sh [seconds] [target...]: builds every tests/fuzz/fuzz_*.c as a
# libFuzzer binary (clang, ASan+UBSan, linked with build/fuzz/libsse_pure.a,
# the Makefile's PURE_SRC built by the fuzzer's compiler, and apr, jansson,
# openssl, libmongoc/bson) and runs each for `seconds` (default
# 60), printing the executions and whether it crashed. Exits nonzero if any
# target fails to build or crashes (a leak or a sanitizer report counts).
#
# A target that needs more than the pure module sources names them, paths
# from the repository root, in a comment among its first five lines:
#     // fuzz-sources: mock-store/wire.c mock-store/query.c
# or, better, the Makefile targets of the static libraries it links (built
# here with the fuzzer's compiler; each library's source folder is put on the
# include path):
#     // fuzz-libs: build/fuzz/libmockstore.a:mock-store
# Optional per target, when present: tests/fuzz/seeds/<target>/ (read-only
# seed corpus) and tests/fuzz/<target>.dict (libFuzzer dictionary).
# The growing corpus lives in build/fuzz/corpus/<target>/, crash inputs in
# build/fuzz/artifacts/.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
case "$secs" in ''|*[!0-9]*) echo "usage: ci/fuzz.sh [seconds] [target...]" >&2; exit 2 ;; esac

CC=${FUZZ_CC:-clang}
OUT=build/fuzz
mkdir -p "$OUT/artifacts"

# The module's pure files, as one library built by the Makefile (PURE_SRC
# has its one home there).
if ! make -s --no-print-directory FUZZ_CC="$CC" build/fuzz/libsse_pure.a >"$OUT/libsse_pure.build.log" 2>&1; then
    cat "$OUT/libsse_pure.build.log"
    echo "build/fuzz/libsse_pure.a: BUILD FAILED"
    exit 1
fi
pure_lib=build/fuzz/libsse_pure.a
deps_cflags="$(apr-1-config --includes --cppflags) -I$(apxs -q INCLUDEDIR) $(pkg-config --cflags libmongoc-1.0 jansson openssl)"
deps_libs="$(pkg-config --libs libmongoc-1.0 jansson openssl) -lapr-1"
CFLAGS="-g -O1 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer -Imod_sse"

if [ "$#" -gt 0 ]; then
    targets=()
    for t in "$@"; do targets+=("tests/fuzz/${t%.c}.c"); done
else
    targets=(tests/fuzz/fuzz_*.c)
fi

failed=0
for src in "${targets[@]}"; do
    [ -f "$src" ] || { echo "$src: no such target"; failed=1; continue; }
    name=$(basename "$src" .c)
    extra=$(head -n 5 "$src" \
            | sed -n -E 's#^[[:space:]]*(//|/\*)[[:space:]]*fuzz-sources:[[:space:]]*##p' \
            | sed 's#\*/##' | tr '\n' ' ')
    extra_inc=""
    for f in $extra; do extra_inc="$extra_inc -I$(dirname "$f")"; done
    libs=$(head -n 5 "$src" \
           | sed -n -E 's#^[[:space:]]*(//|/\*)[[:space:]]*fuzz-libs:[[:space:]]*##p' \
           | sed 's#\*/##' | tr '\n' ' ')
    for l in $libs; do
        if ! make -s --no-print-directory FUZZ_CC="$CC" "${l%%:*}" >"$OUT/$name.build.log" 2>&1; then
            cat "$OUT/$name.build.log"
            echo "$name: BUILD FAILED (${l%%:*})"
            failed=1
            continue 2
        fi
        extra="$extra ${l%%:*}"
        [ "$l" != "${l#*:}" ] && extra_inc="$extra_inc -I${l#*:}"
    done
    log="$OUT/$name.log"

    # shellcheck disable=SC2086  # word splitting of flag lists is intended
    if ! $CC $CFLAGS $extra_inc $deps_cflags -o "$OUT/$name" "$src" $extra $pure_lib \
            $deps_libs >"$OUT/$name.build.log" 2>&1; then
        cat "$OUT/$name.build.log"
        echo "$name: BUILD FAILED"
        failed=1
        continue
    fi

    corpus=("$OUT/corpus/$name")
    mkdir -p "${corpus[0]}"
    [ -d "tests/fuzz/seeds/$name" ] && corpus+=("tests/fuzz/seeds/$name")
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")

    "$OUT/$name" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$name-" "${dict[@]}" "${corpus[@]}" \
        >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    units=$(ls "${corpus[0]}" | wc -l)
    if [ "$rc" -eq 0 ]; then
        echo "$name: ${runs:-?} executions in ${secs}s, corpus $units, no crash"
    else
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z_]*:|artifact_prefix|Test unit written)' \
            "$log" | head -20
        echo "$name: CRASHED after ${runs:-?} executions (exit $rc; log $log)"
        failed=1
    fi
done
exit "$failed"
