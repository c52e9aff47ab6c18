#!/usr/bin/env bash
# `make install`: the module into Apache's module directory (apxs -i) and
# conf/sse.load + conf/sse.conf into the server's module config. An existing
# sse.conf (an administrator's edits) is kept; the new one lands beside it.
# `make uninstall` (--uninstall) disables the module and removes those files,
# keeping an sse.conf that differs from the shipped one.
set -euo pipefail
cd "$(dirname "$0")/.."
APXS=${APXS:-apxs}

sysconf=$("$APXS" -q SYSCONFDIR)
libexec=$("$APXS" -q LIBEXECDIR)
if [ -d "$sysconf/mods-available" ]; then
    dest="$sysconf/mods-available"
else
    dest="$sysconf"
fi

if [ "${1:-}" = "--uninstall" ]; then
    if [ -e "$sysconf/mods-enabled/sse.load" ] && command -v a2dismod >/dev/null; then
        # -p: forget it was enabled, so a later package install enables it again.
        a2dismod -q -p sse >/dev/null
    fi
    rm -f "$libexec/mod_sse.so" "$libexec/mod_sse.la" "$dest/sse.load" "$dest/sse.conf.dist"
    if [ -e "$dest/sse.conf" ] && ! cmp -s conf/sse.conf "$dest/sse.conf"; then
        echo "kept your edited $dest/sse.conf"
    else
        rm -f "$dest/sse.conf"
    fi
    echo "removed mod_sse.so from $libexec and sse.load/sse.conf from $dest"
    exit 0
fi

# libtool narrates every copy; keep that for a failure only.
mkdir -p build
if ! (cd mod_sse && "$APXS" -i -n sse mod_sse.la) >build/apxs-install.log 2>&1; then
    cat build/apxs-install.log
    exit 1
fi

sed "s#/usr/lib/apache2/modules/#$libexec/#" conf/sse.load > "$dest/sse.load"
if [ -e "$dest/sse.conf" ] && ! cmp -s conf/sse.conf "$dest/sse.conf"; then
    cp conf/sse.conf "$dest/sse.conf.dist"
    echo "kept your $dest/sse.conf; the shipped one is $dest/sse.conf.dist"
else
    cp conf/sse.conf "$dest/sse.conf"
fi
echo "installed mod_sse.so into $libexec and sse.load/sse.conf into $dest"
[ -d "$sysconf/mods-available" ] && echo "enable it with: a2enmod sse && apachectl -t && apachectl graceful"
exit 0
