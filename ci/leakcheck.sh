#!/usr/bin/env bash
# `make leakcheck`: apache2 -X with mod_sse under valgrind memcheck across
# LEAK_CYCLES (default 1000) stream open/close cycles; fails if any
# "definitely lost" block was allocated under a mod_sse frame. Slow (a few
# minutes), so not part of `make test`. See ci/leakcheck.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
make -s all
exec node ci/leakcheck.mjs "$@"
