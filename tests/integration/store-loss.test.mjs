// Store loss with streams open: the store process dies and comes back, one
// poll hangs, the whole store hangs. Clients must never lose their stream
// to it, and a hanging store may hold a stream no longer than the URI's
// timeouts allow (socketTimeoutMS=3000, serverSelectionTimeoutMS=1500 in the
// harness's URI).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMockStore, startApache, storeClient, mintToken, openStream, testSecretFile } from '../lib/harness.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';

const POLL_MS = 500;
const ALWAYS_MS = 300;          // the SSEEmit always location: a status on every poll
const SOCKET_TIMEOUT_MS = 3000; // from the harness's default URI options
const STREAMS = 20;
const ids = Array.from({ length: STREAMS }, (_, i) => `s${String(i).padStart(2, '0')}`);
const DATA = {
  meetings_app: {
    meetings: ids.map((id, i) => ({
      _id: id, ownerId: 'alice', status: 'uploaded', progress: i, updatedAt: { $date: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString() },
    })),
  },
};

let store, apache, token;

before(async () => {
  store = await startMockStore({ data: DATA });
  apache = await startApache({
    storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '1s', startServers: 2, maxStreamsPerUser: 0,
    extra: renderSseLocation('/v3/always/', { secretFile: testSecretFile(), resource: false, directives: `
    SSEVersionField updatedAt
    SSEPollInterval ${ALWAYS_MS}ms
    SSEEmit always
    # Each stream its own find, so one hung find is one stream's (a shared
    # batch that hangs holds every document in it alike).
    SSEPollBatch 1` }),
  });
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  await apache?.stop();
  await store?.stop();
});

async function withAdmin(fn) {
  const mongo = await storeClient(store.uri);
  try { return await fn(mongo.db('admin')); } finally { await mongo.close(); }
}

// The largest gap between consecutive events of `stream` in [from, to].
function largestGap(stream, from, to, pred = (e) => e.event === 'status') {
  const times = [from, ...stream.events.filter((e) => pred(e) && e.at >= from && e.at <= to).map((e) => e.at), to];
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return gap;
}

test('store killed with streams open: every stream gets one error event and stays open; restarted: every stream shows the current status within one interval', async (t) => {
  const streams = await Promise.all(ids.map((id) => openStream(`${apache.url}/v1/meetings/${id}/events`, { token })));
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    const killedAt = Date.now();
    await store.kill();
    // A poll at most one interval away, then server selection (1500 ms) fails.
    const errors = await Promise.all(streams.map((s) => s.next((e) => e.event === 'error', POLL_MS + 1500 + 2500)));
    const errorIn = Math.max(...errors.map((e) => e.at)) - killedAt;
    for (const e of errors) {
      assert.equal(e.json.code, 'store_unavailable');
      assert.equal(e.json.retryInMs, POLL_MS);
    }
    await sleep(POLL_MS * 4);
    for (const s of streams) {
      assert.equal(s.ended, false, 'the stream stays open while the store is down');
      assert.equal(s.events.filter((e) => e.event === 'error').length, 1, 'one error event per outage');
      assert.equal(s.events.filter((e) => e.event === 'connectionLost').length, 0);
    }

    const marks = streams.map((s) => s.events.length);
    await store.restart();
    const backAt = Date.now();
    const back = await Promise.all(streams.map((s, i) => s.next((e) => e.event === 'status', 10000, marks[i])));
    const latencies = back.map((e) => e.at - backAt);
    back.forEach((e, i) => assert.equal(e.json._id, ids[i]));
    back.forEach((e, i) => assert.equal(e.json.progress, i, 'the current document (as restarted)'));
    const worst = Math.max(...latencies);
    t.diagnostic(`store-loss: all ${STREAMS} error events within ${errorIn} ms of SIGKILL; current status on all within ${worst} ms of the restart`);
    // One interval, plus libmongoc noticing the server is back (its pool
    // rescans at minHeartbeatFrequencyMS = 500 ms) and a poll that was
    // waiting in server selection when the store came back.
    assert.ok(worst <= POLL_MS + 1500, `current status within ${worst} ms of the restart`);
    assert.ok(streams.every((s) => !s.ended));
  } finally {
    streams.forEach((s) => s.close());
  }
});

test('SSEPollBatch 1: one hanging poll (failCommand blockConnection) is cut off by socketTimeoutMS and delays no other stream', async (t) => {
  const streams = await Promise.all(ids.slice(0, 10).map((id) => openStream(`${apache.url}/v3/always/${id}/events`, { token })));
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    await sleep(ALWAYS_MS * 2);
    const from = Date.now();
    // The next find from the module hangs for 8 s. libmongoc gives up at
    // socketTimeoutMS and retries the read once (retryReads), which succeeds.
    await withAdmin((admin) => admin.command({
      configureFailPoint: 'failCommand', mode: { times: 1 },
      data: { failCommands: ['find'], blockConnection: true, blockTimeMS: 8000, appName: 'mod_sse' },
    }));
    await sleep(SOCKET_TIMEOUT_MS + 2000);
    const to = Date.now();
    const gaps = streams.map((s) => largestGap(s, from, to, (e) => e.event === 'status' || e.event === 'error'));
    const hungGap = Math.max(...gaps);
    const othersGap = gaps.filter((g, i) => i !== gaps.indexOf(hungGap)).reduce((x, y) => Math.max(x, y), 0);
    assert.ok(hungGap >= SOCKET_TIMEOUT_MS - 500, `one stream met the hanging poll (largest gap ${hungGap} ms)`);
    assert.ok(hungGap <= SOCKET_TIMEOUT_MS + ALWAYS_MS + 700, `the hanging poll held its stream ${hungGap} ms, not the 8 s it hung (socketTimeoutMS ${SOCKET_TIMEOUT_MS})`);
    assert.ok(othersGap <= ALWAYS_MS + 1700, `the other streams went at most ${othersGap} ms without a status (interval ${ALWAYS_MS} ms)`);
    t.diagnostic(`hung poll: its stream waited ${hungGap} ms; the other 9 at most ${othersGap} ms between statuses`);
    assert.ok(streams.every((s) => !s.ended));
  } finally {
    streams.forEach((s) => s.close());
    await withAdmin((admin) => admin.command({ configureFailPoint: 'failCommand', mode: 'off' })).catch(() => {});
  }
});

test('a store that hangs on every find: every stream gets its error within the URI timeouts, stays open, and recovers', async (t) => {
  const streams = await Promise.all(ids.slice(0, 10).map((id) => openStream(`${apache.url}/v1/meetings/${id}/events`, { token })));
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    const hungAt = Date.now();
    await withAdmin((admin) => admin.command({
      configureFailPoint: 'failCommand', mode: 'alwaysOn',
      data: { failCommands: ['find'], blockConnection: true, blockTimeMS: 20000, appName: 'mod_sse' },
    }));
    // A poll at most one interval away; the read and its one retry each
    // end at socketTimeoutMS.
    const bound = POLL_MS + 2 * SOCKET_TIMEOUT_MS + 1000;
    const errors = await Promise.all(streams.map((s) => s.next((e) => e.event === 'error', bound + 2000)));
    const worst = Math.max(...errors.map((e) => e.at)) - hungAt;
    assert.ok(worst <= bound, `every stream had its error event within ${worst} ms (bound ${bound})`);
    const marks = streams.map((s) => s.events.length);
    await withAdmin((admin) => admin.command({ configureFailPoint: 'failCommand', mode: 'off' }));
    const offAt = Date.now();
    const back = await Promise.all(streams.map((s, i) => s.next((e) => e.event === 'status', POLL_MS + 2 * SOCKET_TIMEOUT_MS + 3000, marks[i])));
    const recovered = Math.max(...back.map((e) => e.at)) - offAt;
    t.diagnostic(`hung store: errors on all 10 within ${worst} ms; status back on all within ${recovered} ms of failpoint off`);
    assert.ok(streams.every((s) => !s.ended && s.events.every((e) => e.event !== 'connectionLost')));
  } finally {
    streams.forEach((s) => s.close());
    await withAdmin((admin) => admin.command({ configureFailPoint: 'failCommand', mode: 'off' })).catch(() => {});
  }
});
