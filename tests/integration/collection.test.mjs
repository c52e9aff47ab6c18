// The caller's collection: GET /v1/meetings (sse-collection) and its stream
// /v1/meetings/events (sse-collection-stream), end to end: Debian's apache2
// with mod_sse, libmongoc, mock-store. Only the caller's documents may ever
// appear; every change gives exactly its event within about two intervals;
// the set tag resumes a stream with no duplicate and no gap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import {
  ROOT, startMockStore, startApache, storeClient, opcounters, mintToken, openStream,
  testSecretFile, freePort, configTest, tmpDir,
} from '../lib/harness.mjs';
import { assertBearer401 } from '../lib/sse-client.mjs';
import { renderApacheConf } from '../lib/apache-conf.mjs';

const POLL_MS = 300;
const WITHIN = 2 * POLL_MS + 1500;      // two intervals, plus a loaded machine's slack
const at = (min) => new Date(Date.UTC(2026, 10, 25, 9, min));
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'a1', ownerId: 'alice', title: 'One', status: 'uploaded', progress: 0, updatedAt: { $date: at(1).toISOString() } },
      { _id: 'a2', ownerId: 'alice', title: 'Two', status: 'transcribing', progress: 30, updatedAt: { $date: at(2).toISOString() } },
      { _id: 'a3', ownerId: 'alice', title: 'Three', status: 'ready', progress: 100, updatedAt: { $date: at(3).toISOString() } },
      { _id: 'a4', ownerId: 'alice', title: 'Four', status: 'summarizing', progress: 70, updatedAt: { $date: at(4).toISOString() } },
      { _id: 'shared', ownerId: ['carol', 'alice'], title: 'Shared', status: 'uploaded', progress: 1, updatedAt: { $date: at(0).toISOString() } },
      { _id: 'b1', ownerId: 'bob', title: 'Bob one', status: 'uploaded', progress: 0, updatedAt: { $date: at(5).toISOString() } },
      { _id: 'b2', ownerId: 'bob', title: 'Bob two', status: 'ready', progress: 100, updatedAt: { $date: at(6).toISOString() } },
      { _id: 'n1', ownerId: 12345, title: 'Numeric owner', status: 'ready', progress: 100, updatedAt: { $date: at(7).toISOString() } },
    ],
  },
};
const ALICE_IDS = ['a1', 'a2', 'a3', 'a4', 'shared'];

let store, apache, blocking, mongo, meetings, alice, bob, secretFile;

// A location capped at 3 documents, and one without a version field (the
// version is then a hash of the document, so every poll reads documents).
const EXTRA = (secret) => ['top3', 'hashed'].map((name) => `
<Location "/v4/${name}">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEJWTKey HS256 file:${secret}
    SSEOwnerField ownerId
    SSEPollInterval ${POLL_MS}ms
    ${name === 'top3' ? 'SSEVersionField updatedAt\n    SSEListLimit 3' : 'SSEFields title status'}
    SetHandler sse-collection
</Location>
<Location "/v4/${name}/events">
    SetHandler sse-collection-stream
</Location>`).join('\n');

before(async () => {
  store = await startMockStore({ data: DATA });
  secretFile = testSecretFile();
  apache = await startApache({
    storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '1s', leeway: '0',
    extra: EXTRA(secretFile),
  });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
  alice = await mintToken({ sub: 'alice' });
  bob = await mintToken({ sub: 'bob' });
});

after(async () => {
  await mongo?.close();
  await apache?.stop();
  await blocking?.stop();
  await store?.stop();
});

const listUrl = (q = '', base = apache.url, prefix = '/v1/meetings') => `${base}${prefix}${q}`;
const streamUrl = (q = '', base = apache.url, prefix = '/v1/meetings') => `${base}${prefix}/events${q}`;

async function getList(q = '', token = alice, extra = {}, prefix) {
  const res = await fetch(listUrl(q, apache.url, prefix), { headers: { Authorization: `Bearer ${token}`, ...extra } });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get('etag'), headers: res.headers, text, json: text ? JSON.parse(text) : null };
}

// A client's view of the set, rebuilt from events as the page does.
function applyEvents(map, events) {
  for (const e of events) {
    if (e.event === 'snapshot') {
      map.clear();
      for (const item of e.json.items) map.set(item._id, item);
    } else if (e.event === 'status') {
      map.set(e.json._id, e.json);
    } else if (e.event === 'removed') {
      map.delete(e.json._id);
    }
  }
  return map;
}

const byId = (items) => Object.fromEntries(items.map((d) => [d._id, d]));
const dataEvents = (s) => s.events.filter((e) => ['snapshot', 'status', 'removed'].includes(e.event));

function assertOnlyOwn(events, owner) {
  for (const e of events) {
    const docs = e.event === 'snapshot' ? e.json.items : e.event === 'status' ? [e.json] : [];
    for (const d of docs) {
      const owners = [].concat(d.ownerId);
      assert.ok(owners.includes(owner), `${e.event} carried ${d._id}, owned by ${JSON.stringify(d.ownerId)}`);
    }
  }
}

test('the list holds exactly the caller\'s documents, newest version first, with an ETag', async () => {
  const l = await getList();
  assert.equal(l.status, 200);
  assert.match(l.headers.get('content-type'), /application\/json/);
  assert.deepEqual(l.json.items.map((d) => d._id), ['a4', 'a3', 'a2', 'a1', 'shared']);
  assert.equal(l.json.truncated, false);
  assert.match(l.etag, /^"c[0-9a-f]{32}"$/);
  const b = await getList('', bob);
  assert.deepEqual(b.json.items.map((d) => d._id).sort(), ['b1', 'b2']);
  assert.notEqual(b.etag, l.etag);
  // A numeric claim matches the numeric owner only, and "12345" does not.
  const num = await getList('', await mintToken({ sub: 'x', claims: { uid: 12345 } }));
  assert.equal(num.json.items.length, 0, 'owner claim is sub; uid is not consulted');
});

test('If-None-Match with the list\'s ETag is 304; a filter makes another set and tag', async () => {
  const l = await getList();
  const again = await getList('', alice, { 'If-None-Match': l.etag });
  assert.equal(again.status, 304);
  assert.equal(again.etag, l.etag);
  const f = await getList('?status=ready,uploaded');
  assert.deepEqual(f.json.items.map((d) => d._id), ['a3', 'a1', 'shared']);
  assert.notEqual(f.etag, l.etag);
  const enc = await getList('?status=ready%2Cuploaded');
  assert.equal(enc.json.items.length, 0, 'an encoded comma is part of one value');
});

test('hostile or unknown query parameters are 400 invalid_request on both handlers', async () => {
  const big = 'x'.repeat(257);
  const many = Array.from({ length: 51 }, (_, i) => `v${i}`).join(',');
  const bad = [
    '?status[$ne]=x', '?status%5B%24ne%5D=x', '?ownerId=bob', '?x=1', '?_=1',
    `?status=${big}`, `?status=${many}`, '?status=', '?status=a,,b', '?status=a&status=b',
    '?status=%zz', '?status=%', '?status=%C0%AF', '?status=%ED%A0%80', '?status=a%00',
    '?status', '?status=a&&x', '?Status=ready',
  ];
  for (const q of bad) {
    for (const url of [listUrl(q), streamUrl(q)]) {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${alice}` } });
      const body = await res.text();
      assert.equal(res.status, 400, `${url} gave ${res.status}`);
      assert.equal(JSON.parse(body).error, 'invalid_request', url);
    }
  }
  // Operators as values are plain strings: they match nothing.
  for (const q of ['?status=$ne', '?status=%7B%22%24ne%22%3A1%7D', `?status=${'y'.repeat(256)}`,
    `?status=${Array.from({ length: 50 }, (_, i) => `v${i}`).join(',')}`]) {
    const l = await getList(q);
    assert.equal(l.status, 200, q);
    assert.deepEqual(l.json.items, [], q);
  }
});

test('no token is 401 with a Bearer challenge; a bad token 401 invalid_token', async () => {
  for (const url of [listUrl(), streamUrl()]) {
    await assertBearer401(await fetch(url));
    await assertBearer401(await fetch(url, { headers: { Authorization: 'Bearer abc.def.ghi' } }), { challenge: /invalid_token/ });
  }
  const post = await fetch(listUrl(), { method: 'POST', headers: { Authorization: `Bearer ${alice}` } });
  assert.equal(post.status, 405);
});

test('the stream opens with a snapshot equal to the list, its id the list\'s ETag', async () => {
  const l = await getList();
  const s = await openStream(streamUrl(), { token: alice });
  try {
    assert.equal(s.status, 200);
    assert.match(s.headers.get('content-type'), /^text\/event-stream/);
    const snap = await s.next((e) => e.event === 'snapshot');
    assert.equal(s.events[0].event, 'connected');
    assert.equal(`"${snap.id}"`, l.etag);
    assert.deepEqual(snap.json, l.json);
  } finally { s.close(); }
});

test('create, change, delete, owner change, leaving and entering the filter: each its one event, within two intervals', async () => {
  const all = await openStream(streamUrl(), { token: alice });
  const filtered = await openStream(streamUrl('?status=uploaded,transcribing'), { token: alice });
  const bobs = await openStream(streamUrl(), { token: bob });
  const expectEvent = async (s, pred, what) => {
    const from = s.events.length;
    const t0 = Date.now();
    const e = await s.next(pred, WITHIN + 2000, from);
    assert.ok(e.at - t0 <= WITHIN, `${what} took ${e.at - t0} ms`);
    return e;
  };
  try {
    await Promise.all([all, filtered, bobs].map((s) => s.next((e) => e.event === 'snapshot')));

    const created = expectEvent(all, (e) => e.event === 'status' && e.json._id === 'c1', 'create');
    await meetings.insertOne({ _id: 'c1', ownerId: 'alice', title: 'New', status: 'uploaded', progress: 0, updatedAt: at(10) });
    await created;
    await filtered.next((e) => e.event === 'status' && e.json._id === 'c1', WITHIN + 2000);

    const changed = expectEvent(all, (e) => e.event === 'status' && e.json._id === 'a1' && e.json.progress === 10, 'change');
    await meetings.updateOne({ _id: 'a1' }, { $set: { progress: 10, updatedAt: at(11) } });
    await changed;

    const deleted = expectEvent(all, (e) => e.event === 'removed' && e.json._id === 'a2', 'delete');
    await meetings.deleteOne({ _id: 'a2' });
    await deleted;

    const given = expectEvent(all, (e) => e.event === 'removed' && e.json._id === 'a3', 'owner change');
    const bobGets = bobs.next((e) => e.event === 'status' && e.json._id === 'a3', WITHIN + 2000);
    await meetings.updateOne({ _id: 'a3' }, { $set: { ownerId: 'bob', updatedAt: at(12) } });
    await given;
    await bobGets;

    const left = expectEvent(filtered, (e) => e.event === 'removed' && e.json._id === 'c1', 'leaving the filter');
    const stillIn = expectEvent(all, (e) => e.event === 'status' && e.json._id === 'c1' && e.json.status === 'ready', 'status change');
    await meetings.updateOne({ _id: 'c1' }, { $set: { status: 'ready', updatedAt: at(13) } });
    await left;
    await stillIn;

    const entered = expectEvent(filtered, (e) => e.event === 'status' && e.json._id === 'a4', 'entering the filter');
    await meetings.updateOne({ _id: 'a4' }, { $set: { status: 'transcribing', updatedAt: at(14) } });
    await entered;

    await sleep(3 * POLL_MS);
    // Exactly one event per change, no repeats.
    const allChanges = dataEvents(all).slice(1).map((e) => `${e.event}:${e.json._id}`);
    assert.deepEqual(allChanges, ['status:c1', 'status:a1', 'removed:a2', 'removed:a3', 'status:c1', 'status:a4']);
    // (Two changes that fall in one interval come as removed, then status.)
    const filteredChanges = dataEvents(filtered).slice(1).map((e) => `${e.event}:${e.json._id}`);
    assert.deepEqual(filteredChanges.sort(), ['removed:a2', 'removed:c1', 'status:a1', 'status:a4', 'status:c1']);

    // Only the caller's documents, in every event of every stream.
    assertOnlyOwn(all.events, 'alice');
    assertOnlyOwn(filtered.events, 'alice');
    assertOnlyOwn(bobs.events, 'bob');
    for (const e of filtered.events) {
      if (e.event === 'status') assert.ok(['uploaded', 'transcribing'].includes(e.json.status), JSON.stringify(e.json));
    }

    // The reconstructed set is the list, and the last id is its ETag.
    const l = await getList();
    assert.deepEqual(byId([...applyEvents(new Map(), all.events).values()]), byId(l.json.items));
    assert.equal(`"${dataEvents(all).at(-1).id}"`, l.etag);
    const fl = await getList('?status=uploaded,transcribing');
    assert.deepEqual(byId([...applyEvents(new Map(), filtered.events).values()]), byId(fl.json.items));
    assert.equal(`"${dataEvents(filtered).at(-1).id}"`, fl.etag);
    // Every id is distinct: each names the set after its event.
    const ids = dataEvents(all).map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length);
  } finally {
    [all, filtered, bobs].forEach((s) => s.close());
  }
});

test('resuming with the last tag sends no snapshot and no duplicate; the next change comes once', async () => {
  const first = await openStream(streamUrl(), { token: alice });
  const snap = await first.next((e) => e.event === 'snapshot');
  first.close();
  const s = await openStream(streamUrl(), { token: alice, lastEventId: snap.id });
  try {
    await s.next((e) => e.event === 'connected');
    await sleep(3 * POLL_MS);
    assert.deepEqual(dataEvents(s), [], 'nothing to send: the client holds this set');
    await meetings.updateOne({ _id: 'shared' }, { $set: { progress: 2, updatedAt: at(15) } });
    const e = await s.next((ev) => ev.event === 'status', WITHIN + 2000);
    assert.equal(e.json._id, 'shared');
    await sleep(3 * POLL_MS);
    assert.equal(dataEvents(s).length, 1);
  } finally { s.close(); }
});

test('resuming with an older tag gives a fresh snapshot: no gap, the set equals the list', async () => {
  const first = await openStream(streamUrl(), { token: alice });
  const snap = await first.next((e) => e.event === 'snapshot');
  first.close();
  // Missed while away: a new one, a change, a delete.
  await meetings.insertOne({ _id: 'c2', ownerId: 'alice', title: 'While away', status: 'uploaded', progress: 0, updatedAt: at(20) });
  await meetings.updateOne({ _id: 'a1' }, { $set: { progress: 50, updatedAt: at(21) } });
  await meetings.deleteOne({ _id: 'shared' });
  const s = await openStream(streamUrl(), { token: alice, lastEventId: snap.id });
  try {
    const again = await s.next((e) => e.event === 'snapshot');
    const client = applyEvents(new Map(), snap ? [snap] : []);
    applyEvents(client, [again]);
    const l = await getList();
    assert.deepEqual(byId([...client.values()]), byId(l.json.items));
    assert.equal(`"${again.id}"`, l.etag);
  } finally { s.close(); }
  // A tag that was never issued is just an older set.
  const odd = await openStream(streamUrl(), { token: alice, lastEventId: 'c00000000000000000000000000000000' });
  try { await odd.next((e) => e.event === 'snapshot'); } finally { odd.close(); }
});

test('SSEListLimit keeps the newest documents and says truncated; one leaving lets the next in', async () => {
  const l = await getList('', alice, {}, '/v4/top3');
  assert.equal(l.status, 200);
  assert.equal(l.json.items.length, 3);
  assert.equal(l.json.truncated, true);
  const s = await openStream(streamUrl('', apache.url, '/v4/top3'), { token: alice });
  try {
    const snap = await s.next((e) => e.event === 'snapshot');
    assert.deepEqual(snap.json, l.json);
    const [newest, , , ] = snap.json.items;
    const before = (await getList()).json.items.map((d) => d._id);
    const fourth = before[3];
    const mark = s.events.length;
    await meetings.deleteOne({ _id: newest._id });
    const removed = await s.next((e) => e.event === 'removed', WITHIN + 2000, mark);
    assert.equal(removed.json._id, newest._id);
    const entered = await s.next((e) => e.event === 'status', WITHIN + 2000, mark);
    assert.equal(entered.json._id, fourth);
    const after = await getList('', alice, {}, '/v4/top3');
    assert.equal(`"${dataEvents(s).at(-1).id}"`, after.etag);
    assert.deepEqual(byId([...applyEvents(new Map(), s.events).values()]), byId(after.json.items));
  } finally { s.close(); }
  // Small lists are not truncated.
  const b = await getList('', bob, {}, '/v4/top3');
  assert.equal(b.json.truncated, false);
});

test('without SSEVersionField the version is the document\'s hash and a change is still seen', async () => {
  const s = await openStream(streamUrl('', apache.url, '/v4/hashed'), { token: alice });
  try {
    const snap = await s.next((e) => e.event === 'snapshot');
    assert.ok(snap.json.items.every((d) => Object.keys(d).sort().join() === '_id,status,title'));
    const mark = s.events.length;
    const target = snap.json.items[0];
    await meetings.updateOne({ _id: target._id }, { $set: { title: 'Renamed' } });
    const e = await s.next((ev) => ev.event === 'status', WITHIN + 2000, mark);
    assert.deepEqual(e.json, { ...target, title: 'Renamed' });
    // A field clients do not see changes nothing.
    await meetings.updateOne({ _id: target._id }, { $set: { progress: 77 } });
    await sleep(3 * POLL_MS);
    assert.equal(dataEvents(s).length, 2);
  } finally { s.close(); }
});

test('an unchanged list costs one find per interval; a change adds one more for its document', async () => {
  const s = await openStream(streamUrl(), { token: alice });
  try {
    await s.next((e) => e.event === 'snapshot');
    await sleep(POLL_MS);
    const a = await opcounters(store.uri);
    const t0 = Date.now();
    await sleep(10 * POLL_MS);
    const b = await opcounters(store.uri);
    const intervals = (Date.now() - t0) / POLL_MS;
    const perInterval = (b.query - a.query) / intervals;
    assert.ok(perInterval > 0.6 && perInterval <= 1.3, `${perInterval.toFixed(2)} finds per interval`);
  } finally { s.close(); }
});

test('a store outage during the stream is one error event; recovery sends the set again', async () => {
  const withAdmin = async (fn) => { const c = await storeClient(store.uri); try { return await fn(c.db('admin')); } finally { await c.close(); } };
  const s = await openStream(streamUrl(), { token: alice });
  try {
    await s.next((e) => e.event === 'snapshot');
    await withAdmin((admin) => admin.command({
      configureFailPoint: 'failCommand', mode: 'alwaysOn',
      data: { failCommands: ['find'], errorCode: 91, appName: 'mod_sse' },
    }));
    const err = await s.next((e) => e.event === 'error', WITHIN + 4000);
    assert.equal(err.json.code, 'store_unavailable');
    const mark = s.events.length;
    await sleep(3 * POLL_MS);
    assert.equal(s.events.slice(mark).filter((e) => e.event === 'error').length, 0, 'one error per outage');
    await withAdmin((admin) => admin.command({ configureFailPoint: 'failCommand', mode: 'off' }));
    const back = await s.next((e) => e.event === 'snapshot', WITHIN + 4000, mark);
    assert.equal(`"${back.id}"`, (await getList()).etag);
    assert.ok(!s.ended);
  } finally {
    s.close();
    await withAdmin((admin) => admin.command({ configureFailPoint: 'failCommand', mode: 'off' })).catch(() => {});
  }
});

test('the token\'s expiry ends a list stream with connectionLost token_expired', async () => {
  const short = await mintToken({ sub: 'alice', expSeconds: 2 });
  const s = await openStream(streamUrl(), { token: short });
  await s.next((e) => e.event === 'snapshot');
  const lost = await s.next((e) => e.event === 'connectionLost', 6000);
  assert.equal(lost.json.reason, 'token_expired');
  assert.ok(await s.closedByServerWithin(2000));
});

test('no store when the stream would start: 503 with Retry-After', async () => {
  const dead = await startApache({ storeUri: `mongodb://127.0.0.1:${await freePort()}`, storeUriOptions: 'serverSelectionTimeoutMS=300&connectTimeoutMS=200' });
  try {
    for (const url of [listUrl('', dead.url), streamUrl('', dead.url)]) {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${alice}` } });
      assert.equal(res.status, 503, url);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      await res.text();
    }
  } finally { await dead.stop(); }
});

test('blocking mode (mpm_worker): snapshot, status, removed, and shutdown on a graceful stop', async () => {
  blocking = await startApache({ storeUri: store.uri, mpm: 'worker', pollInterval: `${POLL_MS}ms`, keepalive: '1s', threadsPerChild: 16, serverLimit: 1, startServers: 1 });
  const s = await openStream(streamUrl('', blocking.url), { token: alice });
  try {
    const snap = await s.next((e) => e.event === 'snapshot');
    assert.ok(snap.json.items.length > 0);
    const mark = s.events.length;
    await meetings.insertOne({ _id: 'w1', ownerId: 'alice', title: 'Worker', status: 'uploaded', progress: 0, updatedAt: at(30) });
    assert.equal((await s.next((e) => e.event === 'status', WITHIN + 2000, mark)).json._id, 'w1');
    await meetings.deleteOne({ _id: 'w1' });
    assert.equal((await s.next((e) => e.event === 'removed', WITHIN + 2000, mark)).json._id, 'w1');
    const stopping = blocking.gracefulStop();
    const lost = await s.next((e) => e.event === 'connectionLost', 5000);
    assert.equal(lost.json.reason, 'shutdown');
    await stopping;
    blocking = null;
  } finally { s.close(); }
});

test('apache2 -t names SSEFilterParam, SSEListLimit, and a list handler with no database', async () => {
  const dir = tmpDir('sse-listconf-');
  const base = renderApacheConf({ root: ROOT, dir, port: 1, secretFile: testSecretFile(), docRoot: path.join(ROOT, 'frontend'), storeUri: 'mongodb://127.0.0.1:1' });
  const ok = await configTest(base);
  assert.equal(ok.code, 0, ok.output);
  const withLine = (line) => base.replace('SSEFilterParam status status', line);
  for (const [line, name] of [
    ['SSEFilterParam status $where', 'SSEFilterParam'], ['SSEFilterParam status a..b', 'SSEFilterParam'],
    ['SSEFilterParam st[x] status', 'SSEFilterParam'], ['SSEFilterParam status', 'SSEFilterParam'],
    ['SSEFilterParam status status\n    SSEFilterParam status title', 'SSEFilterParam'],
    ['SSEListLimit 0', 'SSEListLimit'], ['SSEListLimit 10001', 'SSEListLimit'], ['SSEListLimit many', 'SSEListLimit'],
  ]) {
    const { code, output } = await configTest(withLine(line.replace('\\n', '\n')));
    assert.notEqual(code, 0, `${line} was accepted`);
    assert.ok(output.includes(name), `${line}: ${output}`);
  }
  const lonely = base + `
<Location "/elsewhere/list">
    SetHandler sse-collection-stream
</Location>`;
  const { code, output } = await configTest(lonely);
  assert.notEqual(code, 0);
  assert.match(output, /SetHandler sse-collection-stream is used but no SSEDatabase applies/);
});
