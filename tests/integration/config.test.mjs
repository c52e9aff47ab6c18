// Configuration mistakes fail `apachectl -t` (here `apache2 -t -f`) with the
// directive named, never at request time; a correct config says Syntax OK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { configTest, tmpDir, ROOT } from '../lib/harness.mjs';
import { renderApacheConf } from '../lib/apache-conf.mjs';

const dir = tmpDir('sse-conf-');
const secret = path.join(dir, 'secret');
fs.writeFileSync(secret, 'k'.repeat(64));
const shortSecret = path.join(dir, 'short');
fs.writeFileSync(shortSecret, 'tooshort');

function conf({ location = '', server = '', uri = true } = {}) {
  let text = renderApacheConf({ root: ROOT, dir, port: 1, secretFile: secret, docRoot: path.join(ROOT, 'frontend'), storeUri: 'mongodb://127.0.0.1:1' });
  if (!uri) text = text.replace(/^SSEMongoURI .*$/m, '');
  return text.replace('</Location>', `${location}\n</Location>`) + server;
}

async function rejects(text, directive, detail) {
  const { code, output } = await configTest(text);
  assert.notEqual(code, 0, `config was accepted:\n${output}`);
  assert.ok(output.includes(directive), `output names ${directive}:\n${output}`);
  if (detail) assert.match(output, detail);
  assert.doesNotMatch(output, /Syntax OK/);
}

test('a correct configuration passes apachectl -t', async () => {
  const { code, output } = await configTest(conf());
  assert.equal(code, 0, output);
  assert.match(output, /Syntax OK/);
});

test('an unknown JWT algorithm names SSEJWTKey', () => rejects(conf({ location: `SSEJWTKey HS999 file:${secret}` }), 'SSEJWTKey'));
test('an unreadable key file names SSEJWTKey and the file', () => rejects(conf({ location: 'SSEJWTKey RS256 file:/nonexistent/key.pem' }), 'SSEJWTKey', /nonexistent/));
test('an HMAC secret shorter than the hash names SSEJWTKey', () => rejects(conf({ location: `SSEJWTKey HS256 file:${shortSecret}` }), 'SSEJWTKey', /byte/));
test('a missing env: secret names SSEJWTKey', () => rejects(conf({ location: 'SSEJWTKey HS256 env:SSE_NO_SUCH_VARIABLE_HERE' }), 'SSEJWTKey'));
test('a bad duration names SSEPollInterval', () => rejects(conf({ location: 'SSEPollInterval 3x' }), 'SSEPollInterval'));
test('a poll interval under 100ms names SSEPollInterval', () => rejects(conf({ location: 'SSEPollInterval 50ms' }), 'SSEPollInterval', /100ms/));
// SSEPollBatch (issue 17): a whole number from 1 to 1000, nothing else.
for (const bad of ['0', '1001', 'abc', '-1', '1.5', '""', '+5', '0x10', '1e2', '99999999999999999999']) {
  test(`SSEPollBatch ${bad} is refused, naming SSEPollBatch`, () => rejects(conf({ location: `SSEPollBatch ${bad}` }), 'SSEPollBatch'));
}
test('SSEPollBatch with no value is refused, naming SSEPollBatch', () => rejects(conf({ location: 'SSEPollBatch' }), 'SSEPollBatch'));
test('SSEPollBatch 1 and 1000 (its bounds) pass apachectl -t', async () => {
  for (const good of ['1', '1000']) {
    const { code, output } = await configTest(conf({ location: `SSEPollBatch ${good}` }));
    assert.equal(code, 0, `SSEPollBatch ${good}: ${output}`);
  }
});
test('a bad keep-alive names SSEKeepalive', () => rejects(conf({ location: 'SSEKeepalive -1s' }), 'SSEKeepalive'));
test('a bad SSEIdType is named', () => rejects(conf({ location: 'SSEIdType uuid' }), 'SSEIdType'));
test('a bad SSEEmit is named', () => rejects(conf({ location: 'SSEEmit sometimes' }), 'SSEEmit'));
test('a bad SSERetry is named', () => rejects(conf({ location: 'SSERetry soon' }), 'SSERetry'));
test('a bad CORS origin is named', () => rejects(conf({ location: 'SSECORSAllowOrigin example.com/path' }), 'SSECORSAllowOrigin'));
test('an invalid connection string names SSEMongoURI', () => rejects(conf({ server: 'SSEMongoURI "http://nope"\n' }), 'SSEMongoURI'));
test('a missing JWKS file names SSEJWKSFile', () => rejects(conf({ location: 'SSEJWKSFile /nonexistent/jwks.json' }), 'SSEJWKSFile'));

test('a stream handler with no database applies names SSEDatabase and the SetHandler line', async () => {
  const text = conf().replace(/^\s*SSEDatabase .*$/m, '');
  await rejects(text, 'SSEDatabase', /httpd\.conf:\d+: SetHandler sse-stream/);
});

test('a resource handler with no collection names SSECollection', async () => {
  await rejects(conf().replace(/^\s*SSECollection .*$/m, ''), 'SSECollection');
});

test('handlers without SSEMongoURI name SSEMongoURI', () => rejects(conf({ uri: false }), 'SSEMongoURI'));

test('a <Location> of the main server covers a stream handler inside a <VirtualHost>', async () => {
  const vhost = (withDb) => conf()
    .replace(/<LocationMatch "\^\/v1\/meetings\/\(\?<id>[^"]*\)\/events\$">\s*SetHandler sse-stream\s*<\/LocationMatch>/, '')
    + `<VirtualHost 127.0.0.1:1>
    ServerName vhost.example
    <LocationMatch "^/v1/meetings/(?<id>[A-Za-z0-9_-]{1,128})/events$">
        SetHandler sse-stream
    </LocationMatch>
    <LocationMatch "^/v9/other/(?<id>[A-Za-z0-9_-]{1,128})/events$">
        ${withDb ? 'SSEDatabase x\n        SSECollection y\n        SSEJWTKey HS256 file:' + secret : ''}
        SetHandler sse-stream
    </LocationMatch>
</VirtualHost>
`;
  const ok = await configTest(vhost(true));
  assert.equal(ok.code, 0, ok.output);
  await rejects(vhost(false), 'SSEDatabase', /in this <VirtualHost>/);
});

test('a relative key file is found under ServerRoot', async () => {
  fs.writeFileSync(path.join(dir, 'relative.secret'), 'r'.repeat(40));
  const { code, output } = await configTest(conf({ location: 'SSEJWTKey HS256 file:relative.secret kid=rel' }));
  assert.equal(code, 0, output);
});

test('a duration longer than a year is refused', () => rejects(conf({ location: 'SSEKeepalive 9000h' }), 'SSEKeepalive', /year/));

test('handlers without any key name SSEJWTKey', async () => {
  await rejects(conf().replace(/^\s*SSEJWTKey .*$/m, ''), 'SSEJWTKey');
});

test('httpd -L describes every directive in a line', () => {
  const file = path.join(dir, 'l.conf');
  fs.writeFileSync(file, conf());
  const out = execFileSync('/usr/sbin/apache2', ['-L', '-f', file], { encoding: 'utf8' });
  for (const d of ['SSEMongoURI', 'SSEDatabase', 'SSECollection', 'SSEIdFrom', 'SSEIdField', 'SSEIdType', 'SSEFields',
    'SSEVersionField', 'SSEOwnerField', 'SSEOwnerClaim', 'SSEPollInterval', 'SSEKeepalive', 'SSERetry',
    'SSEMaxLifetime', 'SSEEmit', 'SSEJWTKey', 'SSEJWKSFile', 'SSEJWTIssuer', 'SSEJWTAudience', 'SSEJWTLeeway',
    'SSETokenQueryParam', 'SSECORSAllowOrigin', 'SSEJWTType', 'SSEInstanceName', 'SSEPollBatch']) {
    assert.match(out, new RegExp(`^${d} \\(mod_sse\\.c\\)\\n\\t\\S`, 'm'), `${d} listed with help`);
  }
});
