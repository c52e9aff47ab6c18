// apache-conf.mjs: the one generated httpd.conf used by the tests, the demo
// (`make run`) and the benchmark: Debian's apache2 binary and modules, a
// private ServerRoot, mod_sse on the contract's locations.
import os from 'node:os';

function runAsUser() {
  // httpd refuses to serve as root; Debian's apache2 package creates www-data.
  return process.getuid && process.getuid() === 0 ? 'User www-data\nGroup www-data' : '';
}

export function renderApacheConf({
  root, dir, port, secretFile, docRoot,
  storeUri,
  storeUriOptions = 'serverSelectionTimeoutMS=1500&connectTimeoutMS=1000&socketTimeoutMS=3000',
  pollInterval = '3s', keepalive = '15s', leeway = '30s', maxLifetime = '1h', retry = 5000,
  mpm = 'event', threadsPerChild = 64, serverLimit = 4, startServers = 2,
  maxRequestWorkers, asyncFactor = 2, timeout = 60,
  logLevel = 'info',
  locationExtra = '',
  extra = '',
  listenHost = '127.0.0.1',
  // Overrides conf/sse.conf's RequestReadTimeout (e.g. a short header
  // timeout for the slow-headers test); null keeps the shipped value.
  requestReadTimeout = null,
  // SSEMaxStreamsPerUser for every location (the module's default, 16, when
  // unset); suites that open many streams with one token pass 0.
  maxStreamsPerUser,
  // TLS and HTTP/2, all off by default. `tls: { certFile, keyFile }` puts
  // mod_ssl on the listener; `protocols` ('h2 http/1.1', 'h2c http/1.1')
  // loads mod_http2 and sets Protocols; `h2` holds mod_http2 directives.
  tls = null, protocols = null, h2 = '',
  // 'regex': the handlers' sections name the id with (?<id>...) (MATCH_ID);
  // 'segment': SSEIdFrom path-segment 3 and sections without a group.
  idFrom = 'regex',
  // ListenBacklog; null keeps httpd's default (511).
  listenBacklog = null,
  // The list handlers (issue 13): SSEListLimit and extra list directives.
  listLimit = null,
  // SSEPollBatch (issue 17); null keeps the module's default (100).
  pollBatch = null,
}) {
  const uri = storeUri.includes('?') ? storeUri : `${storeUri.replace(/\/$/, '')}/?${storeUriOptions}`;
  const mods = '/usr/lib/apache2/modules';
  const idPattern = idFrom === 'segment' ? '[^/]+' : '(?<id>[A-Za-z0-9_-]{1,128})';
  const workers = maxRequestWorkers || threadsPerChild * serverLimit;
  const mpmConf = mpm === 'prefork'
    ? `StartServers ${startServers}\nMinSpareServers 2\nMaxSpareServers 10\nServerLimit ${workers}\nMaxRequestWorkers ${workers}`
    : `StartServers ${startServers}\nServerLimit ${serverLimit}\nThreadLimit ${Math.max(64, threadsPerChild)}\nThreadsPerChild ${threadsPerChild}\n` +
      `MinSpareThreads ${threadsPerChild}\nMaxSpareThreads ${workers}\nMaxRequestWorkers ${workers}\n` +
      (mpm === 'event' ? `AsyncRequestWorkerFactor ${asyncFactor}\n` : '');
  return `# Generated for a test or the demo; see tests/lib/apache-conf.mjs
ServerRoot "${dir}"
ServerName 127.0.0.1
Listen ${listenHost}:${port}
${listenBacklog ? `ListenBacklog ${listenBacklog}` : ''}
PidFile "${dir}/httpd.pid"
DefaultRuntimeDir "${dir}"
ErrorLog "${dir}/error.log"
LogLevel ${logLevel}
${runAsUser()}
Timeout ${timeout}
KeepAlive On
KeepAliveTimeout 5

LoadModule mpm_${mpm}_module ${mods}/mod_mpm_${mpm}.so
${mpmConf}
MaxConnectionsPerChild 0

LoadModule authz_core_module ${mods}/mod_authz_core.so
LoadModule mime_module ${mods}/mod_mime.so
LoadModule dir_module ${mods}/mod_dir.so
LoadModule reqtimeout_module ${mods}/mod_reqtimeout.so
LoadModule sse_module "${root}/mod_sse/mod_sse.so"
# The safe defaults mod_sse ships (TraceEnable Off, RequestReadTimeout).
Include "${root}/conf/sse.conf"
${requestReadTimeout ? `RequestReadTimeout ${requestReadTimeout}` : ''}

${renderTlsAndProtocols({ tls, protocols, h2, mods })}
TypesConfig /etc/mime.types
AddType text/javascript .js .mjs
DocumentRoot "${docRoot}"
<Directory />
    Require all denied
</Directory>
<Directory "${docRoot}">
    Require all granted
</Directory>
DirectoryIndex index.html meetings.html

SSEMongoURI "${uri}"
${maxStreamsPerUser === undefined ? '' : `SSEMaxStreamsPerUser ${maxStreamsPerUser}`}

# "/v1/meetings" (no slash) also covers the list at /v1/meetings itself.
<Location "/v1/meetings">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEVersionField updatedAt
    SSEOwnerField ownerId
    SSEJWTKey HS256 file:${secretFile}
    SSEPollInterval ${pollInterval}
    SSEKeepalive ${keepalive}
    SSEJWTLeeway ${leeway}
    SSEMaxLifetime ${maxLifetime}
    SSERetry ${retry}
${idFrom === 'segment' ? '    SSEIdFrom path-segment 3' : ''}
    SSEFilterParam status status
${listLimit ? `    SSEListLimit ${listLimit}` : ''}
${pollBatch ? `    SSEPollBatch ${pollBatch}` : ''}
${locationExtra}
</Location>
<LocationMatch "^/v1/meetings/${idPattern}/events$">
    SetHandler sse-stream
</LocationMatch>
<LocationMatch "^/v1/meetings/${idPattern}$">
    # GET/HEAD as sse-resource, plus PATCH of the allow-listed fields
    SetHandler sse-update
    SSEWritableField title string 200
</LocationMatch>
# After the {id} patterns, so these win: sections merge in the order they
# appear, and "events" would otherwise be taken for an id.
<LocationMatch "^/v1/meetings$">
    SetHandler sse-collection
</LocationMatch>
<Location "/v1/meetings/events">
    SetHandler sse-collection-stream
</Location>
<Location "/health/ready">
    Require all granted
    SetHandler sse-health
</Location>
${extra}
`;
}

export const hostname = os.hostname();

function renderTlsAndProtocols({ tls, protocols, h2, mods }) {
  let out = '';
  if (tls) {
    out += `LoadModule socache_shmcb_module ${mods}/mod_socache_shmcb.so
LoadModule ssl_module ${mods}/mod_ssl.so
SSLEngine on
SSLCertificateFile "${tls.certFile}"
SSLCertificateKeyFile "${tls.keyFile}"
SSLSessionCache none
`;
  }
  if (protocols) {
    if (/\bh2c?\b/.test(protocols)) out += `LoadModule http2_module ${mods}/mod_http2.so\n`;
    out += `Protocols ${protocols}\n${h2}\n`;
  }
  return out;
}

// One more mod_sse location for a test: `prefix` ("/v2/short/") gets the
// store, the HS256 key and `directives`, plus the stream (and, unless
// `resource` is false, the resource) handler on prefix + id.
export function renderSseLocation(prefix, { secretFile, directives = '', resource = true }) {
  const id = '(?<id>[A-Za-z0-9_-]{1,128})';
  const body = directives.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => `    ${l}`).join('\n');
  return `
<Location "${prefix}">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEJWTKey HS256 file:${secretFile}
${body}
</Location>
<LocationMatch "^${prefix}${id}/events$">
    SetHandler sse-stream
</LocationMatch>
${resource ? `<LocationMatch "^${prefix}${id}$">
    SetHandler sse-resource
</LocationMatch>` : ''}`;
}
