#!/usr/bin/env bash
# Installs what the build, tests and demo need, only when something is
# missing, so a second run costs nothing. Debian packages and npm only.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="apache2 apache2-dev libapr1-dev libaprutil1-dev libmongoc-dev libbson-dev
libssl-dev libjansson-dev libcmocka-dev chromium haproxy clang libclang-rt-14-dev
pkg-config curl valgrind make gcc openssl"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
command -v node >/dev/null || missing="$missing nodejs"
command -v npm >/dev/null || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi
