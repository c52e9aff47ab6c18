#!/usr/bin/env bash
# `make install`: the module into Apache's module directory (apxs -i) and
# conf/sse.load + conf/sse.conf into the server's module config. An existing
# sse.conf (an administrator's edits) is kept; the new one lands beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
APXS=${APXS:-apxs}

(cd mod_sse && "$APXS" -i -n sse mod_sse.la)

sysconf=$("$APXS" -q SYSCONFDIR)
if [ -d "$sysconf/mods-available" ]; then
    dest="$sysconf/mods-available"
else
    dest="$sysconf"
fi
libexec=$("$APXS" -q LIBEXECDIR)
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
