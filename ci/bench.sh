#!/usr/bin/env bash
# `make bench`: builds the module, mock-store and the load client, raises the
# descriptor limit as far as this shell may, measures mock-store's own find
# throughput, and runs tests/bench/run.mjs, which prints the results table
# and writes it to tests/bench/results/.
# Stream counts and timings: see the BENCH_* variables in tests/bench/run.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
make -s all
mkdir -p build/bench
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -o build/bench/sse_load tests/bench/sse_load.c
# Each server child and each load-client process holds up to this many streams.
ulimit -n "$(ulimit -Hn)"
echo "bench: ulimit -n $(ulimit -n)"
# The store first: it must never be what the gateway figures measure.
store_line=$(bash ci/bench-store.sh | tail -1)
echo "$store_line"
node tests/bench/run.mjs
latest=$(ls -t tests/bench/results/*.md | head -1)
printf '\nStore under the benchmark: %s (target >= 20,000/s).\n' "$store_line" >> "$latest"
echo "bench: store figure appended to $latest"
