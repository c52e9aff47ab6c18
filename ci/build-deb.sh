#!/usr/bin/env bash
# `make deb`: builds the Debian packages with dpkg-buildpackage (debhelper,
# dh_apache2) from a copy of the checkout in build/deb/, so the tree stays
# clean, then puts the .debs in build/ and runs lintian on them. The build
# log is build/deb/build.log; it is shown only when the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
work="$ROOT/build/deb"
src="$work/mod-sse-$version"
rm -rf "$work"
mkdir -p "$src"

# Tracked and new (not ignored) files only: no build output, no node_modules.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar -c --null -T - | tar -x -C "$src"
else
    tar -c --exclude=./build --exclude=./node_modules . | tar -x -C "$src"
    make -s -C "$src" clean
fi

if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
    cat "$work/build.log"
    echo "make deb: dpkg-buildpackage failed (log: build/deb/build.log)"
    exit 1
fi

debs=()
for pkg in libapache2-mod-sse mod-sse-tools; do
    deb="${pkg}_${version}_${arch}.deb"
    mv -f "$work/$deb" "$ROOT/build/$deb"
    debs+=("build/$deb")
done
printf 'built %s\n' "${debs[@]}"

# Tags we accept are explained in debian/*.lintian-overrides.
if command -v lintian >/dev/null; then
    lintian --info "${debs[@]}" || { echo "make deb: lintian found errors"; exit 1; }
fi
