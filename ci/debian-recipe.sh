#!/usr/bin/env bash
# The README's "Install on Debian" recipe, as a script: README.md shows the
# two marked blocks below word for word, and tests/integration/
# debian-package.test.mjs runs this file (and checks that they match).
#   bash ci/debian-recipe.sh           install, configure, serve one stream
#   bash ci/debian-recipe.sh remove    undo all of it
# Run as root from a checkout after `make deb`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != remove ]; then
# >>> install
# Yours to change; the rest runs as it is.
SSE_MONGO_URI=${SSE_MONGO_URI:-"mongodb://127.0.0.1:27017/?serverSelectionTimeoutMS=2000&socketTimeoutMS=3000"}
SSE_AUDIENCE=${SSE_AUDIENCE:-meetings-api}
SSE_URL=${SSE_URL:-http://127.0.0.1}

# 1. Apache, the module (enabled on install) and the trial tools.
apt-get install -y apache2 curl openssl ./build/libapache2-mod-sse_*.deb ./build/mod-sse-tools_*.deb

# 2. The HMAC secret tokens are signed with: 48 random bytes (HS256 needs
#    at least 32), readable by root and Apache's group only.
install -d -m 0750 -o root -g www-data /etc/apache2/sse
openssl rand -out /etc/apache2/sse/jwt.secret 48
chown root:www-data /etc/apache2/sse/jwt.secret
chmod 0640 /etc/apache2/sse/jwt.secret

# 3. The site configuration, in conf-available/ (it applies to every
#    virtual host). Debian denies / by default: the locations say
#    "Require all granted"; mod_sse's token check is the access control.
cat > /etc/apache2/conf-available/mod-sse-meetings.conf <<EOF
SSEMongoURI "$SSE_MONGO_URI"
<Location "/v1/meetings/">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEVersionField updatedAt
    SSEOwnerField ownerId
    SSEJWTKey HS256 file:/etc/apache2/sse/jwt.secret
    SSEJWTAudience $SSE_AUDIENCE
</Location>
<LocationMatch "^/v1/meetings/(?<id>[A-Za-z0-9_-]{1,128})/events\$">
    SetHandler sse-stream
</LocationMatch>
<LocationMatch "^/v1/meetings/(?<id>[A-Za-z0-9_-]{1,128})\$">
    SetHandler sse-resource
</LocationMatch>
<Location "/health/ready">
    Require all granted
    SetHandler sse-health
</Location>
EOF
a2enmod sse
a2enconf mod-sse-meetings
apachectl -t
apachectl graceful

# 4. For a trial without MongoDB: mock-store with the demo meetings, in the
#    background (stop it with: kill %1).
/usr/lib/mod-sse/mock-store --data /usr/share/mod-sse/demo/meetings.json --port 27017 --quiet &

# 5. A token for alice with the configured audience, and her meeting m1
#    live (Ctrl-C ends it).
TOKEN=$(mod-sse-token --secret-file /etc/apache2/sse/jwt.secret --sub alice --aud "$SSE_AUDIENCE")
curl -N -H "Authorization: Bearer $TOKEN" "$SSE_URL/v1/meetings/m1/events"
# <<< install
else
# >>> remove
# (-p: also forget that it was enabled)
a2disconf -p mod-sse-meetings
rm -f /etc/apache2/conf-available/mod-sse-meetings.conf
rm -rf /etc/apache2/sse
apt-get purge -y libapache2-mod-sse mod-sse-tools
apachectl graceful
# <<< remove
fi
