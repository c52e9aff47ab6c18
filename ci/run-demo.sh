#!/usr/bin/env bash
# `make run`: installs what is missing, builds, then starts the demo
# (mock-store with demo data and its simulator, Apache with mod_sse on
# http://127.0.0.1:8080) and prints a link to an authenticated meeting page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
make -s all
exec node ci/run-demo.mjs "$@"
