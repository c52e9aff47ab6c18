#!/usr/bin/env bash
# Builds mock-store and tests/bench/store_bench.c, starts a fresh mock-store
# with the demo data on a free port, and measures:
#  - per size in STORE_BENCH_IN_SIZES (default "1000 10000"; empty skips it),
#    the store CPU of one find by _id, of one {_id: {$in: [100 ids]}} (the
#    _id index) and of that $in scanned, with the ratio $in / by _id, one line
#    per size (STORE_BENCH_IN_SECONDS per kind of find, default 2);
#  - find-by-_id throughput over 64 connections, printed last (ci/bench.sh
#    keeps the last line):
#   mock-store find by _id: N/s (64 connections, Ms)
# STORE_BENCH_SECONDS (default 5) and STORE_BENCH_CONNECTIONS (default 64) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_RUN=${STORE_BENCH_SECONDS:-5}
CONNS=${STORE_BENCH_CONNECTIONS:-64}
IN_SIZES=${STORE_BENCH_IN_SIZES-1000 10000}
IN_SECONDS=${STORE_BENCH_IN_SECONDS:-2}

make -s mock-store >&2
mkdir -p build/bench
cc -O2 -std=gnu11 -Wall -Wextra -Werror $(pkg-config --cflags libbson-1.0) \
    -o build/bench/store_bench tests/bench/store_bench.c $(pkg-config --libs libbson-1.0)

out=$(mktemp)
mock-store/mock-store --bind 127.0.0.1 --port 0 --quiet --data conf/demo/meetings.json >"$out" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$out"' EXIT
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^mock-store listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "bench-store: mock-store did not start" >&2; exit 1; }

if [ -n "$IN_SIZES" ]; then
    # shellcheck disable=SC2086  # one argument per size
    build/bench/store_bench --in "$port" "$pid" "$IN_SECONDS" $IN_SIZES
fi
build/bench/store_bench "$port" "$SECONDS_RUN" "$CONNS"
