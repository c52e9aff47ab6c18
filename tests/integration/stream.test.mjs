// The stream, the resource and health, end to end: Debian's apache2
// (mpm_event) with mod_sse, talking through libmongoc to mock-store. One
// test per promise the contract makes to clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import {
  ROOT, TEST_SECRET, startMockStore, startApache, storeClient, opcounters,
  mintToken, openStream, tmpDir, testSecretFile,
} from '../lib/harness.mjs';
import { assertBearer401 } from '../lib/sse-client.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';
import fs from 'node:fs';

const POLL_MS = 500;
const OID = '65a1b2c3d4e5f6a7b8c9d0e1';
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'm1', ownerId: 'alice', title: 'Weekly sync', status: 'transcribing', progress: 40, updatedAt: { $date: '2026-11-25T09:00:03.120Z' } },
      { _id: 'm2', ownerId: 'bob', title: 'Bob only', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T09:00:00.000Z' } },
      { _id: { $oid: OID }, ownerId: 'alice', title: 'Has an ObjectId', status: 'ready', progress: 100, updatedAt: { $date: '2026-11-25T08:00:00.000Z' } },
      { _id: 'shared', ownerId: ['carol', 'alice'], title: 'Shared "quoted"\nline', status: 'uploaded', progress: 1, updatedAt: { $date: '2026-11-25T07:00:00.000Z' } },
      { _id: 'quiet', ownerId: 'alice', title: 'Never changes', status: 'ready', progress: 100, updatedAt: { $date: '2026-11-25T06:00:00.000Z' } },
      { _id: 'fp', ownerId: 'alice', title: 'Failpoint target', status: 'uploaded', progress: 5, updatedAt: { $date: '2026-11-25T05:00:00.000Z' } },
      { _id: 'del', ownerId: 'alice', title: 'Will be deleted', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T04:00:00.000Z' } },
      { _id: 'gone', ownerId: 'alice', title: 'Departed client', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T03:00:00.000Z' } },
      { _id: 'acl', title: 'Team meeting', status: 'ready', acl: { name: 'Team', members: ['alice', 'bob'], secret: 's' }, updatedAt: { $date: '2026-11-25T01:00:00.000Z' } },
      { _id: 'life', ownerId: 'alice', title: 'Short life', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T02:00:00.000Z' } },
    ],
  },
};

let store, apache, mongo, meetings, alice, bob;

// A second location with other settings: short lifetime, emit always. The
// request limits are raised so our own 8 KiB token cap is what answers.
const EXTRA = (secretFile) => `
LimitRequestLine 20000
LimitRequestFieldSize 20000
${renderSseLocation('/v2/short/', { secretFile, directives: `
    SSEVersionField updatedAt
    SSEPollInterval 300ms
    SSEMaxLifetime 2s
    SSEEmit always
    SSEFields title status
    SSETokenQueryParam access_token` })}
${renderSseLocation('/v3/acl/', { secretFile, directives: `
    SSEFields status acl.name
    SSEOwnerField acl.members
    SSEVersionField updatedAt
    SSECORSAllowOrigin https://app.example.com` })}`;

before(async () => {
  store = await startMockStore({ data: DATA });
  apache = await startApache({
    storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '1s', leeway: '0',
    extra: EXTRA(testSecretFile()),
  });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
  alice = await mintToken({ sub: 'alice' });
  bob = await mintToken({ sub: 'bob' });
  usedTokens.add(alice).add(bob);
});

after(async () => {
  await mongo?.close();
  await apache?.stop();
  await store?.stop();
});

const eventsUrl = (id) => `${apache.url}/v1/meetings/${id}/events`;
const resourceUrl = (id) => `${apache.url}/v1/meetings/${id}`;

test('stream answers 200 with event-stream headers and no Content-Length', async () => {
  const s = await openStream(eventsUrl('m1'), { token: alice });
  try {
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(s.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(s.headers.get('x-accel-buffering'), 'no');
    assert.equal(s.headers.get('content-length'), null);
  } finally { s.close(); }
});

test('stream starts with retry, then connected, then the current status', async () => {
  const s = await openStream(eventsUrl('m1'), { token: alice });
  try {
    const status = await s.next((e) => e.event === 'status');
    assert.ok(s.raw.startsWith('retry: 5000\n\n'), `stream began with ${JSON.stringify(s.raw.slice(0, 30))}`);
    assert.equal(s.events[0].event, 'connected');
    const connected = s.events[0].json;
    assert.equal(connected.resource, 'm1');
    assert.equal(connected.pollInterval, POLL_MS);
    assert.equal(connected.keepalive, 1000);
    // Opaque by default (issue 11): no host, port or PID reaches clients.
    assert.match(connected.instance, /^[0-9a-f]{16}$/);
    assert.equal(status.id, '2026-11-25T09:00:03.120Z');
    assert.deepEqual(status.json, {
      _id: 'm1', ownerId: 'alice', title: 'Weekly sync', status: 'transcribing', progress: 40,
      updatedAt: '2026-11-25T09:00:03.120Z',
    });
  } finally { s.close(); }
});

test('a change is delivered within one poll interval, and only once', async () => {
  const s = await openStream(eventsUrl('m1'), { token: alice });
  try {
    await s.next((e) => e.event === 'status');
    const when = new Date();
    await meetings.updateOne({ _id: 'm1' }, { $set: { status: 'summarizing', progress: 70, updatedAt: when } });
    const storedAt = Date.now();       // acknowledged by the store
    const ev = await s.next((e) => e.event === 'status' && e.json.status === 'summarizing', 5000);
    const latency = ev.at - storedAt;
    // One poll interval, plus slack for a busy 2-core machine.
    assert.ok(latency <= POLL_MS + 1000, `change took ${latency} ms to arrive`);
    assert.equal(ev.id, when.toISOString());
    await sleep(POLL_MS * 3);
    const statuses = s.events.filter((e) => e.event === 'status');
    assert.equal(statuses.length, 2, 'no duplicate status without a change');
  } finally { s.close(); }
});

test('keep-alive comments are written when nothing else is', async () => {
  const s = await openStream(eventsUrl('quiet'), { token: alice });
  try {
    await s.next((e) => e.event === 'status');
    await sleep(2600);
    assert.ok(s.comments.length >= 2, `saw ${s.comments.length} keep-alive comments in 2.6 s`);
    assert.ok(s.comments.every((c) => c.text.trim() === 'ping'));
    assert.equal(s.events.filter((e) => e.event === 'status').length, 1);
  } finally { s.close(); }
});

test('Last-Event-ID equal to the current version suppresses the first status', async () => {
  const first = await openStream(eventsUrl('quiet'), { token: alice });
  const status = await first.next((e) => e.event === 'status');
  first.close();
  const resumed = await openStream(eventsUrl('quiet'), { token: alice, lastEventId: status.id });
  try {
    await resumed.next((e) => e.event === 'connected');
    await sleep(POLL_MS * 2.5);
    assert.equal(resumed.events.filter((e) => e.event === 'status').length, 0);
  } finally { resumed.close(); }
  const stale = await openStream(eventsUrl('quiet'), { token: alice, lastEventId: '2020-01-01T00:00:00.000Z' });
  try {
    const ev = await stale.next((e) => e.event === 'status', 3000);
    assert.equal(ev.id, status.id);
  } finally { stale.close(); }
});

test('ObjectId ids are queried as ObjectIds and rendered as hex', async () => {
  const s = await openStream(eventsUrl(OID), { token: alice });
  try {
    const ev = await s.next((e) => e.event === 'status');
    assert.equal(ev.json._id, OID);
    assert.equal(ev.json.title, 'Has an ObjectId');
  } finally { s.close(); }
});

test('an owner array containing the caller grants access; newlines stay inside one data line', async () => {
  const s = await openStream(eventsUrl('shared'), { token: alice });
  try {
    const ev = await s.next((e) => e.event === 'status');
    assert.equal(ev.json.title, 'Shared "quoted"\nline');
    assert.ok(s.raw.includes('"title":"Shared \\"quoted\\"\\nline"'), 'newline escaped in JSON');
  } finally { s.close(); }
});

test('missing token: 401 with a Bearer challenge and a JSON body', async () => {
  await assertBearer401(await fetch(eventsUrl('m1')), { error: 'missing_token' });
});

const usedTokens = new Set();
async function rejectedWith(token, pattern) {
  usedTokens.add(token);
  const res = await fetch(eventsUrl('m1'), { headers: { Authorization: `Bearer ${token}` } });
  const challenge = await assertBearer401(res, { error: 'invalid_token', challenge: pattern });
  assert.ok(!challenge.includes(token.slice(0, 20)), 'the token is never echoed');
  return challenge;
}

test('invalid tokens: 401 invalid_token with a reason for each class', async () => {
  const good = await mintToken({ sub: 'alice' });
  const [h, p] = good.split('.');
  await rejectedWith(`${h}.${p}.${'A'.repeat(43)}`, /signature/);
  await rejectedWith(await mintToken({ sub: 'alice', expSeconds: -60 }), /expired/);
  await rejectedWith(await mintToken({ sub: 'alice', secret: Buffer.from('x'.repeat(48)) }), /signature/);
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
  await rejectedWith(none, /alg|algorithm|malformed/);
  await rejectedWith('not-a-jwt', /malformed/);
  await rejectedWith(`${h}=.${p}.${good.split('.')[2]}`, /malformed/);
});

test('SSETokenQueryParam accepts a token from the query; tokens over 8 KiB are rejected', async () => {
  const ok = await fetch(`${apache.url}/v2/short/quiet?access_token=${alice}`);
  assert.equal(ok.status, 200);
  const big = await mintToken({ sub: 'alice', claims: { pad: 'x'.repeat(9000) } });
  await assertBearer401(await fetch(`${apache.url}/v2/short/quiet?access_token=${big}`),
    { challenge: /error="invalid_token", error_description="[^"]*large[^"]*"/ });
  await rejectedWith(big, /large/);
  const twice = await fetch(`${apache.url}/v2/short/quiet?access_token=${alice}`, { headers: { Authorization: `Bearer ${alice}` } });
  assert.equal(twice.status, 400, 'RFC 6750: one method per request');
  const off = await fetch(`${resourceUrl('m1')}?access_token=${alice}`);
  assert.equal(off.status, 401, 'the query parameter is off unless configured');
});

test('tokens from our own minting tool are accepted too', async () => {
  const dir = tmpDir();
  const secretFile = path.join(dir, 's');
  fs.writeFileSync(secretFile, TEST_SECRET);
  const token = execFileSync('node', [path.join(ROOT, 'ci/mint-token.mjs'), '--secret-file', secretFile, '--sub', 'alice'], { encoding: 'utf8' }).trim();
  const res = await fetch(resourceUrl('m1'), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
});

test('someone else\'s document and a missing document are both 404', async () => {
  for (const [id, token] of [['m2', alice], ['m1', bob], ['nope', alice]]) {
    const res = await fetch(eventsUrl(id), { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 404, `${id}`);
    assert.equal((await res.json()).error, 'not_found');
    const rest = await fetch(resourceUrl(id), { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(rest.status, 404, `${id} over REST`);
  }
});

test('non-GET on the stream is 405 with Allow', async () => {
  const res = await fetch(eventsUrl('m1'), { method: 'POST', headers: { Authorization: `Bearer ${alice}` } });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET');
});

test('REST: same JSON as the stream, ETag, 304 on If-None-Match, HEAD without body', async () => {
  const s = await openStream(eventsUrl(OID), { token: alice });
  const ev = await s.next((e) => e.event === 'status');
  s.close();
  const res = await fetch(resourceUrl(OID), { headers: { Authorization: `Bearer ${alice}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.equal(res.headers.get('etag'), `"${ev.id}"`);
  assert.equal((await res.text()).trim(), ev.data);
  const cached = await fetch(resourceUrl(OID), { headers: { Authorization: `Bearer ${alice}`, 'If-None-Match': `"${ev.id}"` } });
  assert.equal(cached.status, 304);
  const other = await fetch(resourceUrl(OID), { headers: { Authorization: `Bearer ${alice}`, 'If-None-Match': '"something-else"' } });
  assert.equal(other.status, 200);
  const head = await fetch(resourceUrl(OID), { method: 'HEAD', headers: { Authorization: `Bearer ${alice}` } });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('etag'), `"${ev.id}"`);
  assert.equal((await head.text()), '');
  const unauth = await fetch(resourceUrl(OID));
  assert.equal(unauth.status, 401);
  assert.equal((await unauth.json()).error, 'missing_token');
});

test('SSEFields limits what clients see; SSEEmit always repeats status; SSEMaxLifetime ends with max_lifetime', async () => {
  const s = await openStream(`${apache.url}/v2/short/quiet/events`, { token: alice });
  try {
    const first = await s.next((e) => e.event === 'status');
    assert.deepEqual(Object.keys(first.json).sort(), ['_id', 'status', 'title']);
    const lost = await s.next((e) => e.event === 'connectionLost', 5000);
    assert.deepEqual(lost.json, { reason: 'max_lifetime', reconnect: true });
    assert.ok(s.events.filter((e) => e.event === 'status').length >= 4, 'status on every poll');
    assert.ok(await s.closedByServerWithin(2000), 'the server closed the stream');
  } finally { s.close(); }
});

test('a token that expires mid-stream ends it with token_expired; the same token then gets 401', async () => {
  const token = await mintToken({ sub: 'alice', expSeconds: 2 });
  const s = await openStream(eventsUrl('quiet'), { token });
  try {
    const lost = await s.next((e) => e.event === 'connectionLost', 6000);
    assert.equal(lost.json.reason, 'token_expired');
    assert.ok(await s.closedByServerWithin(2000), 'the server closed the stream');
  } finally { s.close(); }
  const again = await fetch(eventsUrl('quiet'), { headers: { Authorization: `Bearer ${token}` } });
  await assertBearer401(again, { challenge: /expired/ });
});

test('a deleted document ends the stream with not_found and reconnect false', async () => {
  const s = await openStream(eventsUrl('del'), { token: alice });
  try {
    await s.next((e) => e.event === 'status');
    await meetings.deleteOne({ _id: 'del' });
    const lost = await s.next((e) => e.event === 'connectionLost', 4000);
    assert.deepEqual(lost.json, { reason: 'not_found', reconnect: false });
    assert.ok(await s.closedByServerWithin(2000), 'the server closed the stream');
  } finally { s.close(); }
});

test('a store failure mid-stream sends one error event, keeps the stream, and recovers with the current status', async () => {
  const s = await openStream(eventsUrl('fp'), { token: alice });
  const admin = mongo.db('admin');
  try {
    await s.next((e) => e.event === 'status');
    await admin.command({
      configureFailPoint: 'failCommand', mode: 'alwaysOn',
      data: { failCommands: ['find'], errorCode: 91 },
    });
    const err = await s.next((e) => e.event === 'error', 4000);
    assert.equal(err.json.code, 'store_unavailable');
    assert.equal(err.json.retryInMs, POLL_MS);
    assert.ok(err.json.message.length > 0);
    await sleep(POLL_MS * 3);
    assert.equal(s.events.filter((e) => e.event === 'error').length, 1, 'one error event per outage');
    await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
    const n = s.events.length;
    const back = await s.next((e) => e.event === 'status', 4000, n);
    assert.equal(back.json._id, 'fp');
    assert.equal(s.ended, false);
  } finally {
    s.close();
    await admin.command({ configureFailPoint: 'failCommand', mode: 'off' }).catch(() => {});
  }
});

test('a client that disconnects costs no further store queries', async () => {
  const s = await openStream(eventsUrl('gone'), { token: alice });
  await s.next((e) => e.event === 'status');
  await sleep(POLL_MS * 2);
  s.close();
  await sleep(POLL_MS * 2);          // one interval to notice, plus slack
  const before = (await opcounters(store.uri)).query;
  await sleep(POLL_MS * 6);
  const afterCount = (await opcounters(store.uri)).query;
  assert.equal(afterCount - before, 0, `${afterCount - before} finds after the client left`);
});

test('health is 200 ok with the store up and 503 unavailable with it down; streams get 503 with Retry-After', async () => {
  const up = await fetch(`${apache.url}/health/ready`);
  assert.equal(up.status, 200);
  assert.deepEqual(await up.json(), { status: 'ok' });

  await store.stop();
  try {
    const t0 = Date.now();
    const down = await fetch(`${apache.url}/health/ready`);
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { status: 'unavailable' });
    assert.ok(Date.now() - t0 < 2500, `health answered in ${Date.now() - t0} ms`);
    const res = await fetch(eventsUrl('quiet'), { headers: { Authorization: `Bearer ${alice}` } });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal((await res.json()).error, 'store_unavailable');
  } finally {
    await store.restart();
    await mongo.close();
    mongo = await storeClient(store.uri);
    meetings = mongo.db('meetings_app').collection('meetings');
  }
  const deadline = Date.now() + 10000;
  let status = 0;
  while (Date.now() < deadline && status !== 200) {
    status = (await fetch(`${apache.url}/health/ready`)).status;
    if (status !== 200) await sleep(200);
  }
  assert.equal(status, 200, 'health recovers when the store is back');
  // Polls fail fast for a short hold-off after an outage; then REST answers again.
  let rest = 0;
  while (Date.now() < deadline && rest !== 200) {
    rest = (await fetch(resourceUrl('quiet'), { headers: { Authorization: `Bearer ${alice}` } })).status;
    if (rest !== 200) await sleep(100);
  }
  assert.equal(rest, 200, 'the resource answers again once the store is back');
  await sleep(600);   // every child's hold-off is over too
});

test('a nested SSEFields path shows only that part; the owner field stays hidden', async () => {
  const res = await fetch(`${apache.url}/v3/acl/acl`, { headers: { Authorization: `Bearer ${bob}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { _id: 'acl', status: 'ready', acl: { name: 'Team' } });
  assert.equal(res.headers.get('etag'), '"2026-11-25T01:00:00.000Z"', 'the version field is read though not shown');
  const carol = await mintToken({ sub: 'carol' });
  const no = await fetch(`${apache.url}/v3/acl/acl`, { headers: { Authorization: `Bearer ${carol}` } });
  assert.equal(no.status, 404);
});

test('CORS: one Access-Control-Allow-Origin for an allowed origin, on answers and errors; preflight 204', async () => {
  const origin = 'https://app.example.com';
  const pre = await fetch(`${apache.url}/v3/acl/acl/events`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization, last-event-id' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
  assert.match(pre.headers.get('access-control-allow-headers'), /Last-Event-ID/);
  const ok = await fetch(`${apache.url}/v3/acl/acl`, { headers: { Origin: origin, Authorization: `Bearer ${bob}` } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), origin, 'exactly once');
  assert.equal(ok.headers.get('vary'), 'Origin');
  const denied = await fetch(`${apache.url}/v3/acl/acl`, { headers: { Origin: origin } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get('access-control-allow-origin'), origin, 'errors are readable cross-origin');
  const s = await openStream(`${apache.url}/v3/acl/acl/events`, { token: bob, headers: { Origin: origin } });
  try {
    assert.equal(s.headers.get('access-control-allow-origin'), origin);
  } finally { s.close(); }
  const other = await fetch(`${apache.url}/v3/acl/acl`, { headers: { Origin: 'https://evil.example', Authorization: `Bearer ${bob}` } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

test('the error log never contains a token, accepted or rejected', async () => {
  const log = apache.errorLog();
  assert.ok(usedTokens.size >= 5, 'tokens of several kinds were used');
  for (const token of usedTokens) {
    for (const part of token.split('.').filter((p) => p.length >= 16)) {
      assert.ok(!log.includes(part), 'no token segment in the error log');
    }
  }
});
