// Hardening (issue 11), against real apache2: keys that cannot be safe are
// refused by `apache2 -t` naming the directive and the key (so tokens forged
// for them never meet a running server); claims match exactly and by type;
// aud without SSEJWTAudience and a wrong typ under SSEJWTType are 401; the
// connected event's instance is opaque unless SSEInstanceName names it; the
// config check accepts settings from regex sections httpd merges; and the
// shipped defaults turn TRACE off and cut clients that trickle headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Long } from 'mongodb';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import {
  ROOT, TEST_SECRET, startMockStore, startApache, storeClient, openStream, configTest, tmpDir,
} from '../lib/harness.mjs';
import { assertBearer401 } from '../lib/sse-client.mjs';
import { renderApacheConf } from '../lib/apache-conf.mjs';

const dir = tmpDir('sse-hardening-');
fs.chmodSync(dir, 0o755);
const file = (name, content) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  fs.chmodSync(p, 0o644);
  return p;
};
const secretFile = file('secret', TEST_SECRET);
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const pemOf = (der) => `-----BEGIN PUBLIC KEY-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g).join('\n')}\n-----END PUBLIC KEY-----\n`;
const now = () => Math.floor(Date.now() / 1000);

// ------------------------------------------------------------- config only

// The harness config plus one more location that carries `directives`.
function confWith(directives, { extra = '' } = {}) {
  return renderApacheConf({
    root: ROOT, dir, port: 1, secretFile, docRoot: path.join(ROOT, 'frontend'), storeUri: 'mongodb://127.0.0.1:1',
    extra: `<Location "/k/">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
${directives}
</Location>
<LocationMatch "^/k/(?<id>[A-Za-z0-9_-]{1,128})$">
    SetHandler sse-resource
</LocationMatch>
${extra}`,
  });
}

async function refused(text, ...patterns) {
  const { code, output } = await configTest(text);
  assert.notEqual(code, 0, `config was accepted:\n${output}`);
  assert.doesNotMatch(output, /Syntax OK/);
  for (const p of patterns) assert.match(output, p);
  return output;
}

async function accepted(text) {
  const { code, output } = await configTest(text);
  assert.equal(code, 0, output);
  assert.match(output, /Syntax OK/);
  return output;
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let rsa;         // a real 2048-bit RS256 key pair
let rsaN;        // its modulus, base64url

function rsaPem(n, e) {
  return crypto.createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
}

// The EMSA-PKCS1-v1_5 block of SHA-256(input) for a k-byte modulus: with
// e = 1 it is itself a valid RS256 signature, no private key needed.
function forgeE1(input, k) {
  const digestInfo = Buffer.from('3031300d060960864801650304020105000420', 'hex');
  const hash = crypto.createHash('sha256').update(input).digest();
  return Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(k - 3 - digestInfo.length - hash.length, 0xff),
    Buffer.from([0]), digestInfo, hash]);
}

function forgedE1Token(claims) {
  const input = `${b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64u(JSON.stringify({ exp: now() + 3600, ...claims }))}`;
  return `${input}.${b64u(forgeE1(input, Buffer.from(rsaN, 'base64url').length))}`;
}

before(async () => {
  rsa = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  rsaN = (await exportJWK(rsa.publicKey)).n;
});

test('RSA keys with e = 1, an even e or an even modulus are refused at apache2 -t, naming SSEJWTKey and the key file', async () => {
  const evenN = Buffer.from(rsaN, 'base64url');
  evenN[evenN.length - 1] &= 0xfe;
  const cases = {
    'e1.pem': [rsaPem(rsaN, 'AQ'), /public exponent 1 is refused/],
    'e2.pem': [rsaPem(rsaN, 'Ag'), /public exponent 2 is refused/],
    'e65536.pem': [rsaPem(rsaN, 'AQAA'), /public exponent 65536 is refused/],
    'evenn.pem': [rsaPem(b64u(evenN), 'AQAB'), /RSA modulus is even/],
  };
  for (const [name, [pem, why]] of Object.entries(cases)) {
    const p = file(name, pem);
    for (const alg of ['RS256', 'PS384']) {
      await refused(confWith(`    SSEJWTKey ${alg} file:${p} kid=k9`), new RegExp(`SSEJWTKey ${alg} file:${esc(p)} kid=k9: `), why);
    }
  }
  // e = 3 and 65537 are fine.
  await accepted(confWith(`    SSEJWTKey RS256 file:${file('e3.pem', rsaPem(rsaN, 'Aw'))}`));
  await accepted(confWith(`    SSEJWTKey RS256 file:${file('e65537.pem', rsaPem(rsaN, 'AQAB'))}`));
});

test('the same RSA keys in a JWK Set are refused naming SSEJWKSFile, the file and the kid', async () => {
  for (const [e, why] of [['AQ', /public exponent 1 is refused/], ['AAAAAQ', /public exponent 1 is refused/], ['BA', /exponent 4 is refused/]]) {
    const p = file(`jwks-e-${e}.json`, JSON.stringify({ keys: [{ kty: 'RSA', kid: 'weak', alg: 'RS256', n: rsaN, e }] }));
    await refused(confWith(`    SSEJWKSFile ${p}`), new RegExp(`SSEJWKSFile: ${esc(p)}: key 0 \\(kid weak\\)`), why);
  }
});

test('a token forged for e = 1 is never accepted: the e = 1 config does not start, and a server with the real key says 401', async () => {
  const forged = forgedE1Token({ sub: 'alice' });
  // The forgery really is one: it verifies under e = 1 with Node's own RSA.
  const [input, sig] = [forged.slice(0, forged.lastIndexOf('.')), forged.slice(forged.lastIndexOf('.') + 1)];
  const e1Key = crypto.createPublicKey({ key: { kty: 'RSA', n: rsaN, e: 'AQ' }, format: 'jwk' });
  assert.equal(crypto.verify('sha256', Buffer.from(input), e1Key, Buffer.from(sig, 'base64url')), true, 'forgery verifies under e = 1');

  const e1File = file('forge-e1.pem', rsaPem(rsaN, 'AQ'));
  await refused(confWith(`    SSEJWTKey RS256 file:${e1File}`), /SSEJWTKey RS256 .*public exponent 1 is refused/);
  const store = await startMockStore({ data: { meetings_app: { meetings: [{ _id: 'm1', ownerId: 'bob', status: 'ready' }] } } });
  try {
    await assert.rejects(startApache({ storeUri: store.uri, locationExtra: `    SSEJWTKey RS256 file:${e1File}` }),
      /public exponent 1 is refused/);
    const real = await startApache({ storeUri: store.uri, locationExtra: `    SSEJWTKey RS256 file:${file('real.pem', rsaPem(rsaN, 'AQAB'))}` });
    try {
      const res = await fetch(`${real.url}/v1/meetings/m1`, { headers: { Authorization: `Bearer ${forgedE1Token({ sub: 'bob' })}` } });
      await assertBearer401(res, { challenge: /signature mismatch/ });
    } finally { await real.stop(); }
  } finally { await store.stop(); }
});

// The 8 small-order points of Ed25519 and non-canonical encodings.
const ED_SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];
const ED_NON_CANONICAL = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (y = 0 again)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (y = 1 again)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // p + 1, sign set
  'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // 2^255 - 1
  '0100000000000000000000000000000000000000000000000000000000000080', // identity, sign set
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // order 2, sign set
];
const edPem = (hex) => pemOf(Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(hex, 'hex')]));

test('all 8 small-order Ed25519 keys are refused, as PEM and as JWK', async () => {
  for (const [i, hex] of ED_SMALL_ORDER.entries()) {
    const p = file(`small-${i}.pem`, edPem(hex));
    await refused(confWith(`    SSEJWTKey EdDSA file:${p}`), new RegExp(`SSEJWTKey EdDSA file:${esc(p)}: Ed25519 key is a small-order point`));
    const j = file(`small-${i}.json`, JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', kid: `s${i}`, alg: 'EdDSA', x: b64u(Buffer.from(hex, 'hex')) }] }));
    await refused(confWith(`    SSEJWKSFile ${j}`), new RegExp(`SSEJWKSFile: .*kid s${i}.*small-order point`));
  }
});

test('non-canonical Ed25519 encodings are refused; a generated key is accepted', async () => {
  for (const [i, hex] of ED_NON_CANONICAL.entries()) {
    const p = file(`noncanon-${i}.pem`, edPem(hex));
    await refused(confWith(`    SSEJWTKey EdDSA file:${p}`), /SSEJWTKey EdDSA .*not canonically encoded/);
  }
  const { publicKey } = crypto.generateKeyPairSync('ed25519');
  await accepted(confWith(`    SSEJWTKey EdDSA file:${file('ed-good.pem', publicKey.export({ type: 'spki', format: 'pem' }))}`));
});

test('an EdDSA token forged for the identity key (R = identity, S = 0) meets no server: the key is refused', async () => {
  // Node's Ed25519 accepts it for any message: that is the forgery.
  const identity = crypto.createPublicKey({ key: Buffer.from(edPem(ED_SMALL_ORDER[0])), format: 'pem' });
  const sig = Buffer.concat([Buffer.from(ED_SMALL_ORDER[0], 'hex'), Buffer.alloc(32)]);
  const input = `${b64u('{"alg":"EdDSA"}')}.${b64u(JSON.stringify({ sub: 'bob', exp: now() + 60 }))}`;
  assert.equal(crypto.verify(null, Buffer.from(input), identity, sig), true, 'forgery verifies under the identity key');
  await refused(confWith(`    SSEJWTKey EdDSA file:${file('identity.pem', edPem(ED_SMALL_ORDER[0]))}`), /small-order point/);
});

test('a public key configured as an HMAC secret is refused, from file:, env: or a JWK Set oct key', async () => {
  const rsaPemText = rsaPem(rsaN, 'AQAB');
  const ecJwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
  const forms = {
    'rsa.pem': [rsaPemText, /a PEM block/],
    'indented.pem': [`\n   ${rsaPemText}`, /a PEM block/],
    'cert.pem': ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', /a PEM block/],
    'rsa.der': [crypto.createPublicKey(rsaPemText).export({ type: 'spki', format: 'der' }), /a DER public key/],
    'ec.jwk': [JSON.stringify(ecJwk), /a JSON object/],
    'set.jwks': [JSON.stringify({ keys: [ecJwk] }), /a JSON object/],
    'id.pub': ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHN0aWxsIGEgcHVibGljIGtleQ user@example', /an OpenSSH public key/],
  };
  for (const [name, [content, why]] of Object.entries(forms)) {
    const p = file(name, content);
    for (const alg of ['HS256', 'HS512']) {
      await refused(confWith(`    SSEJWTKey ${alg} file:${p}`),
        new RegExp(`SSEJWTKey ${alg} file:${esc(p)}: ${alg} secret is `), why, /a public key is no HMAC secret/);
    }
    const oct = file(`${name}.oct.json`, JSON.stringify({ keys: [{ kty: 'oct', kid: 'o', alg: 'HS256', k: b64u(content) }] }));
    await refused(confWith(`    SSEJWKSFile ${oct}`), /SSEJWKSFile: .*kid o.*a public key is no HMAC secret/);
  }
  process.env.SSE_HARDENING_PEM_SECRET = rsaPemText;
  try {
    await refused(confWith('    SSEJWTKey HS256 env:SSE_HARDENING_PEM_SECRET'), /SSEJWTKey HS256 env:SSE_HARDENING_PEM_SECRET: .*a PEM block/);
  } finally { delete process.env.SSE_HARDENING_PEM_SECRET; }
});

test('EC keys: an off-curve point is refused on P-256, P-384 and P-521, as PEM and as JWK; the real point loads', async () => {
  for (const [alg, crv] of [['ES256', 'P-256'], ['ES384', 'P-384'], ['ES512', 'P-521']]) {
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: crv });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    await accepted(confWith(`    SSEJWTKey ${alg} file:${file(`${crv}.pem`, pemOf(der))}`));
    const bad = Buffer.from(der);
    bad[bad.length - 1] ^= 1; // y's last bit: no longer on the curve
    await refused(confWith(`    SSEJWTKey ${alg} file:${file(`${crv}-off.pem`, pemOf(bad))}`), new RegExp(`SSEJWTKey ${alg} file:`));

    const jwk = publicKey.export({ format: 'jwk' });
    const y = Buffer.from(jwk.y, 'base64url');
    y[y.length - 1] ^= 1;
    const ok = file(`${crv}.json`, JSON.stringify({ keys: [{ ...jwk, kid: 'e', alg }] }));
    await accepted(confWith(`    SSEJWKSFile ${ok}`));
    const off = file(`${crv}-off.json`, JSON.stringify({ keys: [{ ...jwk, y: b64u(y), kid: 'e', alg }] }));
    await refused(confWith(`    SSEJWKSFile ${off}`), /SSEJWKSFile: .*kid e.*invalid EC key/);
  }
});

test('keys without SSEJWTAudience pass apache2 -t with a warning; with it, no warning', async () => {
  const warn = /no SSEJWTAudience/;
  assert.match(await accepted(confWith('    SSEJWTKey HS256 file:' + secretFile)), warn);
  const text = confWith(`    SSEJWTKey HS256 file:${secretFile}\n    SSEJWTAudience meetings-api`)
    .replace('SSEOwnerField ownerId', 'SSEOwnerField ownerId\n    SSEJWTAudience meetings-api');
  assert.doesNotMatch(await accepted(text), warn);
});

test('SSEJWTType and SSEInstanceName refuse bad values, naming the directive', async () => {
  await refused(confWith('    SSEJWTKey HS256 file:' + secretFile + '\n    SSEJWTType "at jwt"'), /SSEJWTType: 'at jwt' is not a media type/);
  await refused(confWith('    SSEJWTKey HS256 file:' + secretFile, { extra: 'SSEInstanceName "two words"' }), /SSEInstanceName: /);
  await accepted(confWith('    SSEJWTKey HS256 file:' + secretFile + '\n    SSEJWTType application/at+jwt', { extra: 'SSEInstanceName eu-1a' }));
});

// ------------------------------------------- config check: regex sections

const handlerOnly = (loc) => `<Location "${loc}">
    Require all granted
    SetHandler sse-resource
</Location>`;
const settings = `    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEJWTKey HS256 file:${secretFile}
    SSEJWTAudience meetings-api`;

test('settings in <LocationMatch "^/v1/"> around a <Location> handler are accepted, without a warning', async () => {
  const out = await accepted(confWith(`    SSEJWTKey HS256 file:${secretFile}`, {
    extra: `<LocationMatch "^/r1/">\n${settings}\n</LocationMatch>\n${handlerOnly('/r1/things/')}\n` +
      `<LocationMatch "^/r2/.*">\n${settings}\n</LocationMatch>\n${handlerOnly('/r2/things/')}`,
  }));
  assert.doesNotMatch(out, /comes only from a regex section/);
});

test('settings from a regex the check cannot decide are a warning, not an error; a handler nothing reaches is still an error', async () => {
  const out = await accepted(confWith(`    SSEJWTKey HS256 file:${secretFile}`, {
    extra: `<LocationMatch "^/r[34]/">\n${settings}\n</LocationMatch>\n${handlerOnly('/r3/things/')}\n` +
      `<Location ~ "^/r5/(a|b)/">\n${settings}\n</Location>\n${handlerOnly('/r5/a/x/')}`,
  }));
  assert.match(out, /SetHandler sse-resource: SSEDatabase comes only from a regex section/);
  await refused(confWith(`    SSEJWTKey HS256 file:${secretFile}`, {
    extra: `<LocationMatch "^/r6/">\n${settings}\n</LocationMatch>\n${handlerOnly('/r7/things/')}`,
  }), /SetHandler sse-resource is used but no SSEDatabase applies/);
  await refused(confWith(`    SSEJWTKey HS256 file:${secretFile}`, { extra: handlerOnly('/r8/') }),
    /SetHandler sse-resource is used but no SSEDatabase applies/);
});

// ------------------------------------------------------- a running server

const t0 = { $date: '2026-11-25T09:00:00.000Z' };
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'alice1', ownerId: 'alice', title: 'Alice', status: 'ready', updatedAt: t0 },
      { _id: 'str12345', ownerId: '12345', title: 'String owner', status: 'ready', updatedAt: t0 },
      { _id: 'empty', ownerId: '', title: 'Empty owner', status: 'ready', updatedAt: t0 },
      { _id: 'shared', ownerId: ['carol', 'dave'], title: 'Shared', status: 'ready', updatedAt: t0 },
    ],
  },
};

const hsLoc = (prefix, body) => `
<Location "/${prefix}/">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEJWTKey HS256 file:${secretFile}
${body}
</Location>
<LocationMatch "^/${prefix}/(?<id>[A-Za-z0-9_-]{1,128})/events$">
    SetHandler sse-stream
</LocationMatch>
<LocationMatch "^/${prefix}/(?<id>[A-Za-z0-9_-]{1,128})$">
    SetHandler sse-resource
</LocationMatch>`;

let store, apache, mongo;

before(async () => {
  store = await startMockStore({ data: DATA });
  mongo = await storeClient(store.uri);
  const meetings = mongo.db('meetings_app').collection('meetings');
  // Through the driver so the owners are BSON int32 and int64.
  await meetings.insertMany([
    { _id: 'int12345', ownerId: 12345, title: 'Int owner', status: 'ready' },
    { _id: 'long', ownerId: Long.fromString('1099511627776'), title: 'Int64 owner', status: 'ready' },
    { _id: 'mixed', ownerId: ['carol', 12345], title: 'Mixed array owner', status: 'ready' },
  ]);
  apache = await startApache({
    storeUri: store.uri, pollInterval: '500ms', keepalive: '1s', startServers: 1, serverLimit: 1,
    extra: [
      hsLoc('h/sub', '    SSEOwnerField ownerId'),
      hsLoc('h/uid', '    SSEOwnerField ownerId\n    SSEOwnerClaim uid'),
      hsLoc('h/aud', '    SSEJWTAudience meetings-api'),
      hsLoc('h/typ', '    SSEJWTType at+jwt'),
      // Settings from a prefix regex around a <Location> handler: httpd merges it.
      // (The handler is a regex too: it needs the (?<id>) group.)
      `<LocationMatch "^/h/rx/">\n${settings}\n</LocationMatch>
<LocationMatch "^/h/rx/(?<id>[a-z0-9]+)$">\n    SetHandler sse-resource\n</LocationMatch>`,
    ].join('\n'),
  });
});

after(async () => {
  await mongo?.close();
  await apache?.stop();
  await store?.stop();
});

function token(payload, header = {}) {
  return new SignJWT({ exp: now() + 3600, ...payload }).setProtectedHeader({ alg: 'HS256', ...header }).sign(TEST_SECRET);
}

async function get(p, tok) {
  const res = await fetch(`${apache.url}${p}`, { headers: tok ? { Authorization: `Bearer ${tok}` } : {} });
  const body = await res.text();
  return { status: res.status, body, challenge: res.headers.get('www-authenticate') };
}

test('claim names match exactly: SUB or Sub never stands for sub, nor UID for uid', async () => {
  assert.equal((await get('/h/sub/alice1', await token({ sub: 'alice' }))).status, 200);
  for (const claims of [{ SUB: 'alice' }, { Sub: 'alice' }, { SUB: 'alice', sub: 'mallory' }, { ' sub': 'alice' }]) {
    assert.equal((await get('/h/sub/alice1', await token(claims))).status, 404, JSON.stringify(claims));
  }
  assert.equal((await get('/h/uid/int12345', await token({ sub: 'x', uid: 12345 }))).status, 200);
  assert.equal((await get('/h/uid/int12345', await token({ sub: 'x', UID: 12345 }))).status, 404);
  // The stream answers the same way.
  const s = await openStream(`${apache.url}/h/sub/alice1/events`, { token: await token({ SUB: 'alice' }) });
  assert.equal(s.status, 404);
});

test('the owner check is typed: a string matches a string, an integer an integer, nothing across', async () => {
  const cases = [
    ['/h/uid/int12345', 12345, 200],
    ['/h/uid/int12345', '12345', 404],
    ['/h/uid/int12345', 12345.5, 404],
    ['/h/uid/str12345', '12345', 200],
    ['/h/uid/str12345', 12345, 404],
    ['/h/uid/str12345', ' 12345', 404],
    ['/h/uid/long', 1099511627776, 200],
    ['/h/uid/long', '1099511627776', 404],
    ['/h/uid/mixed', 12345, 200],
    ['/h/uid/mixed', '12345', 404],
    ['/h/uid/mixed', 'carol', 200],
    ['/h/uid/shared', 'dave', 200],
    ['/h/uid/shared', 'Dave', 404],
    ['/h/uid/empty', '', 404],
    ['/h/uid/alice1', true, 404],
    ['/h/uid/alice1', ['alice'], 404],
  ];
  for (const [p, uid, want] of cases) {
    assert.equal((await get(p, await token({ sub: 'x', uid }))).status, want, `${p} with uid ${JSON.stringify(uid)}`);
  }
});

test('a token with aud where no SSEJWTAudience is set is 401 "unexpected audience"; with the audience set it is checked', async () => {
  for (const aud of ['meetings-api', ['meetings-api'], 'other']) {
    const r = await get('/h/sub/alice1', await token({ sub: 'alice', aud }));
    assert.equal(r.status, 401, JSON.stringify(aud));
    assert.match(r.challenge, /error="invalid_token", error_description="unexpected audience"/);
    assert.equal(JSON.parse(r.body).error, 'invalid_token');
  }
  assert.equal((await get('/h/aud/alice1', await token({ sub: 'alice', aud: 'meetings-api' }))).status, 200);
  assert.match((await get('/h/aud/alice1', await token({ sub: 'alice', aud: 'other' }))).challenge, /wrong audience/);
  assert.match((await get('/h/aud/alice1', await token({ sub: 'alice' }))).challenge, /wrong audience/);
});

test('SSEJWTType: typ must match (case-insensitive, application/ optional); unset, any typ passes', async () => {
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
    assert.equal((await get('/h/typ/alice1', await token({ sub: 'alice' }, { typ }))).status, 200, typ);
  }
  for (const typ of ['JWT', 'jwt', 'at+jwt2', 'text/at+jwt', undefined]) {
    const r = await get('/h/typ/alice1', await token({ sub: 'alice' }, typ === undefined ? {} : { typ }));
    assert.equal(r.status, 401, String(typ));
    assert.match(r.challenge, /error_description="wrong token type"/);
  }
  assert.equal((await get('/h/sub/alice1', await token({ sub: 'alice' }, { typ: 'whatever' }))).status, 200);
});

test('settings from <LocationMatch "^/h/rx/"> reach the handler section inside it: httpd merges them and the request is served', async () => {
  assert.equal((await get('/h/rx/alice1', await token({ sub: 'alice', aud: 'meetings-api' }))).status, 200);
});

test('the connected event names an opaque instance: no host, port or PID; the same for one child', async () => {
  const ids = [];
  for (let i = 0; i < 2; i++) {
    const s = await openStream(`${apache.url}/h/sub/alice1/events`, { token: await token({ sub: 'alice' }) });
    try {
      const connected = await s.next((e) => e.event === 'connected');
      ids.push(connected.json.instance);
    } finally { s.close(); }
  }
  const [child] = apache.children();
  assert.match(ids[0], /^[0-9a-f]{16}$/);
  assert.equal(ids[1], ids[0], 'stable for the child');
  assert.ok(!ids[0].includes(String(apache.port)) && !ids[0].includes(String(child)) && !ids[0].includes('127.0.0.1'));
});

// --------------------------------------------- shipped defaults: TRACE, slow headers

// One raw HTTP exchange; resolves with what the server sent and when it closed.
function rawExchange(port, write, { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const started = Date.now();
    let data = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no close within ${timeoutMs} ms; got ${data}`)); }, timeoutMs);
    sock.on('data', (d) => { data += d; });
    sock.on('error', () => {});
    sock.on('close', () => { clearTimeout(timer); resolve({ data, closedAfter: Date.now() - started }); });
    sock.on('connect', () => write(sock));
  });
}

test('TRACE is 405 and never echoes the bearer token (TraceEnable Off from conf/sse.conf)', async () => {
  const tok = await token({ sub: 'alice' });
  for (const p of ['/v1/meetings/m1/events', '/h/sub/alice1', '/health/ready', '/']) {
    const { data } = await rawExchange(apache.port, (sock) => sock.end(
      `TRACE ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tok}\r\nConnection: close\r\n\r\n`));
    assert.match(data, /^HTTP\/1\.1 405 /, `${p}: ${data.slice(0, 80)}`);
    assert.ok(!data.includes(tok), `${p}: the token came back`);
  }
});

test('a client that trickles its headers is cut by RequestReadTimeout; a running stream is not', async (t) => {
  const slowStore = await startMockStore({ data: DATA });
  const slow = await startApache({
    storeUri: slowStore.uri, keepalive: '500ms', pollInterval: '500ms', startServers: 1, serverLimit: 1,
    requestReadTimeout: 'header=1-2,MinRate=500 body=1,MinRate=500',
    extra: 'SSEInstanceName edge-7',
  });
  try {
    // One byte every 200 ms: 5 B/s, far under MinRate; it would take ~12 s.
    const request = 'GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n';
    let stop = false;
    const { data, closedAfter } = await rawExchange(slow.port, async (sock) => {
      for (const ch of request) {
        if (stop || sock.destroyed) return;
        sock.write(ch);
        await sleep(200);
      }
    });
    stop = true;
    assert.ok(closedAfter < 4000, `cut after ${closedAfter} ms`);
    assert.ok(data === '' || /^HTTP\/1\.1 408 /.test(data), `answer: ${data.slice(0, 60)}`);
    t.diagnostic(`trickling client cut after ${closedAfter} ms (${data.slice(0, 24) || 'no answer'})`);

    // Headers sent at once are served.
    const fast = await rawExchange(slow.port, (sock) => sock.end('GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    assert.match(fast.data, /^HTTP\/1\.1 200 /);

    // A stream outlives both timeouts, and names the instance as configured.
    const s = await openStream(`${slow.url}/v1/meetings/alice1/events`, { token: await token({ sub: 'alice' }) });
    try {
      const connected = await s.next((e) => e.event === 'connected');
      assert.equal(connected.json.instance, 'edge-7');
      await sleep(3000);
      assert.equal(s.ended, false, 'stream still open after 3 s');
      assert.ok(s.comments.some((c) => c.at - connected.at > 2500), 'pings still arrive after the timeouts');
    } finally { s.close(); }
  } finally {
    await slow.stop();
    await slowStore.stop();
  }
});
