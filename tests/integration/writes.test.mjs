// Writes (sse-update, issue 14) against real apache2 + mock-store: every
// answer code, each hostile input class refused with the store unchanged
// (read back through the Node driver), the race of two writers on one
// version, the stream delivering the write once, the write concern as the
// store received it, writeConcernError through the failpoint, CORS, and the
// config checks. One Apache and one mock-store for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ROOT, startMockStore, startApache, storeClient, mintToken, openStream, configTest, tmpDir, testSecretFile,
} from '../lib/harness.mjs';
import { renderApacheConf, renderSseLocation } from '../lib/apache-conf.mjs';

const POLL_MS = 300;
const ORIGIN = 'https://app.example.com';
const t0 = { $date: '2026-11-25T09:00:00.000Z' };
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'm1', ownerId: 'alice', title: 'Weekly sync', status: 'transcribing', progress: 40, updatedAt: t0 },
      { _id: 'race', ownerId: 'alice', title: 'Race', status: 'ready', updatedAt: t0 },
      { _id: 'stream', ownerId: 'alice', title: 'Streamed', status: 'ready', updatedAt: t0 },
      { _id: 'shared', ownerId: ['alice', 'carol'], title: 'Shared', status: 'ready', updatedAt: t0 },
      { _id: 'm5', ownerId: 'bob', title: 'Bob only', status: 'ready', updatedAt: t0 },
      { _id: 'wc', ownerId: 'alice', title: 'Write concern', status: 'ready', updatedAt: t0 },
      { _id: 'fail', ownerId: 'alice', title: 'Failpoint', status: 'ready', updatedAt: t0 },
      { _id: 'cors', ownerId: 'alice', title: 'Cross origin', status: 'ready', updatedAt: t0 },
      { _id: 'noversion', ownerId: 'alice', title: 'No version field' },
      // integer version and integer owner: /v2/counted/
      { _id: 'c1', ownerNum: 7, rev: 3, title: 'Counted', done: false, count: 1, score: 0.5 },
      { _id: 'c2', ownerNum: 8, rev: 1, title: 'Not seven' },
    ],
  },
};

let store, apache, db, client, alice, bob, carol;

before(async () => {
  store = await startMockStore({ data: DATA });
  const secretFile = testSecretFile();
  apache = await startApache({
    storeUri: store.uri,
    secretFile,
    pollInterval: `${POLL_MS}ms`,
    locationExtra: `    SSECORSAllowOrigin ${ORIGIN}\n    SSETokenQueryParam access_token`,
    // An integer version and an integer owner claim, w: 1, a small body limit.
    extra: renderSseLocation('/v2/counted/', {
      secretFile,
      resource: false,
      directives: `SSEVersionField rev
        SSEOwnerField ownerNum
        SSEOwnerClaim uid
        SSEPollInterval ${POLL_MS}ms
        SSEWriteConcern 1
        SSEWriteTimeout 250ms
        SSEMaxBody 64`,
    }) + `
<LocationMatch "^/v2/counted/(?<id>[A-Za-z0-9_-]{1,128})$">
    SetHandler sse-update
    SSEWritableField title string 5
    SSEWritableField done bool
    SSEWritableField count int
    SSEWritableField score number
</LocationMatch>`,
  });
  client = await storeClient(store.uri);
  db = client.db('meetings_app').collection('meetings');
  alice = await mintToken({ sub: 'alice' });
  bob = await mintToken({ sub: 'bob' });
  carol = await mintToken({ sub: 'carol' });
});

after(async () => {
  await client?.close();
  await apache?.stop();
  await store?.stop();
});

const url = (id, prefix = '/v1/meetings/') => `${apache.url}${prefix}${id}`;

async function etagOf(id, token = alice, prefix) {
  const res = await fetch(url(id, prefix), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `GET ${id}`);
  await res.text();
  return res.headers.get('etag');
}

function patch(id, body, { token = alice, ifMatch, type = 'application/merge-patch+json', headers = {}, prefix, query = '' } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (type) h['Content-Type'] = type;
  if (ifMatch) h['If-Match'] = ifMatch;
  return fetch(url(id, prefix) + query, { method: 'PATCH', headers: h, body });
}

async function answer(res) {
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, etag: res.headers.get('etag'), text, json, headers: res.headers };
}

const stored = (id) => db.findOne({ _id: id });

// A refused write changes nothing: the document reads back identical.
async function refusedUnchanged(id, send, expectStatus, check = () => {}) {
  const before = await stored(id);
  const a = await answer(await send());
  assert.equal(a.status, expectStatus, a.text);
  check(a);
  assert.deepEqual(await stored(id), before, 'the store is unchanged');
  return a;
}

async function serverStatus() {
  return client.db('admin').command({ serverStatus: 1 });
}

// ------------------------------------------------------------------ success

test('200: the patch is stored, the date version moves on, and the answer is the new document with its ETag', async () => {
  const etag = await etagOf('m1');
  assert.equal(etag, '"2026-11-25T09:00:00.000Z"');
  const before = Date.now();
  const a = await answer(await patch('m1', JSON.stringify({ title: 'Renamed' }), { ifMatch: etag }));
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.title, 'Renamed');
  assert.equal(a.json.status, 'transcribing', 'other fields stay');
  assert.notEqual(a.etag, etag);
  assert.equal(a.etag, `"${a.json.updatedAt}"`);
  const doc = await stored('m1');
  assert.equal(doc.title, 'Renamed');
  assert.ok(doc.updatedAt instanceof Date, 'the version stays a date ($currentDate)');
  assert.ok(doc.updatedAt.getTime() >= before - 1000);
  assert.equal(await etagOf('m1'), a.etag, 'GET gives the ETag the PATCH answered');
});

test('the write concern reaches the store: majority with wtimeout 5000 by default, w: 1 where SSEWriteConcern 1', async () => {
  const s0 = await serverStatus();
  const a = await answer(await patch('wc', '{"title":"Durable"}', { ifMatch: await etagOf('wc') }));
  assert.equal(a.status, 200, a.text);
  const s1 = await serverStatus();
  assert.equal(Number(s1.opWriteConcernCounters.update.wmajority), Number(s0.opWriteConcernCounters.update.wmajority) + 1);
  assert.equal(s1.lastWriteConcern.w, 'majority');
  assert.equal(Number(s1.lastWriteConcern.wtimeout), 5000);

  const b = await answer(await patch('c1', '{"count":2}', { token: await mintToken({ sub: 'x', claims: { uid: 7 } }), ifMatch: '"3"', prefix: '/v2/counted/' }));
  assert.equal(b.status, 200, b.text);
  const s2 = await serverStatus();
  assert.equal(Number(s2.lastWriteConcern.w), 1);
  assert.equal(Number(s2.lastWriteConcern.wtimeout), 250);
  assert.equal(Number(s2.opWriteConcernCounters.update.wnum['1'] ?? 0), Number(s1.opWriteConcernCounters.update.wnum['1'] ?? 0) + 1);
});

test('an integer version moves on by $inc; an integer owner claim matches an integer owner; bool, int and number fields; null removes', async () => {
  const uid7 = await mintToken({ sub: 'x', claims: { uid: 7 } });
  const opts = { token: uid7, prefix: '/v2/counted/' };
  const ifMatch = `"${(await stored('c1')).rev}"`;
  const a = await answer(await patch('c1', '{"done":true,"count":-4,"score":2.25,"title":null}', { ...opts, ifMatch }));
  assert.equal(a.status, 200, a.text);
  const doc = await stored('c1');
  assert.equal(doc.rev, Number(ifMatch.slice(1, -1)) + 1);
  assert.equal(typeof doc.rev, 'number');
  assert.equal(a.etag, `"${doc.rev}"`);
  assert.equal(doc.done, true);
  assert.equal(doc.count, -4);
  assert.equal(doc.score, 2.25);
  assert.ok(!('title' in doc), 'null removed the writable field');
  // The claim "7" (a string) is not the integer 7; a document of uid 8 is not uid 7's.
  await refusedUnchanged('c1', async () => patch('c1', '{"done":false}', { ...opts, token: await mintToken({ sub: 'x', claims: { uid: '7' } }), ifMatch: a.etag }), 404);
  await refusedUnchanged('c2', () => patch('c2', '{"done":false}', { ...opts, ifMatch: '"1"' }), 404);
  // Integer checks: 1.5 is no int, "1" no int, 1 no bool.
  for (const [body, field] of [['{"count":1.5}', 'count'], ['{"count":"1"}', 'count'], ['{"done":1}', 'done'], ['{"score":"2"}', 'score']]) {
    await refusedUnchanged('c1', () => patch('c1', body, { ...opts, ifMatch: a.etag }), 422, (r) => assert.equal(r.json.field, field, body));
  }
});

test('an owner array containing the claim may write; a stranger gets 404 and changes nothing', async () => {
  const etag = await etagOf('shared', carol);
  await refusedUnchanged('shared', () => patch('shared', '{"title":"x"}', { token: bob, ifMatch: etag }), 404);
  const a = await answer(await patch('shared', '{"title":"By carol"}', { token: carol, ifMatch: etag }));
  assert.equal(a.status, 200, a.text);
});

// ------------------------------------------------------------------ refusals

test('404: no such document, and a document that is not the caller\'s, both change nothing', async () => {
  const a = await answer(await patch('nosuch', '{"title":"x"}', { ifMatch: '"x"' }));
  assert.equal(a.status, 404);
  assert.equal(a.json.error, 'not_found');
  const etag = await etagOf('m5', bob);
  await refusedUnchanged('m5', () => patch('m5', '{"title":"Mine now"}', { ifMatch: etag }), 404,
    (r) => assert.equal(r.json.error, 'not_found'));
});

test('412: a stale If-Match gets the current document and its ETag, and changes nothing', async () => {
  const current = await etagOf('m1');
  await refusedUnchanged('m1', () => patch('m1', '{"title":"Stale"}', { ifMatch: '"2026-11-25T09:00:00.000Z"' }), 412, (a) => {
    assert.equal(a.etag, current);
    assert.equal(a.json._id, 'm1');
    assert.equal(`"${a.json.updatedAt}"`, current);
  });
  // A weak tag never matches (If-Match compares strongly).
  await refusedUnchanged('m1', () => patch('m1', '{"title":"Weak"}', { ifMatch: `W/${current}` }), 412);
});

test('428: no If-Match, or If-Match: *, changes nothing; a malformed If-Match is 400', async () => {
  await refusedUnchanged('m1', () => patch('m1', '{"title":"x"}'), 428, (a) => assert.equal(a.json.error, 'precondition_required'));
  await refusedUnchanged('m1', () => patch('m1', '{"title":"x"}', { ifMatch: '*' }), 428, (a) => assert.match(a.json.message, /\*/));
  await refusedUnchanged('m1', () => patch('m1', '{"title":"x"}', { ifMatch: 'unquoted' }), 400);
});

test('415: a body that is not application/merge-patch+json, with Accept-Patch', async () => {
  const ifMatch = await etagOf('m1');
  for (const type of ['application/json', 'text/plain', 'application/merge-patch+jsonx', null]) {
    await refusedUnchanged('m1', () => patch('m1', '{"title":"x"}', { ifMatch, type }), 415, (a) => {
      assert.equal(a.headers.get('accept-patch'), 'application/merge-patch+json');
    });
  }
  // parameters are allowed
  await refusedUnchanged('m1', () => patch('m1', '{"nope":1}', { ifMatch, type: 'application/merge-patch+json; charset=utf-8' }), 422);
});

// A raw HTTP/1.1 request, for bodies fetch() will not send as they are.
function rawRequest(port, head, body) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('error', () => resolve(data));
    sock.on('close', () => resolve(data));
    sock.on('connect', () => {
      sock.write(head);
      if (body) sock.write(body, () => {});
    });
    setTimeout(() => { sock.destroy(); resolve(data); }, 10000).unref();
    void reject;
  });
}

test('413: a body over SSEMaxBody, whether Content-Length says so, the body is chunked, or Content-Length understates it', async () => {
  const ifMatch = await etagOf('m1');
  const big = JSON.stringify({ title: 'x'.repeat(20000) });
  await refusedUnchanged('m1', () => patch('m1', big, { ifMatch }), 413, (a) => assert.equal(a.json.error, 'too_large'));

  // chunked, no Content-Length: the bound holds while reading
  const before = await stored('m1');
  const chunked = await new Promise((resolve, reject) => {
    const req = http.request(url('m1'), {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'application/merge-patch+json', 'If-Match': ifMatch },
    }, (res) => { let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve({ status: res.statusCode, t })); });
    req.on('error', reject);
    for (let i = 0; i < 40; i++) req.write('x'.repeat(1000));
    req.end();
  });
  assert.equal(chunked.status, 413, chunked.t);
  assert.deepEqual(await stored('m1'), before);

  // Content-Length 16 but 100 KB follow: only 16 bytes are the body (not JSON: 400);
  // the rest is never taken as a patch.
  const head = `PATCH /v1/meetings/m1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\n`
    + `Content-Type: application/merge-patch+json\r\nIf-Match: ${ifMatch}\r\nContent-Length: 16\r\n\r\n`;
  const raw = await rawRequest(apache.port, head, '{"title":"' + 'y'.repeat(100000) + '"}');
  assert.match(raw, /^HTTP\/1\.1 400 /);
  assert.doesNotMatch(raw, /HTTP\/1\.1 200 /);
  assert.deepEqual(await stored('m1'), before);
  // and a small limit holds exactly: SSEMaxBody 64 on /v2/counted/
  const uid7 = await mintToken({ sub: 'x', claims: { uid: 7 } });
  const c1 = `"${(await stored('c1')).rev}"`;
  await refusedUnchanged('c1', () => patch('c1', `{"count":${'1'.repeat(60)}}`, { token: uid7, ifMatch: c1, prefix: '/v2/counted/' }), 413);
});

test('422 names the field for each hostile class, and nothing is stored', async () => {
  const ifMatch = await etagOf('m1');
  const cases = [
    ['{"status":"ready"}', 'status', 'a field not allowed'],
    ['{"$set":{"title":"x"}}', '$set', 'an operator'],
    ['{"title.x":"y"}', 'title.x', 'a dotted name'],
    ['{"a.b":1}', 'a.b', 'a dotted name not allowed anyway'],
    ['{"title\\u0000":"x"}', 'title\\u0000', 'a NUL in a name'],
    ['{"title":"a\\u0000b"}', 'title', 'a NUL in a value'],
    ['{"title":42}', 'title', 'a number into a string'],
    ['{"title":true}', 'title', 'a bool into a string'],
    ['{"title":["x"]}', 'title', 'an array into a string'],
    ['{"title":{"$gt":""}}', 'title', 'a nested object into a string'],
    [JSON.stringify({ title: 'x'.repeat(201) }), 'title', 'over 200 characters'],
    [JSON.stringify({ title: '\u00e9'.repeat(201) }), 'title', 'over 200 characters of two bytes each'],
    ['{"title":"a","title":"b"}', 'title', 'a duplicate name'],
    ['{"updatedAt":null}', 'updatedAt', 'the version field'],
    ['{"ownerId":"bob"}', 'ownerId', 'the owner field'],
    ['{"_id":"m9"}', '_id', 'the id'],
    ['{"status":null}', 'status', 'null on a field not writable'],
    ['{"title":"ok","status":"ready"}', 'status', 'one bad field among good ones'],
  ];
  for (const [body, field, what] of cases) {
    await refusedUnchanged('m1', () => patch('m1', body, { ifMatch }), 422, (a) => {
      assert.equal(a.json.field, field, `${what}: ${a.text}`);
      assert.ok(a.json.message, what);
    });
  }
  // non-object bodies: 422 without a field
  for (const body of ['[{"title":"x"}]', '"title"', '42', 'null', '{}']) {
    await refusedUnchanged('m1', () => patch('m1', body, { ifMatch }), 422, (a) => assert.equal(a.json.error, 'invalid_patch', body));
  }
});

test('400: invalid JSON, invalid UTF-8, an empty body; nothing is stored', async () => {
  const ifMatch = await etagOf('m1');
  const bodies = ['{"title":', 'nope', '', Buffer.from([0x7b, 0x22, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])];
  for (const body of bodies) {
    await refusedUnchanged('m1', () => patch('m1', body, { ifMatch }), 400, (a) => assert.equal(a.json.error, 'invalid_json'));
  }
});

test('exactly 200 characters of two-byte text are accepted (the limit counts characters)', async () => {
  const a = await answer(await patch('m1', JSON.stringify({ title: '\u00e9'.repeat(200) }), { ifMatch: await etagOf('m1') }));
  assert.equal(a.status, 200, a.text);
  assert.equal((await stored('m1')).title, '\u00e9'.repeat(200));
});

test('401 without a token; a token in the query string is refused for writes (400), even beside a header', async () => {
  const ifMatch = await etagOf('m1');
  await refusedUnchanged('m1', () => patch('m1', '{"title":"x"}', { token: null, ifMatch }), 401);
  await refusedUnchanged('m1', () => patch('m1', '{"title":"x"}', { token: null, ifMatch, query: `?access_token=${alice}` }), 400, (a) => {
    assert.equal(a.json.error, 'invalid_request');
    assert.match(a.json.message, /Authorization header/);
    assert.match(a.headers.get('www-authenticate'), /invalid_request/);
  });
  await refusedUnchanged('m1', () => patch('m1', '{"title":"x"}', { ifMatch, query: `?access_token=${alice}` }), 400);
  // the same query token still reads (SSETokenQueryParam is on here)
  const res = await fetch(`${url('m1')}?access_token=${alice}`);
  assert.equal(res.status, 200);
  await res.text();
});

test('other methods: POST and PUT are 405 with an Allow that lists PATCH; GET and HEAD are the resource', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await fetch(url('m1'), { method, headers: { Authorization: `Bearer ${alice}` }, body: method === 'DELETE' ? undefined : '{}' });
    assert.equal(res.status, 405, method);
    assert.match(res.headers.get('allow'), /PATCH/);
    await res.text();
  }
  const head = await fetch(url('m1'), { method: 'HEAD', headers: { Authorization: `Bearer ${alice}` } });
  assert.equal(head.status, 200);
  assert.ok(head.headers.get('etag'));
});

test('CORS: a preflight for PATCH with If-Match and Content-Type is answered; the PATCH answer exposes ETag', async () => {
  const pre = await fetch(url('cors'), {
    method: 'OPTIONS',
    headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'authorization, content-type, if-match' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
  assert.match(pre.headers.get('access-control-allow-methods'), /PATCH/);
  const allowed = pre.headers.get('access-control-allow-headers').toLowerCase();
  for (const h of ['authorization', 'content-type', 'if-match']) assert.ok(allowed.includes(h), `${h} in ${allowed}`);
  const a = await answer(await patch('cors', '{"title":"From the app"}', { ifMatch: await etagOf('cors'), headers: { Origin: ORIGIN } }));
  assert.equal(a.status, 200, a.text);
  assert.equal(a.headers.get('access-control-allow-origin'), ORIGIN);
  assert.match(a.headers.get('access-control-expose-headers'), /ETag/);
  const other = await fetch(url('cors'), { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PATCH' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  await other.text();
});

// ------------------------------------------------------------------ races and the stream

test('10 rounds of two concurrent PATCHes with the same If-Match: exactly one 200 and one 412 each', async () => {
  for (let round = 0; round < 10; round++) {
    const ifMatch = await etagOf('race');
    const answers = await Promise.all(['A', 'B'].map((who) => patch('race', JSON.stringify({ title: `${who}${round}` }), { ifMatch }).then(answer)));
    const codes = answers.map((a) => a.status).sort();
    assert.deepEqual(codes, [200, 412], `round ${round}: ${answers.map((a) => a.text).join(' | ')}`);
    const won = answers.find((a) => a.status === 200);
    const lost = answers.find((a) => a.status === 412);
    assert.equal((await stored('race')).title, won.json.title, 'the winner is what is stored');
    assert.equal(lost.etag, won.etag, 'the loser is told the winner\'s version');
  }
});

test('the open stream delivers the written version once', async () => {
  const s = await openStream(`${url('stream')}/events`, { token: alice });
  try {
    assert.equal(s.status, 200);
    const first = await s.next((e) => e.event === 'status');
    const a = await answer(await patch('stream', '{"title":"Live"}', { ifMatch: `"${first.id}"` }));
    assert.equal(a.status, 200, a.text);
    const version = a.etag.slice(1, -1);
    const ev = await s.next((e) => e.event === 'status' && e.id === version, 5000);
    assert.equal(ev.json.title, 'Live');
    await sleep(POLL_MS * 4);
    assert.equal(s.events.filter((e) => e.event === 'status' && e.id === version).length, 1);
    assert.equal(s.events.filter((e) => e.event === 'status').length, 2, 'the first status and the write, nothing more');
  } finally {
    s.close();
  }
});

// ------------------------------------------------------------------ store faults

test('503 write_unconfirmed: a writeConcernError (failCommand) after the write was applied; the client must re-read', async () => {
  const admin = client.db('admin');
  await admin.command({
    configureFailPoint: 'failCommand', mode: { times: 1 },
    data: { failCommands: ['update'], writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out', errInfo: { wtimeout: true } } },
  });
  try {
    const ifMatch = await etagOf('fail');
    const a = await answer(await patch('fail', '{"title":"Maybe durable"}', { ifMatch }));
    assert.equal(a.status, 503, a.text);
    assert.equal(a.json.error, 'write_unconfirmed');
    assert.ok(a.headers.get('retry-after'));
    // As on mongod: the write was applied where it landed; only its durability is unknown.
    assert.equal((await stored('fail')).title, 'Maybe durable');
    assert.notEqual(await etagOf('fail'), ifMatch);
  } finally {
    await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
  }
});

test('503 when the update itself fails (failCommand errorCode): nothing stored, Retry-After', async () => {
  const admin = client.db('admin');
  await admin.command({ configureFailPoint: 'failCommand', mode: { times: 1 }, data: { failCommands: ['update'], errorCode: 91 } });
  try {
    const ifMatch = await etagOf('fail');
    await refusedUnchanged('fail', () => patch('fail', '{"title":"Never"}', { ifMatch }), 503, (a) => {
      assert.equal(a.json.error, 'store_unavailable');
      assert.ok(Number(a.headers.get('retry-after')) >= 1);
    });
  } finally {
    await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
  }
});

test('a document without its version field is refused (500), not written', async () => {
  await refusedUnchanged('noversion', () => patch('noversion', '{"title":"x"}', { ifMatch: '"x"' }), 500);
});

test('each write is logged at info with the id, the field names and the result, never values or the token', async () => {
  const log = apache.errorLog();
  assert.match(log, /mod_sse: write m1 fields \[title\]: 200 saved/);
  assert.match(log, /mod_sse: write m1 fields \[title\]: 412 version_moved|mod_sse: write m1 fields \[\]: 412/);
  assert.match(log, /mod_sse: write race fields \[title\]: 412 version_moved/);
  assert.doesNotMatch(log, /Renamed|From the app|Maybe durable/);
  assert.ok(!log.includes(alice.split('.')[2]), 'no token signature in the log');
});

test('503 with Retry-After when the store is down', async () => {
  const ifMatch = await etagOf('m1');
  await store.stop();
  try {
    const a = await answer(await patch('m1', '{"title":"Offline"}', { ifMatch }));
    assert.equal(a.status, 503, a.text);
    assert.equal(a.json.error, 'store_unavailable');
    assert.ok(Number(a.headers.get('retry-after')) >= 1);
  } finally {
    await store.restart();
  }
  await client.close();
  client = await storeClient(store.uri);
  db = client.db('meetings_app').collection('meetings');
  assert.notEqual((await stored('m1')).title, 'Offline');
});

// ------------------------------------------------------------------ configuration

const confDir = tmpDir('sse-writes-conf-');
const confSecret = path.join(confDir, 'secret');
fs.writeFileSync(confSecret, 'k'.repeat(64));
function updateConf(inner, { version = true } = {}) {
  let text = renderApacheConf({ root: ROOT, dir: confDir, port: 1, secretFile: confSecret, docRoot: path.join(ROOT, 'frontend'), storeUri: 'mongodb://127.0.0.1:1' });
  if (!version) text = text.replace(/^\s*SSEVersionField .*$/m, '');
  return text.replace(/SetHandler sse-update\n\s*SSEWritableField title string 200/, `SetHandler sse-update\n${inner}`);
}
async function refused(text, needle) {
  const { code, output } = await configTest(text);
  assert.notEqual(code, 0, `accepted:\n${output}`);
  assert.ok(output.includes(needle), `names ${needle}:\n${output}`);
}

test('config: httpd -L describes each write directive', async () => {
  const file = path.join(confDir, 'list.conf');
  fs.writeFileSync(file, updateConf('SSEWritableField title string 200'));
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync('/usr/sbin/apache2', ['-L', '-f', file], { encoding: 'utf8' });
  for (const d of ['SSEWritableField', 'SSEMaxBody', 'SSEWriteConcern', 'SSEWriteTimeout']) {
    assert.match(out, new RegExp(`^${d} \\(mod_sse\\.c\\)\\n\\t\\S`, 'm'), d);
  }
});

test('config: the shipped test config with sse-update passes apachectl -t', async () => {
  const { code, output } = await configTest(updateConf('SSEWritableField title string 200'));
  assert.equal(code, 0, output);
});
test('config: sse-update without SSEVersionField is refused (a hash version cannot be written conditionally)', () => refused(updateConf('SSEWritableField title string 200', { version: false }), 'SSEVersionField'));
test('config: sse-update without SSEWritableField is refused', () => refused(updateConf(''), 'SSEWritableField'));
test('config: a bad SSEWritableField type, a MAX on an int, a dotted or $ name, _id, twice', async () => {
  await refused(updateConf('SSEWritableField title text'), 'SSEWritableField');
  await refused(updateConf('SSEWritableField n int 5'), 'SSEWritableField');
  await refused(updateConf('SSEWritableField a.b string'), 'SSEWritableField');
  await refused(updateConf('SSEWritableField $x string'), 'SSEWritableField');
  await refused(updateConf('SSEWritableField _id string'), 'SSEWritableField');
  await refused(updateConf('SSEWritableField title string 0'), 'SSEWritableField');
  await refused(updateConf('SSEWritableField t string\nSSEWritableField t bool'), 'SSEWritableField');
});
test('config: SSEMaxBody, SSEWriteConcern and SSEWriteTimeout refuse bad values by name', async () => {
  const ok = 'SSEWritableField title string 200';
  await refused(updateConf(`${ok}\nSSEMaxBody 0`), 'SSEMaxBody');
  await refused(updateConf(`${ok}\nSSEMaxBody lots`), 'SSEMaxBody');
  await refused(updateConf(`${ok}\nSSEWriteConcern 0`), 'SSEWriteConcern');
  await refused(updateConf(`${ok}\nSSEWriteConcern most`), 'SSEWriteConcern');
  await refused(updateConf(`${ok}\nSSEWriteTimeout 0`), 'SSEWriteTimeout');
  await refused(updateConf(`${ok}\nSSEWriteTimeout 5x`), 'SSEWriteTimeout');
  const { code, output } = await configTest(updateConf(`${ok}\nSSEMaxBody 4096\nSSEWriteConcern 2\nSSEWriteTimeout 500ms`));
  assert.equal(code, 0, output);
});
