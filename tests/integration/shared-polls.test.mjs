// Shared, batched polls (issue 17): in a child, the streams that watch one
// document under one location share one read per SSEPollInterval, and the
// reads that fall due together go out as find({_id: {$in: [...]}}) of at most
// SSEPollBatch ids. The store's own counters (serverStatus opcounters.query,
// one per find) show the cost; the streams show that clients cannot tell:
// every change once, in order, within an interval; owner checks, store errors,
// deletes and graceful restarts per stream, as with a poll of its own.
//
// Every test starts its own Apache with one child (ServerLimit 1), so all its
// streams share one child's polls and the store counts nothing else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startMockStore, startApache, storeClient, opcounters, mintToken, openStream, testSecretFile,
} from '../lib/harness.mjs';
import { connectH2, openH2Stream } from '../lib/h2-client.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';

const POLL_MS = 500;
const WIDE_POLL_MS = 1000;     // the 300-document test
const DOCS = 300;
const VIEWERS = 2;             // per document in the 300-document test
const BATCH = 100;             // SSEPollBatch's default
const at = (i) => ({ $date: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString() });
const doc = (id, i, fields = {}) => ({ _id: id, ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: at(i), ...fields });
const wideIds = Array.from({ length: DOCS }, (_, i) => `w${String(i).padStart(3, '0')}`);
const CAP_DOCS = 50;           // the SSEPollBatch 10 test
const capIds = Array.from({ length: CAP_DOCS }, (_, i) => `c${String(i).padStart(2, '0')}`);
const DATA = {
  meetings_app: {
    meetings: [
      doc('one', 1), doc('single', 2), doc('fp', 3), doc('del', 4), doc('keep', 5), doc('leave', 6),
      doc('grace1', 7), doc('grace2', 8), doc('h2doc', 9), doc('own2', 10),
      doc('own1', 11, { ownerId: ['alice', 'bob'] }),
      doc('late', 12), doc('twoloc', 13, { title: 'Two locations' }), doc('counted', 14),
      ...wideIds.map((id, i) => doc(id, 100 + i)),
      ...capIds.map((id, i) => doc(id, 500 + i)),
    ],
  },
};

let store, mongo, meetings, alice, bob, secretFile;

before(async () => {
  store = await startMockStore({ data: DATA });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
  alice = await mintToken({ sub: 'alice' });
  bob = await mintToken({ sub: 'bob' });
  secretFile = testSecretFile();
});

after(async () => {
  await mongo?.close();
  await store?.stop();
});

// One child, enough connections for hundreds of suspended streams, and no
// per-user limit (one token opens many streams here).
function serve(opts = {}) {
  return startApache({
    storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '5s', maxStreamsPerUser: 0,
    threadsPerChild: 16, serverLimit: 1, startServers: 1, asyncFactor: 64, ...opts,
  });
}

// Runs `fn(apache)` against its own server and stops that server after.
async function withServer(opts, fn) {
  const apache = await serve(opts);
  try { return await fn(apache); } finally { await apache.stop(); }
}

const eventsUrl = (apache, id) => `${apache.url}/v1/meetings/${id}/events`;

// `n` streams of `token` on document `id`, each past its first status.
async function openMany(apache, id, n, token = alice, url = eventsUrl(apache, id)) {
  const streams = [];
  for (let i = 0; i < n; i += 50) {
    streams.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => openStream(url, { token }))));
  }
  assert.ok(streams.every((s) => s.status === 200), `every stream on ${id} opened: ${streams.map((s) => s.status)}`);
  await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
  return streams;
}

const closeAll = (streams) => { for (const s of streams) s.close(); };
const statuses = (s) => s.events.filter((e) => e.event === 'status');
const queries = async () => (await opcounters(store.uri)).query;

// Finds per `intervalMs` the store saw over `intervals` intervals.
async function findsPerInterval(intervalMs, intervals = 4) {
  const q0 = await queries();
  const t0 = Date.now();
  await sleep(intervalMs * intervals);
  const q1 = await queries();
  return (q1 - q0) / ((Date.now() - t0) / intervalMs);
}

// A stream's first poll is its own: let every stream reach its next one
// (where it joins its document's share) before counting.
const settle = (intervalMs) => sleep(intervalMs * 1.5);

// Changes document `id` (a new version) and resolves with that version.
async function change(id, fields = {}) {
  const when = new Date();
  await meetings.updateOne({ _id: id }, { $set: { updatedAt: when, ...fields } });
  return when.toISOString();
}

// Every stream's next status with id `version`; returns the worst lag after `since`.
async function allSee(streams, version, since, timeoutMs) {
  const got = await Promise.all(streams.map((s) => s.next((e) => e.event === 'status' && e.id === version, timeoutMs)));
  return Math.max(...got.map((e) => e.at)) - since;
}

const N = 30;

test(`${N} streams on one document cost one find per interval, and each gets every change once, in order, within an interval`, (t) => withServer({}, async (apache) => {
  const streams = await openMany(apache, 'one', N);
  try {
    await settle(POLL_MS);
    const rate = await findsPerInterval(POLL_MS);
    t.diagnostic(`${N} streams on one document: ${rate.toFixed(2)} finds per ${POLL_MS} ms interval`);
    assert.ok(rate <= 1.5 && rate < N / 4, `${rate.toFixed(2)} finds per interval for ${N} streams on one document (want about 1)`);

    const versions = [streams[0].events.find((e) => e.event === 'status').id];
    const lags = [];
    for (let round = 1; round <= 3; round++) {
      const t0 = Date.now();
      const version = await change('one', { progress: round * 10 });
      versions.push(version);
      lags.push(await allSee(streams, version, t0, POLL_MS + 3000));
    }
    await sleep(POLL_MS * 2);            // room for a duplicate to show
    for (const s of streams) {
      assert.deepEqual(statuses(s).map((e) => e.id), versions, 'every version once, in order, nothing else');
      assert.deepEqual(statuses(s).map((e) => e.json.progress), [0, 10, 20, 30]);
      assert.equal(s.events.filter((e) => e.event === 'error' || e.event === 'connectionLost').length, 0);
      assert.equal(s.ended, false);
    }
    const worst = Math.max(...lags);
    t.diagnostic(`change -> last of ${N} streams: ${lags.join(', ')} ms`);
    assert.ok(worst <= POLL_MS + 1000, `the last stream saw a change after ${worst} ms (interval ${POLL_MS} ms)`);
  } finally { closeAll(streams); }
}));

// mod_sse_shared_polls_total and mod_sse_batched_ids_total as Prometheus
// reads them from this one child.
const METRICS = `<Location "/metrics">
    SetHandler sse-metrics
    Require all granted
</Location>`;
async function sharedCounters(apache) {
  const text = await (await fetch(`${apache.url}/metrics`)).text();
  const value = (name) => Number((text.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1]);
  return { shared: value('mod_sse_shared_polls_total'), ids: value('mod_sse_batched_ids_total') };
}

test('the metrics count it: 20 streams on one document make about 20 shared polls per interval for one batched id', (t) => withServer({ extra: METRICS }, async (apache) => {
  const streams = await openMany(apache, 'counted', 20);
  try {
    await settle(POLL_MS);
    const a = await sharedCounters(apache);
    await sleep(POLL_MS * 4);
    const b = await sharedCounters(apache);
    const shared = b.shared - a.shared, ids = b.ids - a.ids;
    t.diagnostic(`four intervals: ${shared} shared polls, ${ids} ids asked in batched finds`);
    assert.ok(shared >= 20 * 3 && shared <= 20 * 6, `${shared} shared polls from 20 streams in four intervals`);
    assert.ok(ids >= 3 && ids <= 6, `${ids} ids asked for one document in four intervals`);
  } finally { closeAll(streams); }
}));

test(`SSEPollBatch 1 keeps one find per stream: ${N} streams on one document cost about ${N} finds per interval`, (t) => withServer({ pollBatch: 1 }, async (apache) => {
  const streams = await openMany(apache, 'single', N);
  try {
    await settle(POLL_MS);
    const rate = await findsPerInterval(POLL_MS);
    t.diagnostic(`SSEPollBatch 1, ${N} streams on one document: ${rate.toFixed(2)} finds per interval`);
    assert.ok(rate >= 0.8 * N, `${rate.toFixed(2)} finds per interval for ${N} streams with SSEPollBatch 1 (want about ${N})`);
    assert.ok(rate <= 1.2 * N, `${rate.toFixed(2)} finds per interval: at most one per stream`);
  } finally { closeAll(streams); }
}));

test(`${DOCS} documents x ${VIEWERS} viewers cost at most ceil(${DOCS}/${BATCH}) finds per interval (plus slack), and changes reach exactly their viewers`, (t) => withServer({ pollInterval: `${WIDE_POLL_MS}ms`, keepalive: '10s' }, async (apache) => {
  const byDoc = new Map();
  const all = [];
  try {
    for (let i = 0; i < DOCS; i += 50) {
      const chunk = wideIds.slice(i, i + 50);
      const opened = await Promise.all(chunk.flatMap((id) => Array.from({ length: VIEWERS }, () => openStream(eventsUrl(apache, id), { token: alice }))));
      chunk.forEach((id, j) => byDoc.set(id, opened.slice(j * VIEWERS, (j + 1) * VIEWERS)));
      all.push(...opened);
    }
    assert.ok(all.every((s) => s.status === 200), `${all.filter((s) => s.status === 200).length} of ${all.length} streams opened`);
    await Promise.all(all.map((s) => s.next((e) => e.event === 'status', 15000)));
    await settle(WIDE_POLL_MS);

    const rate = await findsPerInterval(WIDE_POLL_MS, 3);
    const bound = Math.ceil(DOCS / BATCH) + 3;
    t.diagnostic(`${DOCS} documents x ${VIEWERS} viewers (${all.length} streams, one child): ${rate.toFixed(2)} finds per ${WIDE_POLL_MS} ms interval`);
    assert.ok(rate <= bound, `${rate.toFixed(2)} finds per interval for ${DOCS} documents (bound ${bound})`);

    // Ten documents change: their viewers, and only they, get the version.
    const changed = wideIds.filter((_, i) => i % 30 === 7);
    const t0 = Date.now();
    const versions = await Promise.all(changed.map((id) => change(id, { status: 'ready' })));
    const lags = await Promise.all(changed.map((id, k) => allSee(byDoc.get(id), versions[k], t0, WIDE_POLL_MS + 4000)));
    await sleep(WIDE_POLL_MS);
    const worst = Math.max(...lags);
    t.diagnostic(`${changed.length} changed documents: the last of their ${changed.length * VIEWERS} viewers saw it after ${worst} ms`);
    assert.ok(worst <= WIDE_POLL_MS + 1000, `change -> client ${worst} ms (interval ${WIDE_POLL_MS} ms)`);
    for (const [id, streams] of byDoc) {
      for (const s of streams) {
        const st = statuses(s);
        assert.equal(st.length, changed.includes(id) ? 2 : 1, `${id}: ${st.map((e) => e.id)}`);
        assert.ok(st.every((e) => e.json._id === id), `${id}'s stream carries only ${id}`);
        assert.equal(s.ended, false);
      }
    }
  } finally { closeAll(all); }
}));

test(`SSEPollBatch 10 caps a find at 10 ids: ${CAP_DOCS} documents cost about ${CAP_DOCS / 10} finds per interval, not 1`, (t) => withServer({ pollBatch: 10 }, async (apache) => {
  const streams = [];
  try {
    streams.push(...await Promise.all(capIds.map((id) => openStream(eventsUrl(apache, id), { token: alice }))));
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    await settle(POLL_MS);
    const rate = await findsPerInterval(POLL_MS);
    t.diagnostic(`SSEPollBatch 10, ${CAP_DOCS} documents: ${rate.toFixed(2)} finds per interval`);
    // ceil(50 / 10) = 5: fewer means finds of more than 10 ids.
    assert.ok(rate >= 4, `${rate.toFixed(2)} finds per interval for ${CAP_DOCS} documents with SSEPollBatch 10 (want at least 5)`);
    assert.ok(rate <= CAP_DOCS / 10 + 3, `${rate.toFixed(2)} finds per interval for ${CAP_DOCS} documents with SSEPollBatch 10 (want about 5)`);
  } finally { closeAll(streams); }
}));

test('a stream that joins a share reads its own first poll: opened right after a change it shows the new version at once; with Last-Event-ID it repeats nothing', (t) => withServer({}, async (apache) => {
  const early = await openMany(apache, 'late', 10);
  const joined = [];
  try {
    await settle(POLL_MS);
    const t0 = Date.now();
    const version = await change('late', { progress: 77 });
    // Opened before the share has read the change: its first status must
    // still be the new version (a shared read it did not take part in is
    // not its first poll).
    const late = await openStream(eventsUrl(apache, 'late'), { token: alice });
    joined.push(late);
    const first = await late.next((e) => e.event === 'status');
    assert.equal(first.id, version, 'the first status of a new stream is the current version');
    assert.equal(first.json.progress, 77);
    const lag = await allSee(early, version, t0, POLL_MS + 3000);
    assert.ok(lag <= POLL_MS + 1000, `the sharing streams saw the change after ${lag} ms`);

    // A reconnect with the current version as Last-Event-ID gets no status
    // until the next change, which it gets like the others.
    const resumed = await openStream(eventsUrl(apache, 'late'), { token: alice, lastEventId: version });
    joined.push(resumed);
    await resumed.next((e) => e.event === 'connected');
    await sleep(POLL_MS * 2);
    assert.equal(statuses(resumed).length, 0, 'no status repeated after Last-Event-ID');
    const t1 = Date.now();
    const next = await change('late', { progress: 78 });
    await allSee([...early, late, resumed], next, t1, POLL_MS + 3000);
    await sleep(POLL_MS);
    assert.deepEqual(statuses(resumed).map((e) => e.id), [next]);
    assert.deepEqual(statuses(late).map((e) => e.id), [version, next]);
    for (const s of early) assert.equal(statuses(s).length, 3);
    t.diagnostic(`late joiner: first status ${first.at - t0} ms after the change; sharing streams ${lag} ms`);
  } finally { closeAll([...early, ...joined]); }
}));

test('streams on one document under two locations do not share what differs: each location keeps its own SSEFields', (t) => withServer({
  extra: renderSseLocation('/v2/fields/', { secretFile, directives: `
    SSEVersionField updatedAt
    SSEOwnerField ownerId
    SSEFields status
    SSEPollInterval ${POLL_MS}ms` }),
}, async (apache) => {
  const full = await openMany(apache, 'twoloc', 5);
  const narrow = await openMany(apache, 'twoloc', 5, alice, `${apache.url}/v2/fields/twoloc/events`);
  const streams = [...full, ...narrow];
  try {
    await settle(POLL_MS);
    const rate = await findsPerInterval(POLL_MS, 3);
    t.diagnostic(`one document under two locations, 5 streams each: ${rate.toFixed(2)} finds per interval`);
    assert.ok(rate <= 2.5, `${rate.toFixed(2)} finds per interval: at most one per location`);
    const t0 = Date.now();
    const version = await change('twoloc', { status: 'ready', progress: 9 });
    await allSee(streams, version, t0, POLL_MS + 3000);
    for (const s of full) {
      const e = statuses(s).at(-1);
      assert.equal(e.json.title, 'Two locations');
      assert.equal(e.json.progress, 9);
    }
    for (const s of narrow) {
      for (const e of statuses(s)) assert.deepEqual(Object.keys(e.json).sort(), ['_id', 'status'], `SSEFields status: ${e.data}`);
      assert.equal(statuses(s).at(-1).json.status, 'ready');
    }
  } finally { closeAll(streams); }
}));

test('an owner change mid-stream ends only the streams that may no longer see the document; the others go on', (t) => withServer({}, async (apache) => {
  const aliceOwn1 = await openMany(apache, 'own1', 5, alice);
  const bobOwn1 = await openMany(apache, 'own1', 5, bob);
  const aliceOwn2 = await openMany(apache, 'own2', 5, alice);
  const streams = [...aliceOwn1, ...bobOwn1, ...aliceOwn2];
  try {
    await settle(POLL_MS);
    // A document alice's streams share is still bob's 404: his first poll is his own.
    const intruder = await fetch(eventsUrl(apache, 'own2'), { headers: { Authorization: `Bearer ${bob}`, Accept: 'text/event-stream' } });
    assert.equal(intruder.status, 404);
    assert.equal((await intruder.json()).error, 'not_found');
    // The owner changes and the version does not: each stream is still
    // authorized on every read, not only when a new version arrives.
    const t0 = Date.now();
    await meetings.updateOne({ _id: 'own1' }, { $set: { ownerId: 'bob' } });
    const lost = await Promise.all(aliceOwn1.map((s) => s.next((e) => e.event === 'connectionLost', POLL_MS + 3000)));
    for (const e of lost) assert.deepEqual(e.json, { reason: 'not_found', reconnect: false });
    for (const s of aliceOwn1) assert.ok(await s.closedByServerWithin(2000), 'the server closed alice\'s stream');
    const endedIn = Math.max(...lost.map((e) => e.at)) - t0;
    t.diagnostic(`owner change: alice's 5 streams on own1 ended within ${endedIn} ms`);
    assert.ok(endedIn <= POLL_MS + 1000, `alice's streams ended ${endedIn} ms after the owner change`);

    await sleep(POLL_MS * 2);
    for (const s of [...bobOwn1, ...aliceOwn2]) {
      assert.equal(s.ended, false, 'a stream that may still see its document stays open');
      assert.equal(s.events.filter((e) => e.event === 'connectionLost').length, 0);
      assert.equal(statuses(s).length, 1, 'no new status without a new version');
    }
    const t1 = Date.now();
    const [v1, v2] = await Promise.all([change('own1', { progress: 50 }), change('own2', { progress: 60 })]);
    const lag1 = await allSee(bobOwn1, v1, t1, POLL_MS + 3000);
    const lag2 = await allSee(aliceOwn2, v2, t1, POLL_MS + 3000);
    assert.ok(Math.max(lag1, lag2) <= POLL_MS + 1000, `changes after the owner change arrived after ${lag1} / ${lag2} ms`);
    for (const s of bobOwn1) assert.equal(statuses(s).at(-1).json.ownerId, 'bob');
  } finally { closeAll(streams); }
}));

test('a failpoint on find: every stream sharing the document gets one error per outage, then the current status', (t) => withServer({}, async (apache) => {
  const streams = await openMany(apache, 'fp', 10);
  const admin = mongo.db('admin');
  const version = streams[0].events.find((e) => e.event === 'status').id;
  try {
    await settle(POLL_MS);
    for (let outage = 1; outage <= 2; outage++) {
      const mark = streams.map((s) => s.events.length);
      await admin.command({
        configureFailPoint: 'failCommand', mode: 'alwaysOn',
        data: { failCommands: ['find'], errorCode: 91, appName: 'mod_sse' },
      });
      const errors = await Promise.all(streams.map((s, i) => s.next((e) => e.event === 'error', POLL_MS + 3000, mark[i])));
      for (const e of errors) {
        assert.equal(e.json.code, 'store_unavailable');
        assert.equal(e.json.retryInMs, POLL_MS);
      }
      await sleep(POLL_MS * 2);          // more failing polls
      const off = Date.now();
      await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
      const back = await Promise.all(streams.map((s, i) => s.next((e) => e.event === 'status', POLL_MS + 3000, mark[i])));
      for (const e of back) {
        assert.equal(e.json._id, 'fp');
        assert.equal(e.id, version, 'the recovery status is the current version');
      }
      for (const [i, s] of streams.entries()) {
        const during = s.events.slice(mark[i]);
        assert.equal(during.filter((e) => e.event === 'error').length, 1, `outage ${outage}: one error event, got ${during.map((e) => e.event)}`);
        assert.equal(s.ended, false);
      }
      t.diagnostic(`outage ${outage}: errors on all 10; status back on all ${Math.max(...back.map((e) => e.at)) - off} ms after failpoint off`);
    }
    await sleep(POLL_MS * 2);
    for (const s of streams) {
      assert.deepEqual(s.events.filter((e) => e.event !== 'connected').map((e) => e.event),
        ['status', 'error', 'status', 'error', 'status'], 'per outage one error and one recovery status, nothing repeated');
    }
  } finally {
    closeAll(streams);
    await admin.command({ configureFailPoint: 'failCommand', mode: 'off' }).catch(() => {});
  }
}));

test('a deleted document ends each of its streams with not_found; streams of another document go on', (t) => withServer({}, async (apache) => {
  const del = await openMany(apache, 'del', 10);
  const keep = await openMany(apache, 'keep', 5);
  try {
    await settle(POLL_MS);
    const t0 = Date.now();
    await meetings.deleteOne({ _id: 'del' });
    const lost = await Promise.all(del.map((s) => s.next((e) => e.event === 'connectionLost', POLL_MS + 3000)));
    for (const e of lost) assert.deepEqual(e.json, { reason: 'not_found', reconnect: false });
    for (const s of del) assert.ok(await s.closedByServerWithin(2000), 'the server closed the stream');
    t.diagnostic(`delete: all 10 streams ended within ${Math.max(...lost.map((e) => e.at)) - t0} ms`);
    const t1 = Date.now();
    const v = await change('keep', { progress: 5 });
    await allSee(keep, v, t1, POLL_MS + 3000);
    assert.ok(keep.every((s) => !s.ended));
  } finally { closeAll([...del, ...keep]); }
}));

test('clients leaving: the streams left keep the share; when the last one leaves, its document is no longer read', (t) => withServer({}, async (apache) => {
  const streams = await openMany(apache, 'leave', 20);
  try {
    await settle(POLL_MS);
    const shared = await findsPerInterval(POLL_MS, 3);
    assert.ok(shared <= 1.5, `${shared.toFixed(2)} finds per interval for 20 streams on one document`);

    closeAll(streams.slice(0, 10));
    const rest = streams.slice(10);
    await sleep(POLL_MS * 2);            // a tick to notice, plus slack
    const half = await findsPerInterval(POLL_MS, 3);
    const t0 = Date.now();
    const v = await change('leave', { progress: 1 });
    await allSee(rest, v, t0, POLL_MS + 3000);
    assert.ok(half >= 0.5 && half <= 1.5, `${half.toFixed(2)} finds per interval with 10 streams left (want about 1)`);

    closeAll(rest);
    await sleep(POLL_MS * 2);
    const none = await findsPerInterval(POLL_MS, 3);
    t.diagnostic(`finds per interval: 20 streams ${shared.toFixed(2)}, 10 left ${half.toFixed(2)}, none left ${none.toFixed(2)}`);
    assert.equal(none, 0, `${none.toFixed(2)} finds per interval after every client left`);
  } finally { closeAll(streams); }
}));

test('graceful restart ends every sharing stream with shutdown within an interval', (t) => withServer({ serverLimit: 2 }, async (apache) => {
  const streams = [...await openMany(apache, 'grace1', 10), ...await openMany(apache, 'grace2', 10)];
  try {
    await settle(POLL_MS);
    const rate = await findsPerInterval(POLL_MS, 3);
    assert.ok(rate <= 1.5, `the streams share their polls before the restart (${rate.toFixed(2)} finds per interval for 2 documents)`);
    const signalled = Date.now();
    apache.graceful();
    const lost = await Promise.all(streams.map((s) => s.next((e) => e.event === 'connectionLost', POLL_MS + 3000)));
    for (const e of lost) assert.deepEqual(e.json, { reason: 'shutdown', reconnect: true });
    for (const s of streams) assert.ok(await s.closedByServerWithin(2000), 'the server closed the stream');
    const endedIn = Math.max(...lost.map((e) => e.at)) - signalled;
    t.diagnostic(`graceful restart: all 20 sharing streams ended within ${endedIn} ms`);
    assert.ok(endedIn <= POLL_MS + 700, `every stream ended within ${endedIn} ms (interval ${POLL_MS} ms)`);
  } finally { closeAll(streams); }
}));

test('HTTP/2 (h2c): streams on one document share their poll too, and all get a change', (t) => withServer({
  protocols: 'h2c http/1.1', h2: 'H2MinWorkers 8\nH2MaxWorkers 40\nH2MaxSessionStreams 40',
}, async (apache) => {
  // A fresh h2 connection runs 6 streams at once (h2.test.mjs): 5 on each of two.
  const sessions = [await connectH2(apache.url), await connectH2(apache.url)];
  const streams = sessions.flatMap((session) => Array.from({ length: 5 }, () => openH2Stream(session, '/v1/meetings/h2doc/events', { token: alice })));
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    assert.ok(streams.every((s) => s.status === 200));
    await settle(POLL_MS);
    const rate = await findsPerInterval(POLL_MS);
    t.diagnostic(`h2c, ${streams.length} streams on one document: ${rate.toFixed(2)} finds per interval`);
    assert.ok(rate <= 1.5, `${rate.toFixed(2)} finds per interval for ${streams.length} h2 streams on one document (want about 1)`);
    const t0 = Date.now();
    const v = await change('h2doc', { progress: 3 });
    const lag = await allSee(streams, v, t0, POLL_MS + 3000);
    assert.ok(lag <= POLL_MS + 1000, `the last h2 stream saw the change after ${lag} ms`);
    for (const s of streams) assert.equal(statuses(s).length, 2);
  } finally {
    closeAll(streams);
    for (const session of sessions) session.close();
  }
}));
