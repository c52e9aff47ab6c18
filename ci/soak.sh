#!/usr/bin/env bash
# `make soak` (not in CI): 2,000 streams for 30 minutes with 10% churn a
# minute and a store restart in the middle; prints server RSS at start,
# middle and end, errors and missed updates. Shorter runs:
#   SOAK_MINUTES=5 make soak      (also SOAK_STREAMS, SOAK_CHURN)
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
make -s all
exec node ci/soak.mjs "$@"
