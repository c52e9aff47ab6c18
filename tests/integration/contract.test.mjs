// Contract promises that no other file tested: issuer/audience, asymmetric
// keys from PEM files, kid selection, JWK Sets, SSEOwnerClaim, nbf with the
// leeway, the id directives, the version field, SSEMaxLifetime 0, the
// resource's error answers, health under a hanging store, the shipped config,
// and the client-gone promise in blocking mode. One Apache (mpm_event) and one
// mock-store for the file, with a <Location> per setting; a second Apache
// (mpm_worker) for the blocking-mode test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair, exportSPKI, exportPKCS8, importPKCS8, exportJWK, SignJWT } from 'jose';
import {
  ROOT, MODULE, TEST_SECRET, startMockStore, startApache, storeClient, opcounters,
  mintToken, openStream, configTest, tmpDir,
} from '../lib/harness.mjs';
import { assertBearer401 } from '../lib/sse-client.mjs';

const POLL_MS = 500;
const ISS = 'https://login.example.com/';
const AUD = 'meetings-api';
const HEX_STRING_ID = '0123456789abcdef01234567';
const t0 = { $date: '2026-11-25T09:00:00.000Z' };
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'm1', ownerId: 'alice', title: 'Weekly sync', status: 'transcribing', progress: 40, updatedAt: t0 },
      { _id: 'x1', slug: 'weekly-sync', ownerId: 'alice', title: 'By slug', status: 'ready', updatedAt: t0 },
      { _id: 't1', tenant: 'acme', ownerId: 'nobody', title: 'Tenant doc', status: 'ready', updatedAt: t0 },
      { _id: HEX_STRING_ID, ownerId: 'alice', title: 'A string that looks like an ObjectId', status: 'ready', updatedAt: t0 },
      { _id: 'ver', ownerId: 'alice', title: 'Version field', status: 'uploaded', updatedAt: t0 },
      { _id: 'hash', ownerId: 'alice', title: 'Hash version', status: 'uploaded', updatedAt: t0 },
      { _id: 'forever', ownerId: 'alice', title: 'Lives forever', status: 'ready', updatedAt: t0 },
      { _id: 'blk', ownerId: 'alice', title: 'Blocking mode', status: 'uploaded', updatedAt: t0 },
    ],
  },
};

// Keys, all made here: two HMAC secrets with kids, an RS256/ES256/EdDSA key
// pair each (plus a stranger of each alg), and a JWK Set.
const KID1_SECRET = Buffer.from('kid one secret, 32 bytes or more!!!!');
const KID2_SECRET = Buffer.from('kid two secret, 32 bytes or more????');
const keys = {};        // alg -> { publicKey, privateKey, pem }
const strangers = {};   // alg -> another key pair of the same alg
const jwksKeys = {};    // kid -> { privateKey, alg }

const dir = tmpDir('sse-contract-');
fs.chmodSync(dir, 0o755);
const file = (name, content) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  fs.chmodSync(p, 0o644);
  return p;
};

const loc = (prefix, body, { handlers = true } = {}) => `
<Location "/${prefix}/">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEPollInterval ${POLL_MS}ms
${body}
</Location>
${handlers ? `<LocationMatch "^/${prefix}/(?<id>[A-Za-z0-9_-]{1,128})/events$">
    SetHandler sse-stream
</LocationMatch>
<LocationMatch "^/${prefix}/(?<id>[A-Za-z0-9_-]{1,128})$">
    SetHandler sse-resource
</LocationMatch>` : ''}`;

function extraConf(secretFile) {
  const hs = `    SSEJWTKey HS256 file:${secretFile}`;
  return [
    loc('c/issaud', `${hs}\n    SSEJWTIssuer ${ISS}\n    SSEJWTAudience ${AUD}`),
    loc('c/asym', ['RS256', 'ES256', 'EdDSA'].map((a) => `    SSEJWTKey ${a} file:${keys[a].file}`).join('\n')),
    loc('c/rsaonly', `    SSEJWTKey RS256 file:${keys.RS256.file}`),
    loc('c/kid', `    SSEJWTKey HS256 file:${file('kid1.secret', KID1_SECRET)} kid=k1\n    SSEJWTKey HS256 file:${file('kid2.secret', KID2_SECRET)} kid=k2`),
    loc('c/jwks', `    SSEJWKSFile ${jwksFile}`),
    loc('c/tenant', `${hs}\n    SSEOwnerField tenant\n    SSEOwnerClaim tenant`),
    loc('c/leeway', `${hs}\n    SSEJWTLeeway 30s`),
    loc('c/int', `${hs}\n    SSEIdType int`),
    loc('c/str', `${hs}\n    SSEIdType string`),
    loc('c/slug', `${hs}\n    SSEIdField slug`),
    loc('c/hash', `${hs}\n    SSEOwnerField ownerId`),
    loc('c/forever', `${hs}\n    SSEPollInterval 200ms\n    SSEKeepalive 300ms\n    SSEMaxLifetime 0`),
    // SSEIdFrom: the id comes from a group with another name.
    loc('c/from', `${hs}\n    SSEIdFrom MATCH_MEETING`, { handlers: false }),
    `<LocationMatch "^/c/from/(?<meeting>[A-Za-z0-9_-]{1,128})$">
    SetHandler sse-resource
</LocationMatch>`,
  ].join('\n');
}

let jwksFile;
let store, apache, mongo, meetings, alice;
const blockingServers = [];

before(async () => {
  for (const [alg, opts] of [['RS256', { modulusLength: 2048 }], ['ES256', {}], ['EdDSA', { crv: 'Ed25519' }]]) {
    keys[alg] = await generateKeyPair(alg, { ...opts, extractable: true });
    keys[alg].pem = await exportSPKI(keys[alg].publicKey);
    keys[alg].file = file(`${alg}.pem`, keys[alg].pem);
    strangers[alg] = await generateKeyPair(alg, opts);
  }
  const jwks = { keys: [] };
  for (const [kid, alg] of [['jr1', 'RS256'], ['je1', 'ES256']]) {
    const pair = await generateKeyPair(alg);
    jwksKeys[kid] = { privateKey: pair.privateKey, alg };
    jwks.keys.push({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' });
  }
  jwksFile = file('jwks.json', JSON.stringify(jwks));
  const secretFile = file('secret', TEST_SECRET);

  store = await startMockStore({ data: DATA });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
  // Numeric _id: inserted by the driver so it is a BSON int32.
  await meetings.insertOne({ _id: 42, ownerId: 'alice', title: 'Numeric id', status: 'ready', updatedAt: new Date('2026-11-25T09:00:00Z') });
  apache = await startApache({
    storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '1s', leeway: '0',
    extra: extraConf(secretFile),
  });
  alice = await mintToken({ sub: 'alice' });
});

after(async () => {
  for (const a of blockingServers) await a.stop();
  await mongo?.close();
  await apache?.stop();
  await store?.stop();
});

const get = (p, token, init = {}) => fetch(`${apache.url}${p}`, {
  ...init, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.headers || {}) },
});

async function status(p, token) {
  const res = await get(p, token);
  await res.arrayBuffer();
  return res.status;
}

async function invalid(p, token, what) {
  return assertBearer401(await get(p, token), { error: 'invalid_token', what });
}

const now = () => Math.floor(Date.now() / 1000);

// Signs with any jose key; `payload` is the whole claim set (exp added unless given).
function sign(payload, key, header) {
  return new SignJWT({ exp: now() + 3600, iat: now(), ...payload }).setProtectedHeader({ typ: 'JWT', ...header }).sign(key);
}

// ---------------------------------------------------------------- 1. iss / aud

test('SSEJWTIssuer and SSEJWTAudience: matching iss and aud (string or array) are accepted', async () => {
  const asString = await mintToken({ sub: 'alice', claims: { iss: ISS, aud: AUD } });
  assert.equal(await status('/c/issaud/m1', asString), 200);
  const asArray = await mintToken({ sub: 'alice', claims: { iss: ISS, aud: ['other-api', AUD] } });
  assert.equal(await status('/c/issaud/m1', asArray), 200);
});

test('SSEJWTIssuer and SSEJWTAudience: a wrong or missing iss or aud is 401 invalid_token', async () => {
  const cases = {
    'wrong iss': { iss: 'https://evil.example/', aud: AUD },
    'missing iss': { aud: AUD },
    'wrong aud': { iss: ISS, aud: 'other-api' },
    'aud array without ours': { iss: ISS, aud: ['other-api', 'x'] },
    'missing aud': { iss: ISS },
    'iss with another trailing slash': { iss: ISS.replace(/\/$/, ''), aud: AUD },
  };
  for (const [what, claims] of Object.entries(cases)) {
    await invalid('/c/issaud/m1', await mintToken({ sub: 'alice', claims }), what);
  }
});

// ---------------------------------------------------------------- 2. PEM keys

test('SSEJWTKey RS256, ES256 and EdDSA from PEM files accept tokens signed by their private keys', async () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const token = await sign({ sub: 'alice' }, keys[alg].privateKey, { alg });
    assert.equal(await status('/c/asym/m1', token), 200, alg);
    const res = await get('/c/asym/m1/events', token);
    assert.equal(res.status, 200, `${alg} stream`);
    await res.body.cancel();
  }
});

test('a token signed by another key of the same alg is 401', async () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const token = await sign({ sub: 'alice' }, strangers[alg].privateKey, { alg });
    await invalid('/c/asym/m1', token, alg);
  }
});

test('algorithm confusion: HS256 signed with the RSA public key PEM as the HMAC secret is 401', async () => {
  for (const secret of [keys.RS256.pem, keys.RS256.pem.trim()]) {
    const token = await sign({ sub: 'alice' }, new TextEncoder().encode(secret), { alg: 'HS256' });
    await invalid('/c/rsaonly/m1', token, 'HS256 with the PEM (only RS256 configured)');
    await invalid('/c/asym/m1', token, 'HS256 with the PEM (RS/ES/EdDSA configured)');
  }
  // The RS256 key does not verify a PS256 token made with the same RSA key either.
  const asPss = await importPKCS8(await exportPKCS8(keys.RS256.privateKey), 'PS256');
  const ps = await sign({ sub: 'alice' }, asPss, { alg: 'PS256' });
  await invalid('/c/rsaonly/m1', ps, 'PS256 with the RS256 key');
});

// ---------------------------------------------------------------- 3. kid

test('kid= on SSEJWTKey: each kid verifies with its own key; an unknown kid or a mismatched key is 401', async () => {
  const t1 = await mintToken({ sub: 'alice', secret: KID1_SECRET, header: { kid: 'k1' } });
  const t2 = await mintToken({ sub: 'alice', secret: KID2_SECRET, header: { kid: 'k2' } });
  assert.equal(await status('/c/kid/m1', t1), 200, 'kid k1');
  assert.equal(await status('/c/kid/m1', t2), 200, 'kid k2');
  await invalid('/c/kid/m1', await mintToken({ sub: 'alice', secret: KID1_SECRET, header: { kid: 'k3' } }), 'unknown kid');
  await invalid('/c/kid/m1', await mintToken({ sub: 'alice', secret: KID2_SECRET, header: { kid: 'k1' } }), 'kid k1 signed by k2');
});

// ---------------------------------------------------------------- 4. JWKS

test('SSEJWKSFile: tokens signed by keys of the set, named by kid, are accepted', async () => {
  for (const [kid, { privateKey, alg }] of Object.entries(jwksKeys)) {
    const token = await sign({ sub: 'alice' }, privateKey, { alg, kid });
    assert.equal(await status('/c/jwks/m1', token), 200, kid);
  }
});

test('SSEJWKSFile: a kid not in the set, or a key of the set under the other kid, is 401', async () => {
  const { privateKey, alg } = jwksKeys.jr1;
  await invalid('/c/jwks/m1', await sign({ sub: 'alice' }, privateKey, { alg, kid: 'not-in-set' }), 'unknown kid');
  const stranger = await generateKeyPair('RS256');
  await invalid('/c/jwks/m1', await sign({ sub: 'alice' }, stranger.privateKey, { alg: 'RS256', kid: 'jr1' }), 'known kid, wrong key');
  await invalid('/c/jwks/m1', await sign({ sub: 'alice' }, jwksKeys.je1.privateKey, { alg: 'ES256', kid: 'jr1' }), 'ES256 under the RS256 kid');
});

// ---------------------------------------------------------------- 5. owner claim

test('SSEOwnerClaim: the configured claim, not sub, is compared with SSEOwnerField', async () => {
  assert.equal(await status('/c/tenant/t1', await mintToken({ sub: 'alice', claims: { tenant: 'acme' } })), 200);
  const s = await openStream(`${apache.url}/c/tenant/t1/events`, { token: await mintToken({ sub: 'alice', claims: { tenant: 'acme' } }) });
  try {
    assert.equal(s.status, 200, 'stream');
    assert.equal((await s.next((e) => e.event === 'status')).json._id, 't1');
  } finally { s.close(); }
  assert.equal(await status('/c/tenant/t1', await mintToken({ sub: 'alice', claims: { tenant: 'other' } })), 404, 'other tenant');
  assert.equal(await status('/c/tenant/t1', await mintToken({ sub: 'acme' })), 404, 'sub equal to the tenant, no tenant claim');
});

// ---------------------------------------------------------------- 6. nbf

test('nbf beyond the leeway is 401; nbf within the leeway (30s) is accepted', async () => {
  const soon = await mintToken({ sub: 'alice', claims: { nbf: now() + 10 } });
  assert.equal(await status('/c/leeway/m1', soon), 200, 'nbf 10 s ahead');
  const later = await mintToken({ sub: 'alice', claims: { nbf: now() + 120 } });
  const challenge = await invalid('/c/leeway/m1', later, 'nbf 120 s ahead');
  assert.doesNotMatch(challenge, /expired/, 'not-yet-valid is not reported as expired');
});

// ---------------------------------------------------------------- 7. ids

test('SSEIdType int: a numeric _id is found by its decimal id; a non-number is 404', async () => {
  const res = await get('/c/int/42', alice);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc._id, 42);
  assert.equal(doc.title, 'Numeric id');
  assert.equal(await status('/c/int/abc', alice), 404);
  assert.equal(await status('/c/int/43', alice), 404);
});

test('SSEIdType string: a 24-hex-char id is matched as a string, not an ObjectId', async () => {
  const res = await get(`/c/str/${HEX_STRING_ID}`, alice);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).title, 'A string that looks like an ObjectId');
  // the default (auto) turns the same id into an ObjectId, which matches nothing
  assert.equal(await status(`/v1/meetings/${HEX_STRING_ID}`, alice), 404);
});

test('SSEIdField: the id is matched against another field', async () => {
  const res = await get('/c/slug/weekly-sync', alice);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc._id, 'x1');
  assert.equal(doc.slug, 'weekly-sync');
  assert.equal(await status('/c/slug/x1', alice), 404, '_id is not the id field here');
});

test('SSEIdFrom: the id comes from another LocationMatch group (MATCH_MEETING)', async () => {
  const res = await get('/c/from/m1', alice);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).title, 'Weekly sync');
  assert.equal(await status('/c/from/nope', alice), 404);
});

// ---------------------------------------------------------------- 8. version

test('with SSEVersionField, a change to another field (same updatedAt) sends no new status', async () => {
  const s = await openStream(`${apache.url}/v1/meetings/ver/events`, { token: alice });
  try {
    assert.equal(s.status, 200);
    await s.next((e) => e.event === 'status');
    await meetings.updateOne({ _id: 'ver' }, { $set: { status: 'transcribing' } });
    await sleep(POLL_MS * 4);
    const statuses = s.events.filter((e) => e.event === 'status');
    assert.equal(statuses.length, 1, `status events: ${statuses.map((e) => e.json?.status)}`);
  } finally { s.close(); }
});

test('without SSEVersionField (hash version), the same change sends a new status', async () => {
  const s = await openStream(`${apache.url}/c/hash/hash/events`, { token: alice });
  try {
    assert.equal(s.status, 200);
    const first = await s.next((e) => e.event === 'status');
    await meetings.updateOne({ _id: 'hash' }, { $set: { status: 'transcribing' } });
    const ev = await s.next((e) => e.event === 'status' && e.json.status === 'transcribing', POLL_MS * 4);
    assert.notEqual(ev.id, first.id, 'the hash version changed');
    assert.ok(ev.id && ev.id.length > 0);
  } finally { s.close(); }
});

// ---------------------------------------------------------------- 9. lifetime 0

test('SSEMaxLifetime 0 means never: the stream stays open 3 s with keep-alives and no connectionLost', async () => {
  const s = await openStream(`${apache.url}/c/forever/forever/events`, { token: alice });
  try {
    assert.equal(s.status, 200);
    await s.next((e) => e.event === 'status');
    await sleep(3000);
    assert.deepEqual(s.events.filter((e) => e.event === 'connectionLost').map((e) => e.json), []);
    assert.equal(s.ended, false, 'the server has not closed the stream');
    assert.ok(s.comments.length >= 5, `${s.comments.length} keep-alive comments in 3 s at 300ms`);
  } finally { s.close(); }
});

// ---------------------------------------------------------------- 10. resource errors

test('resource: POST is 405 with Allow containing GET, and a JSON error with a message', async () => {
  const res = await get('/v1/meetings/m1', alice, { method: 'POST' });
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow') || '', /\bGET\b/);
  const body = await res.json();
  assert.equal(typeof body.error, 'string');
  assert.ok(typeof body.message === 'string' && body.message.length > 0, JSON.stringify(body));
});

test('resource: 401 and 404 error bodies carry a non-empty message', async () => {
  for (const [token, code, error] of [[null, 401, 'missing_token'], ['x.y.z', 401, 'invalid_token'], [alice, 404, 'not_found']]) {
    const res = await get('/v1/meetings/nope', token);
    assert.equal(res.status, code);
    assert.match(res.headers.get('content-type') || '', /^application\/json/);
    const body = await res.json();
    assert.equal(body.error, error);
    assert.ok(typeof body.message === 'string' && body.message.length > 0, JSON.stringify(body));
  }
});

test('resource: store down is 503 with Retry-After and {"error":"store_unavailable","message":...}', async () => {
  await store.stop();
  try {
    const res = await get('/v1/meetings/m1', alice);
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
    const body = await res.json();
    assert.equal(body.error, 'store_unavailable');
    assert.ok(typeof body.message === 'string' && body.message.length > 0, JSON.stringify(body));
  } finally {
    await store.restart();   // data reset: the driver-inserted doc is put back
    await mongo.close();
    mongo = await storeClient(store.uri);
    meetings = mongo.db('meetings_app').collection('meetings');
    await meetings.insertOne({ _id: 42, ownerId: 'alice', title: 'Numeric id', status: 'ready', updatedAt: new Date('2026-11-25T09:00:00Z') });
  }
  const deadline = Date.now() + 10000;
  let code = 0;
  while (Date.now() < deadline && code !== 200) {
    code = await status('/v1/meetings/m1', alice);
    if (code !== 200) await sleep(100);
  }
  assert.equal(code, 200, 'the resource answers again once the store is back');
  await sleep(600);   // every child's fail-fast hold-off is over
});

// ---------------------------------------------------------------- 11. health

test('health answers 503 within 1.5 s while the store hangs on ping, and 200 once it answers again', async () => {
  const admin = mongo.db('admin');
  assert.equal(await status('/health/ready'), 200);
  await admin.command({
    configureFailPoint: 'failCommand', mode: 'alwaysOn',
    data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 5000 },
  });
  try {
    const started = Date.now();
    const res = await fetch(`${apache.url}/health/ready`, { signal: AbortSignal.timeout(6000) });
    const took = Date.now() - started;
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'unavailable' });
    assert.ok(took < 1500, `health answered in ${took} ms`);
  } finally {
    await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
  }
  const deadline = Date.now() + 10000;
  let code = 0;
  while (Date.now() < deadline && code !== 200) {
    code = (await fetch(`${apache.url}/health/ready`, { signal: AbortSignal.timeout(3000) }).catch(() => ({ status: 0 }))).status;
    if (code !== 200) await sleep(200);
  }
  assert.equal(code, 200, 'health is ok again after the failpoint is off');
});

// ---------------------------------------------------------------- 12. shipped config

// A minimal server around the shipped files: Debian's modules, conf/sse.load
// with the built module's path, then conf/sse.conf.
function shippedConf(sseConfText) {
  const d = tmpDir('sse-shipped-');
  const load = fs.readFileSync(path.join(ROOT, 'conf/sse.load'), 'utf8')
    .replace(/^(\s*LoadModule\s+sse_module\s+).*$/m, `$1"${MODULE}"`);
  fs.writeFileSync(path.join(d, 'sse.load'), load);
  fs.writeFileSync(path.join(d, 'sse.conf'), sseConfText);
  const mods = '/usr/lib/apache2/modules';
  return `ServerRoot "${d}"
ServerName 127.0.0.1
Listen 127.0.0.1:1
PidFile "${d}/httpd.pid"
DefaultRuntimeDir "${d}"
ErrorLog "${d}/error.log"
LoadModule mpm_event_module ${mods}/mod_mpm_event.so
LoadModule authz_core_module ${mods}/mod_authz_core.so
Include "${d}/sse.load"
Include "${d}/sse.conf"
`;
}

test('the shipped conf/sse.load and conf/sse.conf parse as shipped', async () => {
  const text = fs.readFileSync(path.join(ROOT, 'conf/sse.conf'), 'utf8');
  const { code, output } = await configTest(shippedConf(text));
  assert.equal(code, 0, output);
  assert.match(output, /Syntax OK/);
});

test('the shipped conf/sse.conf parses with its example blocks and directives uncommented', async () => {
  // Uncomment one level, as an administrator would: "#    SSEDatabase x   # note" -> "    SSEDatabase x   # note".
  // Lines commented twice ("#    #SSEJWKSFile ...") stay commented; the example key file is replaced by ours.
  const secret = file('shipped-jwt.secret', TEST_SECRET);
  const shipped = fs.readFileSync(path.join(ROOT, 'conf/sse.conf'), 'utf8');
  const directive = /^(\s*)#(\s*)(<\/?Location(Match)?\b|SSE[A-Za-z]+\s|SetHandler\s)/;
  const uncommented = shipped.split('\n')
    .map((l) => l.replace(directive, '$1$2$3'))
    .join('\n')
    .replaceAll('/etc/apache2/sse/jwt.secret', secret);
  assert.notEqual(uncommented, shipped);
  assert.match(uncommented, /^\s*SSEMongoURI /m);
  assert.match(uncommented, /^\s*<LocationMatch /m);
  const { code, output } = await configTest(shippedConf(uncommented));
  assert.equal(code, 0, `${output}\n--- uncommented sse.conf:\n${uncommented.split('\n').filter((l) => /^\s*[<S]/.test(l)).join('\n')}`);
  assert.match(output, /Syntax OK/);
});

test('the shipped conf/sse.conf example directives are valid once their trailing notes are removed', async () => {
  // Narrows the test above down: the values are right, only the same-line "# notes" (which httpd
  // does not allow after a directive) break it.
  const secret = file('shipped-jwt2.secret', TEST_SECRET);
  const shipped = fs.readFileSync(path.join(ROOT, 'conf/sse.conf'), 'utf8');
  const directive = /^(\s*)#(\s*)(<\/?Location(Match)?\b|SSE[A-Za-z]+\s|SetHandler\s)/;
  const uncommented = shipped.split('\n')
    .map((l) => (directive.test(l) ? l.replace(directive, '$1$2$3').replace(/\s+#\s.*$/, '') : l))
    .join('\n')
    .replaceAll('/etc/apache2/sse/jwt.secret', secret);
  const { code, output } = await configTest(shippedConf(uncommented));
  assert.equal(code, 0, output);
  assert.match(output, /Syntax OK/);
});

// ---------------------------------------------------------------- 13. blocking mode

test('blocking mode (mpm_worker): a client that disconnects causes no store finds after one interval', async () => {
  const a = await startApache({
    storeUri: store.uri, mpm: 'worker', pollInterval: '300ms', keepalive: '2s',
    threadsPerChild: 16, serverLimit: 1, startServers: 1,
  });
  blockingServers.push(a);
  const s = await openStream(`${a.url}/v1/meetings/blk/events`, { token: alice });
  assert.equal(s.status, 200);
  await s.next((e) => e.event === 'status');
  // polling really runs while the client is there
  const q0 = (await opcounters(store.uri)).query;
  await sleep(1000);
  const q1 = (await opcounters(store.uri)).query;
  assert.ok(q1 - q0 >= 2, `${q1 - q0} finds in 1 s at 300ms while connected`);
  s.close();
  await sleep(300 + 300);        // one interval to notice, plus slack
  const before = (await opcounters(store.uri)).query;
  await sleep(300 * 6);
  const afterCount = (await opcounters(store.uri)).query;
  assert.equal(afterCount - before, 0, `${afterCount - before} finds after the client left`);
  assert.ok(a.errorLog().includes('streams run in blocking mode'), 'the child said it runs in blocking mode');
});
