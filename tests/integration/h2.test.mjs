// HTTP/2 and TLS: a stream over h2 (TLS, ALPN) and h2c (prior knowledge)
// behaves as one over HTTP/1.1, and HTTP/1.1 behind mod_ssl still suspends.
//
// Debian's apache2 with mod_ssl and mod_http2, a certificate made here with
// `openssl req -x509`, Node's built-in http2 client. On h2 a stream runs in
// blocking mode on one of mod_http2's worker threads (see README, Sizing):
// the test configs give mod_http2 enough of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import {
  startMockStore, startApache, storeClient, mintToken, opcounters, selfSignedCert, testSecretFile,
} from '../lib/harness.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';
import { connectH2, h2Get, openH2Stream } from '../lib/h2-client.mjs';
import { alive } from '../lib/proc.mjs';

const POLL_MS = 500;
const MANY = 100;
const doc = (id, i = 0) => ({ _id: id, ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString() } });
const IDS = ['n-tls', 'n-h2c', 'many', 'rstA', 'rstB', 'gone', 'life', 'del', 'grace', 'deflate', 'h1tls'];
const DATA = { meetings_app: { meetings: IDS.map((id, i) => doc(id, i)) } };

// mod_http2 runs each stream on one of its own worker threads: enough for
// MANY streams plus the short requests, in one child.
const H2 = `H2MinWorkers 8
H2MaxWorkers ${MANY + 40}
H2MaxSessionStreams ${MANY + 28}`;

let store, mongo, meetings, token, cert, tlsApache, h2cApache;
const servers = [];

const extra = (secretFile) => `
${renderSseLocation('/v2/short/', { secretFile, directives: `
    SSEVersionField updatedAt
    SSEPollInterval 200ms
    SSEKeepalive 300ms
    SSEMaxLifetime 1500ms` })}
${renderSseLocation('/v2/exp/', { secretFile, directives: `
    SSEVersionField updatedAt
    SSEPollInterval 200ms
    SSEJWTLeeway 0` })}`;

async function apacheWith(opts) {
  // 100 streams of one user on one connection: no per-user limit here.
  const a = await startApache({ storeUri: store.uri, maxStreamsPerUser: 0, ...opts });
  servers.push(a);
  return a;
}

before(async () => {
  store = await startMockStore({ data: DATA });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
  token = await mintToken({ sub: 'alice' });
  cert = selfSignedCert();
  const common = {
    pollInterval: `${POLL_MS}ms`, keepalive: '1s', threadsPerChild: 16, serverLimit: 1, startServers: 1,
    logLevel: 'debug http2:trace1', h2: H2, extra: extra(testSecretFile()),
  };
  // Per-stream polls here, so the query count tells how many streams poll
  // (the RST_STREAM test); h2c below shares them (the default).
  tlsApache = await apacheWith({ ...common, tls: cert, protocols: 'h2 http/1.1', pollBatch: 1 });
  h2cApache = await apacheWith({ ...common, protocols: 'h2c http/1.1' });
});

after(async () => {
  for (const a of servers) await a.stop();
  await mongo?.close();
  await store?.stop();
});

const eventsPath = (id) => `/v1/meetings/${id}/events`;
const change = (id, fields = {}) => {
  const when = new Date();
  return meetings.updateOne({ _id: id }, { $set: { updatedAt: when, ...fields } }).then(() => when.toISOString());
};
const queryCount = async () => (await opcounters(store.uri)).query;
// Store queries per `POLL_MS` interval over `ms`, i.e. how many streams poll.
async function pollingStreams(ms) {
  const q0 = await queryCount();
  const t0 = Date.now();
  await sleep(ms);
  return (await queryCount() - q0) / ((Date.now() - t0) / POLL_MS);
}

for (const [name, which, id] of [['h2 over TLS', () => tlsApache, 'n-tls'], ['h2c', () => h2cApache, 'n-h2c']]) {
  test(`${name}: a stream stays open, gets every change within its interval, pings, with no-transform headers`, async (t) => {
    const a = which();
    const session = await connectH2(a.url, { caFile: cert.certFile });
    const s = openH2Stream(session, eventsPath(id), { token });
    try {
      const h = await s.response;
      assert.equal(h[':status'], 200);
      assert.equal(h['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(h['cache-control'], 'no-cache, no-transform');
      assert.equal(h['content-length'], undefined);
      assert.equal(session.alpnProtocol, a.url.startsWith('https') ? 'h2' : 'h2c');
      await s.next((e) => e.event === 'status');
      assert.equal(s.retry, 5000);
      assert.equal(s.events[0].event, 'connected');

      // Quiet for longer than SSEKeepalive (1 s): a ping, and still open.
      const pings = s.comments.length;
      await sleep(1500);
      assert.ok(s.comments.length > pings, 'a keep-alive ping arrived');
      assert.equal(s.ended, false);

      const N = 4;
      const lags = [];
      for (let i = 0; i < N; i++) {
        const t0 = Date.now();
        const version = await change(id, { progress: 10 * (i + 1) });
        const e = await s.next((ev) => ev.event === 'status' && ev.id === version, POLL_MS + 1500);
        assert.equal(e.json.progress, 10 * (i + 1));
        lags.push(e.at - t0);
        await sleep(Math.max(0, POLL_MS - (Date.now() - t0)));
      }
      assert.equal(s.events.filter((e) => e.event === 'status').length, N + 1, 'one status per change, no repeats');
      assert.ok(Math.max(...lags) <= POLL_MS + 700, `change -> client lags ${lags} ms (interval ${POLL_MS} ms)`);
      assert.equal(s.ended, false, 'the stream is still open');
      t.diagnostic(`${name}: ${N} changes, lags ${lags.join(', ')} ms`);
    } finally {
      s.close();
      session.close();
    }
  });
}

test(`h2: ${MANY} streams on one connection all receive every change`, async (t) => {
  const session = await connectH2(tlsApache.url, { caFile: cert.certFile });
  let streams = [];
  try {
    // mod_http2 2.0 runs at most 6 requests at once on a new connection and
    // raises that (doubling, at most every 100 ms) as requests on it
    // complete normally, up to min(H2MaxWorkers, H2MaxSessionStreams); the
    // rest wait in its queue (short requests too), and resets lower it.
    // Streams never complete, so short requests made before the streams
    // open, as a page load makes them, are what raise it: make them until
    // mod_http2 says (its trace1 "mood update") the limit has room for all.
    const limitNow = () => Math.max(0, ...[...tlsApache.errorLog().matchAll(/\[client [^\]]*:(\d+)\] h2_mplx\([^)]*\): mood update, increasing worker limit ?to (\d+)/g)]
      .filter((m) => Number(m[1]) === localPort).map((m) => Number(m[2])));
    const localPort = session.socket.localPort;
    let short = 0;
    while (limitNow() < MANY && short < 60) {
      const r = await h2Get(session, '/v1/meetings/many', { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200);
      short++;
      await sleep(120);
    }
    assert.ok(limitNow() >= MANY, `mod_http2's limit on this connection is ${limitNow()} after ${short} short requests`);
    streams = Array.from({ length: MANY }, () => openH2Stream(session, eventsPath('many'), { token }));
    await Promise.race([Promise.all(streams.map((s) => s.response)), sleep(5000)]);
    assert.ok(streams.every((s) => s.status === 200), `${streams.filter((s) => s.status === 200).length} of ${MANY} streams answered after ${short} short requests`);
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    const before = streams.map((s) => s.events.filter((e) => e.event === 'status').length);

    for (let round = 1; round <= 3; round++) {
      const t0 = Date.now();
      const version = await change('many', { progress: round });
      const got = await Promise.all(streams.map((s) => s.next((e) => e.event === 'status' && e.id === version, POLL_MS + 3000)));
      const worst = Math.max(...got.map((e) => e.at)) - t0;
      assert.ok(worst <= POLL_MS + 1500, `round ${round}: the last of ${MANY} streams saw the change after ${worst} ms`);
      t.diagnostic(`round ${round}: all ${MANY} streams had the change after ${worst} ms`);
    }
    streams.forEach((s, i) => {
      assert.equal(s.events.filter((e) => e.event === 'status').length, before[i] + 3, 'every stream saw every change once');
      assert.equal(s.ended, false);
    });
    t.diagnostic(`${MANY} streams on one connection, opened after ${short} short requests raised mod_http2's limit to ${limitNow()}`);
  } finally {
    for (const s of streams) s.close();
    session.close();
  }
});

test('h2: on a fresh connection mod_http2 runs 6 streams at once and queues the rest (see README, Sizing)', async () => {
  const session = await connectH2(h2cApache.url);
  const streams = Array.from({ length: 10 }, () => openH2Stream(session, eventsPath('many'), { token }));
  try {
    await Promise.all(streams.slice(0, 6).map((s) => s.next((e) => e.event === 'status')));
    await sleep(1500);
    assert.equal(streams.filter((s) => s.status === 200).length, 6, 'the other 4 wait in mod_http2\'s queue');
    assert.ok(streams.filter((s) => s.status !== 200).every((s) => s.events.length === 0 && !s.ended), 'queued, not refused');
  } finally {
    for (const s of streams) s.close();
    session.close();
  }
});

test('h2: each connection with an open stream holds one MPM worker thread: ThreadsPerChild 4 serves 4 such connections', async (t) => {
  const a = await apacheWith({
    pollInterval: `${POLL_MS}ms`, keepalive: '1s', threadsPerChild: 4, serverLimit: 1, startServers: 1,
    protocols: 'h2c http/1.1', h2: 'H2MinWorkers 4\nH2MaxWorkers 32',
  });
  const [child] = a.children();
  const threads0 = fs.readdirSync(`/proc/${child}/task`).length;
  const sessions = [];
  const streams = [];
  try {
    for (let i = 0; i < 6; i++) {
      const session = await connectH2(a.url);
      sessions.push(session);
      streams.push(openH2Stream(session, eventsPath('many'), { token }));
      await sleep(100);
    }
    await sleep(2000);
    const served = streams.filter((s) => s.status === 200).length;
    assert.equal(served, 4, `${served} of 6 connections answered with 4 MPM worker threads`);
    // Closing one of the served connections frees its worker for a waiting one.
    const first = streams.findIndex((s) => s.status === 200);
    sessions[first].destroy();
    await Promise.any(streams.filter((s) => s.status !== 200).map((s) => s.next((e) => e.event === 'status', 6000)));
    t.diagnostic(`child threads: ${threads0} before, ${fs.readdirSync(`/proc/${child}/task`).length} with 4 streams on 4 connections`);
  } finally {
    for (const s of streams) s.close();
    for (const s of sessions) s.destroy();
  }
});

test('h2: RST_STREAM ends only that stream and its polling; closing the connection ends the rest', async (t) => {
  const session = await connectH2(tlsApache.url, { caFile: cert.certFile });
  const a = openH2Stream(session, eventsPath('rstA'), { token });
  const b = openH2Stream(session, eventsPath('rstB'), { token });
  try {
    await Promise.all([a, b].map((s) => s.next((e) => e.event === 'status')));
    await sleep(POLL_MS);
    const both = await pollingStreams(2000);
    assert.ok(both > 1.6 && both < 2.5, `two streams poll: ${both.toFixed(2)} queries per interval`);

    a.close();
    await a.done;
    assert.equal(a.endedBy, 'reset');
    await sleep(POLL_MS + 200);         // noticed within one interval
    const one = await pollingStreams(2000);
    assert.ok(one > 0.6 && one < 1.4, `after the reset one stream polls: ${one.toFixed(2)} queries per interval`);
    const version = await change('rstB');
    await b.next((e) => e.event === 'status' && e.id === version, POLL_MS + 1500);
    assert.equal(b.ended, false, 'the other stream on the connection goes on');
    assert.match(tlsApache.errorLog(), /stream for rstA ended: client disconnected/);

    session.destroy();
    await b.done;
    await sleep(POLL_MS + 200);
    const none = await pollingStreams(2000);
    assert.ok(none < 0.3, `after the connection closed: ${none.toFixed(2)} queries per interval`);
    assert.match(tlsApache.errorLog(), /stream for rstB ended: client disconnected/);
    t.diagnostic(`queries per interval: ${both.toFixed(2)} with two streams, ${one.toFixed(2)} after one RST_STREAM, ${none.toFixed(2)} after the connection closed`);
  } finally {
    a.close(); b.close(); session.destroy();
  }
});

test('h2: max_lifetime, token_expired and not_found end the stream with connectionLost, then END_STREAM', async () => {
  const session = await connectH2(h2cApache.url);
  const shortToken = await mintToken({ sub: 'alice', expSeconds: 2 });
  const life = openH2Stream(session, '/v2/short/life/events', { token });
  const expiring = openH2Stream(session, '/v2/exp/life/events', { token: shortToken });
  const del = openH2Stream(session, eventsPath('del'), { token });
  try {
    await Promise.all([life, expiring, del].map((s) => s.next((e) => e.event === 'status')));
    const lost = await life.next((e) => e.event === 'connectionLost', 3000);
    assert.deepEqual(lost.json, { reason: 'max_lifetime', reconnect: true });
    assert.ok(life.comments.length >= 1, 'SSEKeepalive 300ms pinged before the end');
    await life.done;
    assert.equal(life.endedBy, 'server');

    const expired = await expiring.next((e) => e.event === 'connectionLost', 3000);
    assert.deepEqual(expired.json, { reason: 'token_expired', reconnect: false });
    await expiring.done;

    await meetings.deleteOne({ _id: 'del' });
    const gone = await del.next((e) => e.event === 'connectionLost', POLL_MS + 1500);
    assert.deepEqual(gone.json, { reason: 'not_found', reconnect: false });
    await del.done;
    assert.equal(del.endedBy, 'server');
  } finally {
    for (const s of [life, expiring, del]) s.close();
    session.close();
  }
});

test('h2: graceful restart ends every h2 stream with connectionLost shutdown within an interval; the old child exits', async (t) => {
  const a = await apacheWith({
    pollInterval: '3s', keepalive: '15s', threadsPerChild: 8, serverLimit: 2, startServers: 1,
    tls: cert, protocols: 'h2 http/1.1', h2: H2,
  });
  const oldChildren = a.children();
  const session = await connectH2(a.url, { caFile: cert.certFile });
  const streams = Array.from({ length: 6 }, () => openH2Stream(session, eventsPath('grace'), { token }));
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    const t0 = Date.now();
    a.graceful();
    const lost = await Promise.all(streams.map((s) => s.next((e) => e.event === 'connectionLost', 5000)));
    for (const e of lost) assert.deepEqual(e.json, { reason: 'shutdown', reconnect: true });
    const worst = Math.max(...lost.map((e) => e.at)) - t0;
    assert.ok(worst < 1500, `the last h2 stream heard of the restart after ${worst} ms (poll interval 3 s)`);
    await Promise.all(streams.map((s) => s.done));
    for (const s of streams) assert.equal(s.endedBy, 'server');
    const deadline = Date.now() + 5000;
    while (oldChildren.some(alive) && Date.now() < deadline) await sleep(50);
    assert.ok(!oldChildren.some(alive), `old children still running ${Date.now() - t0} ms after the restart`);

    const again = await connectH2(a.url, { caFile: cert.certFile });
    const s = openH2Stream(again, eventsPath('grace'), { token });
    try {
      const connected = await s.next((e) => e.event === 'connected');
      assert.ok(!oldChildren.includes(Number(connected.json.instance.split(':')[2])), 'served by the new generation');
    } finally { s.close(); again.close(); }
    t.diagnostic(`last shutdown after ${worst} ms`);
  } finally {
    for (const s of streams) s.close();
    session.destroy();
  }
});

// One HTTP/1.1 stream over TLS (no ALPN offered, so HTTP/1.1).
function openHttpsStream(url, path) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = https.get({
      host: u.hostname, port: u.port, path, agent: false, ca: fs.readFileSync(cert.certFile),
      headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}` },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const s = { status: res.statusCode, headers: res.headers, httpVersion: res.httpVersion, events: [], close: () => req.destroy() };
      const parser = createParser({ onEvent(ev) { s.events.push({ event: ev.event, id: ev.id, at: Date.now() }); } });
      res.setEncoding('utf8');
      res.on('data', (d) => parser.feed(d));
      res.on('error', () => {});
      s.until = async (pred, ms) => {
        const end = Date.now() + ms;
        while (!s.events.some(pred)) {
          if (Date.now() > end) throw new Error(`no matching event in ${ms} ms`);
          await sleep(20);
        }
        return s.events.find(pred);
      };
      resolve(s);
    });
  });
}

test('HTTP/1.1 over TLS: streams behind mod_ssl are suspended: 8 worker threads hold 60 streams and deliver a change to all', async (t) => {
  const a = await apacheWith({
    pollInterval: `${POLL_MS}ms`, keepalive: '5s', threadsPerChild: 8, serverLimit: 1, startServers: 1, asyncFactor: 16,
    tls: cert, protocols: 'http/1.1',
  });
  const [child] = a.children();
  const streams = [];
  try {
    for (let i = 0; i < 60; i += 20) {
      streams.push(...await Promise.all(Array.from({ length: 20 }, () => openHttpsStream(a.url, eventsPath('h1tls')))));
    }
    assert.ok(streams.every((s) => s.status === 200 && s.httpVersion === '1.1'));
    // Only a suspended stream says its connection ends with it.
    assert.equal(streams[0].headers.connection, 'close');
    await Promise.all(streams.map((s) => s.until((e) => e.event === 'status', 5000)));
    const threads = fs.readdirSync(`/proc/${child}/task`).length;
    assert.ok(threads < 24, `the child runs ${threads} threads for 60 streams`);
    const version = await change('h1tls');
    await Promise.all(streams.map((s) => s.until((e) => e.event === 'status' && e.id === version, POLL_MS + 1500)));
    t.diagnostic(`60 TLS HTTP/1.1 streams held by a child of ${threads} threads (8 workers)`);
  } finally {
    for (const s of streams) s.close();
  }
});
