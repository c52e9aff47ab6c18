// Suspended streams on mpm_event, and the blocking fallback elsewhere.
//
// A suspended stream holds no worker thread between ticks, so a child with a
// handful of threads serves hundreds of streams; mod_sse ends each one itself
// (2.4 cannot resume a suspended connection), so connections must really
// close and the child's connection count must come back to zero; a graceful
// restart must end every suspended stream at once so the old child exits.
// Under mpm_worker (no suspension) streams run one thread each, as before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startMockStore, startApache, storeClient, mintToken, openStream, opcounters,
} from '../lib/harness.mjs';
import { alive, tcpStates } from '../lib/proc.mjs';

const WIDE = 240;          // streams held by one child with 8 threads
const CHURN = 2000;        // short streams that must all close cleanly
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'wide', ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T09:00:00.000Z' } },
      { _id: 'churn', ownerId: 'alice', status: 'ready', progress: 100, updatedAt: { $date: '2026-11-25T08:00:00.000Z' } },
      { _id: 'restart', ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T07:00:00.000Z' } },
      { _id: 'blocking', ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T06:00:00.000Z' } },
    ],
  },
};

let store, mongo, meetings, token;
const servers = [];

before(async () => {
  store = await startMockStore({ data: DATA });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  for (const a of servers) await a.stop();
  await mongo?.close();
  await store?.stop();
});

// These tests tell children and instances apart by the connected event's
// `instance`, so they name it host:port:pid (the default is opaque).
const INSTANCE_NAME = 'SSEInstanceName %v:%p:%P';

async function apacheWith(opts) {
  // Hundreds of streams with one token: no per-user limit here.
  const a = await startApache({ storeUri: store.uri, extra: INSTANCE_NAME, maxStreamsPerUser: 0, ...opts });
  servers.push(a);
  // The port opens before the children have run child_init, where each
  // logs its execution mode: wait for the first child's line.
  for (let i = 0; i < 60 && !/streams run (suspended|in blocking mode)/.test(a.errorLog()); i++) await sleep(50);
  return a;
}

const modeLines = (a, mode) => a.errorLog().split('\n').filter((l) => l.includes(`streams run ${mode}`));

// The parent opens the port before its children log their mode: wait for
// every child's line rather than reading the log at once.
async function modeLogged(a, n = 1, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  const count = () => a.errorLog().split('\n').filter((l) => /streams run (suspended|in blocking mode)/.test(l)).length;
  while (count() < n && Date.now() < deadline) await sleep(50);
}

function threadsOf(pid) {
  try { return fs.readdirSync(`/proc/${pid}/task`).length; } catch { return 0; }
}

// One stream over a raw socket: resolves with what it read when the server
// closes; with `abortAfter`, the client closes once that text has arrived.
function rawStream(port, path, { abortAfter } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`stream did not end: ${text.slice(-200)}`)); }, 15000);
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    });
    sock.on('data', (d) => {
      text += d;
      if (abortAfter && text.includes(abortAfter)) sock.destroy();
    });
    sock.on('error', () => {});
    sock.on('close', () => { clearTimeout(timer); resolve(text); });
  });
}

test(`suspended mode: one child with 8 worker threads delivers a change to all of ${WIDE} streams`, async (t) => {
  const a = await apacheWith({ pollInterval: '500ms', keepalive: '5s', threadsPerChild: 8, serverLimit: 1, startServers: 1, asyncFactor: 64 });
  await modeLogged(a);
  const [child] = a.children();
  assert.equal(modeLines(a, 'suspended').length, 1, a.errorLog());
  assert.equal(modeLines(a, 'in blocking mode').length, 0);

  const streams = [];
  try {
    for (let i = 0; i < WIDE; i += 40) {
      streams.push(...await Promise.all(Array.from({ length: Math.min(40, WIDE - i) },
        () => openStream(`${a.url}/v1/meetings/wide/events`, { token }))));
    }
    assert.ok(streams.every((s) => s.status === 200), 'every stream opened');
    assert.equal(streams[0].headers.get('connection'), 'close', 'a suspended stream ends with its connection');
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    // Held streams cost no threads: the child has its 8 workers plus a few
    // of its own (listener, scheduler, libmongoc), not one per stream.
    const threads = threadsOf(child);
    assert.ok(threads > 0 && threads < 24, `child ${child} runs ${threads} threads for ${WIDE} streams`);

    const before = await opcounters(store.uri);
    const t0 = Date.now();
    const when = new Date();
    await meetings.updateOne({ _id: 'wide' }, { $set: { status: 'transcribing', progress: 50, updatedAt: when } });
    const got = await Promise.all(streams.map((s) => s.next((e) => e.event === 'status' && e.id === when.toISOString(), 5000)));
    const worst = Math.max(...got.map((e) => e.at)) - t0;
    assert.equal(got.length, WIDE);
    assert.ok(worst < 500 + 1000, `the last stream saw the change after ${worst} ms`);
    await sleep(1000);
    const after = await opcounters(store.uri);
    const perStreamPerInterval = (after.query - before.query) / WIDE / ((Date.now() - t0) / 500);
    assert.ok(perStreamPerInterval <= 1.1, `${perStreamPerInterval.toFixed(2)} queries per stream per interval`);
    t.diagnostic(`${WIDE} streams, ${threads} threads in the child; change seen by all after ${worst} ms; ${perStreamPerInterval.toFixed(2)} queries/stream/interval`);
  } finally {
    for (const s of streams) s.close();
  }
});

test(`suspended mode: ${CHURN} finished streams all close (no CLOSE_WAIT), the count drops to zero, the child keeps accepting`, async (t) => {
  const a = await apacheWith({
    pollInterval: '100ms', keepalive: '1s', maxLifetime: '300ms',
    threadsPerChild: 8, serverLimit: 1, startServers: 1, asyncFactor: 64,
    logLevel: 'info mpm_event:trace6',
  });
  const [child] = a.children();
  const path = '/v1/meetings/churn/events';
  let lifetimeEnds = 0;
  const BATCH = 200;
  for (let i = 0; i < CHURN; i += BATCH) {
    // Half end by SSEMaxLifetime, half by the client going away.
    const texts = await Promise.all(Array.from({ length: BATCH }, (_, j) =>
      rawStream(a.port, path, j % 2 ? { abortAfter: 'event: status' } : {})));
    for (let j = 0; j < texts.length; j += 2) {
      assert.match(texts[j], /HTTP\/1\.1 200/);
      if (/"reason":"max_lifetime"/.test(texts[j])) lifetimeEnds++;
    }
  }
  assert.equal(lifetimeEnds, CHURN / 2, 'every lifetime stream ended with connectionLost max_lifetime');

  // Client-gone streams are noticed at their next tick (<= 100 ms + jitter).
  await sleep(600);
  const states = tcpStates(a.port);
  assert.equal(states.CLOSE_WAIT || 0, 0, `server sockets in CLOSE_WAIT: ${JSON.stringify(states)}`);
  assert.equal(states.ESTABLISHED || 0, 0, `connections still open: ${JSON.stringify(states)}`);

  // The same child still accepts and serves a stream.
  const s = await openStream(`${a.url}${path}`, { token });
  try {
    await s.next((e) => e.event === 'status');
    assert.deepEqual(a.children(), [child], 'no child was replaced');
    assert.match(s.events[0].json.instance, new RegExp(`:${child}$`));
  } finally { s.close(); }

  // event's own accounting (trace6, logged when its listener wakes): every
  // finished stream left the connection and suspended counts.
  await sleep(1200);
  await fetch(`${a.url}/health/ready`).then((r) => r.text());
  await sleep(300);
  const counts = a.errorLog().split('\n').filter((l) => /connections: \d+ .*suspended:\d+/.test(l));
  assert.ok(counts.length > 0, 'event logged its connection counts');
  const last = counts.at(-1).match(/connections: (\d+) .*suspended:(\d+)/);
  assert.ok(Number(last[1]) <= 2, `event still counts ${last[1]} connections: ${counts.at(-1)}`);
  assert.ok(Number(last[2]) <= 1, `event still counts ${last[2]} suspended: ${counts.at(-1)}`);
  t.diagnostic(`after ${CHURN} streams: ${JSON.stringify(states)}; event: ${last[0]}`);
});

test('graceful restart ends every suspended stream with connectionLost shutdown at once; the old child exits', async (t) => {
  // A 3 s poll and 15 s keep-alive: only the stop itself can end the streams quickly.
  const a = await apacheWith({ pollInterval: '3s', keepalive: '15s', threadsPerChild: 8, serverLimit: 2, startServers: 1, asyncFactor: 64 });
  const oldChildren = a.children();
  const streams = await Promise.all(Array.from({ length: 60 }, () => openStream(`${a.url}/v1/meetings/restart/events`, { token })));
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    const t0 = Date.now();
    a.graceful();
    const lost = await Promise.all(streams.map((s) => s.next((e) => e.event === 'connectionLost', 5000)));
    const worst = Math.max(...lost.map((e) => e.at)) - t0;
    for (const e of lost) assert.deepEqual(e.json, { reason: 'shutdown', reconnect: true });
    assert.ok(worst < 1500, `the last stream heard of the restart after ${worst} ms`);
    await Promise.all(streams.map((s) => s.done));
    const deadline = Date.now() + 3000;
    while (oldChildren.some(alive) && Date.now() < deadline) await sleep(50);
    assert.ok(!oldChildren.some(alive), `old children still running ${Date.now() - t0} ms after the restart`);
    t.diagnostic(`last shutdown event after ${worst} ms; old children gone after ${Date.now() - t0} ms`);

    // The new generation serves the reconnect, suspended again.
    const again = await openStream(`${a.url}/v1/meetings/restart/events`, { token });
    try {
      const connected = await again.next((e) => e.event === 'connected');
      const pid = Number(connected.json.instance.split(':')[2]);
      assert.ok(!oldChildren.includes(pid), 'served by a new child');
      const deadline = Date.now() + 10000;
      while (!modeLines(a, 'suspended').some((l) => l.includes(`child ${pid}:`)) && Date.now() < deadline) await sleep(50);
      assert.ok(modeLines(a, 'suspended').some((l) => l.includes(`child ${pid}:`)));
    } finally { again.close(); }
  } finally {
    for (const s of streams) s.close();
  }
});

test('blocking fallback under mpm_worker: one thread per stream, changes delivered, keep-alive kept', async () => {
  const a = await apacheWith({ mpm: 'worker', pollInterval: '300ms', keepalive: '2s', threadsPerChild: 16, serverLimit: 1, startServers: 1 });
  await modeLogged(a);
  assert.ok(modeLines(a, 'in blocking mode').length >= 1, a.errorLog());
  assert.equal(modeLines(a, 'suspended').length, 0);
  const streams = await Promise.all(Array.from({ length: 4 }, () => openStream(`${a.url}/v1/meetings/blocking/events`, { token })));
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    assert.notEqual(streams[0].headers.get('connection'), 'close', 'a blocking stream keeps its connection alive');
    const when = new Date();
    await meetings.updateOne({ _id: 'blocking' }, { $set: { status: 'ready', updatedAt: when } });
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status' && e.id === when.toISOString(), 3000)));
  } finally {
    for (const s of streams) s.close();
  }
});
