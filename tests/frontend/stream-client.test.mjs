// frontend/stream-client.js against a real HTTP server started in this file (127.0.0.1, port 0).
// Time is a fake clock the test advances; randomness is fixed; the network (online/offline) is an
// EventTarget. Real sockets, real fetch(), real ReadableStream.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createStreamClient, backoffDelay, parseRetryAfter } from '../../frontend/stream-client.js';

const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const iso = (s) => new Date(T0 + s * 1000).toISOString();
const doc = (s, status = 'transcribing') => ({ _id: 'm1', title: 'Weekly sync', status, progress: 40, updatedAt: iso(s), ownerId: 'alice' });

// ---- helpers --------------------------------------------------------------------------------

const cleanups = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()();
});

/** An HTTP server whose `events` and `resource` handlers the test replaces as it goes. */
async function startServer() {
  const log = [];
  const routes = {
    events: (req, res) => { res.writeHead(503); res.end(); },
    resource: (req, res) => { res.writeHead(503); res.end(); },
  };
  const open = new Set();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const entry = { path, headers: req.headers, closed: false };
    log.push(entry);
    open.add(res);
    req.on('close', () => { entry.closed = true; });
    res.on('close', () => { entry.closed = true; open.delete(res); });
    if (path === '/v1/meetings/m1/events') routes.events(req, res, entry);
    else if (path === '/v1/meetings/m1') routes.resource(req, res, entry);
    else { res.writeHead(404); res.end(); }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  cleanups.push(() => new Promise((resolve) => {
    for (const res of open) res.destroy();
    server.close(resolve);
    server.closeAllConnections();   // idle keep-alive sockets too, or close() waits for them
  }));
  return { url, log, routes, paths: () => log.map((e) => (e.path.endsWith('/events') ? 'stream' : 'rest')) };
}

function sseHead(res) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
}
const connectedEvent = (keepalive = 15000) =>
  `retry: 5000\n\nevent: connected\ndata: {"resource":"m1","pollInterval":3000,"keepalive":${keepalive},"instance":"test:0:1"}\n\n`;
const statusEvent = (d) => `id: ${d.updatedAt}\nevent: status\ndata: ${JSON.stringify(d)}\n\n`;

/** A stream that sends `text` and then ends cleanly (or stays open with keepOpen). */
function streamOf(text, { keepOpen = false } = {}) {
  return (req, res) => {
    sseHead(res);
    res.write(text);
    if (!keepOpen) res.end();
  };
}
function json(status, body, headers = {}) {
  return (req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
}
const resourceOf = (d, etag = true) => json(200, d, etag ? { ETag: `"${d.updatedAt}"` } : {});

function fakeClock() {
  let now = T0;
  let seq = 0;
  const timers = new Map();
  return {
    now: () => now,
    setTimeout(fn, ms) { const id = ++seq; timers.set(id, { at: now + ms, ms, fn }); return id; },
    clearTimeout(id) { timers.delete(id); },
    timers: () => [...timers.values()],
    /** Moves time forward, firing due timers in order. */
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let next = null;
        for (const [id, t] of timers) if (t.at <= target && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = target;
    },
  };
}

async function waitFor(pred, what, timeoutMs = 3000) {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

function makeClient(server, options = {}) {
  const clock = fakeClock();
  const network = new EventTarget();
  let online = true;
  let consumedWaits = 0;
  const seen = { states: [], docs: [], notices: [] };
  const client = createStreamClient({
    meetingId: 'm1',
    getToken: () => 'tok-1',
    baseUrl: server.url,
    clock,
    random: () => 1,
    network,
    isOnline: () => online,
    ...options,
  });
  client.on('state', (s) => seen.states.push(s));
  client.on('document', (d, meta) => seen.docs.push({ ...meta, updatedAt: d.updatedAt }));
  client.on('notice', (n) => seen.notices.push(n));
  cleanups.push(async () => client.stop());
  const phase = () => client.state.phase;
  return {
    client, clock, seen, phase,
    setOnline(value) { online = value; network.dispatchEvent(new Event(value ? 'online' : 'offline')); },
    /** Waits for the client to schedule its next retry; returns the delay it chose. */
    async nextDelay() {
      const waits = () => seen.states.filter((s) => s.phase === 'retrying' && s.step === 'waiting');
      await waitFor(() => waits().length > consumedWaits, 'a scheduled retry');
      consumedWaits = waits().length;
      return waits().at(-1).delayMs;
    },
    waitPhase: (p) => waitFor(() => phase() === p, `phase ${p} (now ${phase()})`),
  };
}

// ---- the stream -----------------------------------------------------------------------------

test('opens the stream with the bearer token and renders its status events', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(1)), { keepOpen: true });
  const c = makeClient(server);
  c.client.start();
  await waitFor(() => c.seen.docs.length === 1, 'a document');
  assert.equal(c.phase(), 'live');
  const req = server.log[0];
  assert.equal(req.headers.authorization, 'Bearer tok-1');
  assert.equal(req.headers.accept, 'text/event-stream');
  assert.equal(req.headers['last-event-id'], undefined, 'the first connection has no Last-Event-ID');
  assert.deepEqual(c.seen.docs[0], { source: 'stream', version: iso(1), updatedAt: iso(1) });
});

test('a missing token is fatal at once, without any request', async () => {
  const server = await startServer();
  const c = makeClient(server, { getToken: () => null });
  c.client.start();
  assert.equal(c.phase(), 'fatal');
  assert.equal(c.client.state.fatal.kind, 'unauthorized');
  await settle();
  assert.equal(server.log.length, 0);
});

// ---- backoff --------------------------------------------------------------------------------

test('backoff waits 5 s, 10 s, 15 s, then 30 s for every later attempt (jitter at its top)', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent()); // opens, then ends cleanly
  const c = makeClient(server, { random: () => 1 });
  c.client.start();
  const delays = [];
  for (let i = 0; i < 5; i++) {
    delays.push(await c.nextDelay());
    if (i === 0) server.routes.events = json(503, { error: 'store_unavailable' });
    c.clock.advance(c.client.state.delayMs);
  }
  assert.deepEqual(delays, [5000, 10000, 15000, 30000, 30000]);
  assert.deepEqual(c.seen.states.filter((s) => s.step === 'waiting').map((s) => s.attempt), [1, 2, 3, 4, 5]);
});

test('backoff jitter adds up to 20% to each step (random = 0: 6 s, 12 s, 18 s, 36 s)', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent());
  const c = makeClient(server, { random: () => 0 });
  c.client.start();
  const delays = [];
  for (let i = 0; i < 4; i++) {
    delays.push(await c.nextDelay());
    if (i === 0) server.routes.events = json(502, {});
    c.clock.advance(c.client.state.delayMs);
  }
  assert.deepEqual(delays, [6000, 12000, 18000, 36000]);
});

test('backoffDelay: each step or the larger server retry:, plus up to 20% jitter, never below Retry-After', () => {
  const half = () => 0.5;
  assert.deepEqual([1, 2, 3, 4, 9].map((a) => backoffDelay(a, { floorMs: 5000, random: half })), [5500, 11000, 16500, 33000, 33000]);
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(a, { floorMs: 0, random: half })), [5500, 11000, 16500, 33000],
    'no retry: yet still waits the schedule, never ~0 ms');
  assert.equal(backoffDelay(1, { floorMs: 20000, random: () => 1 }), 20000, 'a larger server retry: wins');
  assert.equal(backoffDelay(3, { floorMs: 20000, random: () => 1 }), 20000, 'a larger server retry: wins over 15 s too');
  assert.equal(backoffDelay(1, { floorMs: 5000, retryAfterMs: 42000, random: half }), 42000, 'Retry-After wins');
  assert.equal(backoffDelay(2, { scheduleMs: [100, 200], floorMs: 0, random: () => 1 }), 200, 'an injected schedule');
  for (let attempt = 1; attempt <= 6; attempt++) {
    const step = [5000, 10000, 15000, 30000][Math.min(attempt, 4) - 1];
    for (const r of [0, 0.25, 0.5, 0.75, 0.999, 1]) {
      const d = backoffDelay(attempt, { floorMs: 5000, random: () => r });
      assert.ok(d >= step && d <= step * 1.2, `attempt ${attempt}, random ${r}: ${d} ms`);
    }
  }
  assert.notEqual(backoffDelay(1, { floorMs: 5000, random: () => 0.1 }), backoffDelay(1, { floorMs: 5000, random: () => 0.9 }),
    'clients that lost the same server do not all come back at one instant');
});

test('backoff starts again at the first step once a stream has opened', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent());
  server.routes.resource = resourceOf(doc(1));
  const c = makeClient(server, { random: () => 1 });
  c.client.start();
  assert.equal(await c.nextDelay(), 5000);
  server.routes.events = json(503, {});
  c.clock.advance(5000);
  assert.equal(await c.nextDelay(), 10000);
  server.routes.events = streamOf(connectedEvent()); // opens (connected), then ends
  c.clock.advance(10000);
  assert.equal(await c.nextDelay(), 5000);
  assert.ok(c.seen.states.some((s) => s.phase === 'live'));
});

// ---- statuses -------------------------------------------------------------------------------

for (const [status, kind] of [[401, 'unauthorized'], [403, 'forbidden'], [404, 'gone'], [410, 'gone'], [204, 'no_content'], [400, 'rejected']]) {
  test(`HTTP ${status} on the stream is fatal (${kind}): no retry, no further request`, async () => {
    const server = await startServer();
    server.routes.events = status === 204 ? (req, res) => { res.writeHead(204); res.end(); }
      : json(status, { error: 'invalid_token', message: `said ${status}` });
    const c = makeClient(server);
    c.client.start();
    await c.waitPhase('fatal');
    assert.equal(c.client.state.fatal.kind, kind);
    assert.equal(c.client.state.fatal.status, status);
    if (status !== 204) assert.equal(c.client.state.fatal.message, `said ${status}`);
    assert.equal(c.clock.timers().length, 0, 'no timer left');
    c.clock.advance(120000);
    await settle();
    assert.equal(server.log.length, 1);
  });
}

test('HTTP 401 on the REST resync is fatal too', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent());
  server.routes.resource = json(401, { error: 'invalid_token', message: 'token expired' });
  const c = makeClient(server);
  c.client.start();
  const delay = await c.nextDelay();
  c.clock.advance(delay);
  await c.waitPhase('fatal');
  assert.equal(c.client.state.fatal.kind, 'unauthorized');
  assert.deepEqual(server.paths(), ['stream', 'rest'], 'the stream is not reopened');
});

for (const status of [500, 502, 503, 504, 429, 408]) {
  test(`HTTP ${status} on the stream is retried`, async () => {
    const server = await startServer();
    server.routes.events = json(status, { error: 'x' });
    const c = makeClient(server);
    c.client.start();
    await c.nextDelay();
    assert.equal(c.phase(), 'retrying');
    assert.equal(c.client.state.attempt, 1);
  });
}

test('a network error (connection reset) is retried', async () => {
  const server = await startServer();
  server.routes.events = (req) => req.socket.destroy();
  const c = makeClient(server);
  c.client.start();
  await c.nextDelay();
  assert.equal(c.phase(), 'retrying');
});

test('a refused connection (nothing listening) is retried', async () => {
  const server = await startServer();
  const c = makeClient({ url: 'http://127.0.0.1:1' });
  void server;
  c.client.start();
  await c.nextDelay();
  assert.equal(c.phase(), 'retrying');
});

test('a clean end of the stream is retried', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(1)));
  const c = makeClient(server);
  c.client.start();
  await c.nextDelay();
  assert.equal(c.client.state.reason, 'stream ended');
});

test('a 200 that is not text/event-stream is retried, not rendered', async () => {
  const server = await startServer();
  server.routes.events = json(200, doc(1));
  const c = makeClient(server);
  c.client.start();
  await c.nextDelay();
  assert.equal(c.seen.docs.length, 0);
});

test('Retry-After in seconds on a 429 sets the wait', async () => {
  const server = await startServer();
  server.routes.events = json(429, {}, { 'Retry-After': '42' });
  const c = makeClient(server);
  c.client.start();
  assert.equal(await c.nextDelay(), 42000);
});

test('Retry-After as an HTTP date on a 503 sets the wait', async () => {
  const server = await startServer();
  server.routes.events = json(503, {}, { 'Retry-After': new Date(T0 + 20000).toUTCString() });
  const c = makeClient(server);
  c.client.start();
  assert.equal(await c.nextDelay(), 20000);
});

test('parseRetryAfter reads seconds and dates and ignores junk', () => {
  assert.equal(parseRetryAfter('3', T0), 3000);
  assert.equal(parseRetryAfter(new Date(T0 + 7000).toUTCString(), T0), 7000);
  assert.equal(parseRetryAfter(new Date(T0 - 7000).toUTCString(), T0), 0);
  assert.equal(parseRetryAfter('soon', T0), 0);
  assert.equal(parseRetryAfter(null, T0), 0);
});

// ---- connectionLost and the server's error event ----------------------------------------------

test('connectionLost with reconnect: true (shutdown) closes the stream and retries', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + 'event: connectionLost\ndata: {"reason":"shutdown","reconnect":true}\n\n', { keepOpen: true });
  const c = makeClient(server);
  c.client.start();
  await c.nextDelay();
  await waitFor(() => server.log[0].closed, 'the client to close the stream');
});

for (const [reason, reconnect, kind] of [['token_expired', true, 'unauthorized'], ['not_found', false, 'gone'], ['max_lifetime', false, 'gone']]) {
  test(`connectionLost ${reason} (reconnect: ${reconnect}) is fatal (${kind})`, async () => {
    const server = await startServer();
    server.routes.events = streamOf(`${connectedEvent()}event: connectionLost\ndata: {"reason":"${reason}","reconnect":${reconnect}}\n\n`, { keepOpen: true });
    const c = makeClient(server);
    c.client.start();
    await c.waitPhase('fatal');
    assert.equal(c.client.state.fatal.kind, kind);
    c.clock.advance(120000);
    await settle();
    assert.equal(server.log.length, 1);
  });
}

test('an error event keeps the stream open, is reported, and the next status clears it', async () => {
  const server = await startServer();
  let res;
  server.routes.events = (req, r) => { res = r; sseHead(r); r.write(connectedEvent() + statusEvent(doc(1))); };
  const c = makeClient(server);
  c.client.start();
  await waitFor(() => c.seen.docs.length === 1, 'first document');
  res.write('event: error\ndata: {"code":"store_unavailable","message":"down","retryInMs":3000}\n\n');
  await waitFor(() => c.seen.notices.length === 1, 'the notice');
  assert.equal(c.seen.notices[0].code, 'store_unavailable');
  assert.equal(c.phase(), 'live');
  res.write(statusEvent(doc(2)));
  await waitFor(() => c.seen.notices.length === 2, 'the notice cleared');
  assert.equal(c.seen.notices[1], null);
  assert.equal(server.log.length, 1, 'no reconnect');
});

// ---- stall detection ------------------------------------------------------------------------

test('no bytes for 2.5 × the keepalive from connected aborts the stream and reconnects', async () => {
  const server = await startServer();
  let res;
  server.routes.events = (req, r) => { res = r; sseHead(r); r.write(connectedEvent(1000)); };
  const c = makeClient(server);
  c.client.start();
  await c.waitPhase('live');
  await waitFor(() => c.clock.timers().some((t) => t.ms === 2500), 'the stall timer at 2500 ms');
  c.clock.advance(2499);
  assert.equal(c.phase(), 'live');
  const armedAt = c.clock.now();
  res.write(': ping\n\n'); // bytes re-arm the timer
  await waitFor(() => c.clock.timers().some((t) => t.at === armedAt + 2500), 'the stall timer re-armed');
  c.clock.advance(2499);
  assert.equal(c.phase(), 'live', 'a ping keeps the stream alive');
  c.clock.advance(1);
  assert.equal(c.phase(), 'retrying');
  assert.equal(c.client.state.reason, 'stalled');
  await waitFor(() => server.log[0].closed, 'the stalled request to be aborted');
});

test('a server that never answers is abandoned after 2.5 × the default keepalive', async () => {
  const server = await startServer();
  server.routes.events = () => {}; // accepts, never responds
  const c = makeClient(server);
  c.client.start();
  await waitFor(() => server.log.length === 1, 'the request');
  c.clock.advance(37499);
  assert.equal(c.phase(), 'connecting');
  c.clock.advance(1);
  assert.equal(c.phase(), 'retrying');
  await waitFor(() => server.log[0].closed, 'the request to be aborted');
});

// ---- resync, stale documents, Last-Event-ID ---------------------------------------------------

test('a reconnect fetches the resource over REST and renders it before reopening the stream', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(1)));
  server.routes.resource = resourceOf(doc(5, 'summarizing'));
  const c = makeClient(server);
  c.client.start();
  const delay = await c.nextDelay();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(9, 'ready')), { keepOpen: true });
  c.clock.advance(delay);
  await waitFor(() => c.seen.docs.length === 3, 'three documents');
  assert.deepEqual(server.paths(), ['stream', 'rest', 'stream']);
  assert.deepEqual(c.seen.docs.map((d) => [d.source, d.updatedAt]), [['stream', iso(1)], ['rest', iso(5)], ['stream', iso(9)]]);
  assert.equal(server.log[1].headers.authorization, 'Bearer tok-1', 'REST carries the token too');
});

test('a REST resync that fails is retried with the next backoff step, the stream stays closed', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent());
  server.routes.resource = json(503, {});
  const c = makeClient(server);
  c.client.start();
  c.clock.advance(await c.nextDelay());
  assert.equal(await c.nextDelay(), 10000);
  assert.deepEqual(server.paths(), ['stream', 'rest']);
});

test('a status older than what the resync showed is dropped', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(1)));
  server.routes.resource = resourceOf(doc(5));
  const c = makeClient(server);
  c.client.start();
  const delay = await c.nextDelay();
  // a server (or a lagging replica) that replays an older version, then a newer one
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(3)) + statusEvent(doc(7)), { keepOpen: true });
  c.clock.advance(delay);
  await waitFor(() => c.seen.docs.length === 3, 'the newer status');
  assert.deepEqual(c.seen.docs.map((d) => d.updatedAt), [iso(1), iso(5), iso(7)]);
});

test('the reopened stream sends Last-Event-ID: the last stream id when REST has no ETag', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(1)));
  server.routes.resource = resourceOf(doc(1), false);
  const c = makeClient(server);
  c.client.start();
  const delay = await c.nextDelay();
  server.routes.events = streamOf(connectedEvent(), { keepOpen: true });
  c.clock.advance(delay);
  await waitFor(() => server.log.length === 3, 'the reopened stream');
  assert.equal(server.log[2].headers['last-event-id'], iso(1));
});

test('the reopened stream sends Last-Event-ID: the version the resync rendered (its ETag)', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(1)));
  server.routes.resource = resourceOf(doc(4));
  const c = makeClient(server);
  c.client.start();
  const delay = await c.nextDelay();
  server.routes.events = streamOf(connectedEvent(), { keepOpen: true });
  c.clock.advance(delay);
  await waitFor(() => server.log.length === 3, 'the reopened stream');
  assert.equal(server.log[2].headers['last-event-id'], iso(4));
});

// ---- offline, stop --------------------------------------------------------------------------

test('offline pauses retries and online retries at once', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent());
  server.routes.resource = resourceOf(doc(1));
  const c = makeClient(server);
  c.client.start();
  await c.nextDelay();
  c.setOnline(false);
  assert.equal(c.phase(), 'offline');
  assert.equal(c.clock.timers().length, 0, 'no retry timer while offline');
  c.clock.advance(120000);
  await settle();
  assert.equal(server.log.length, 1);
  server.routes.events = streamOf(connectedEvent(), { keepOpen: true });
  c.setOnline(true); // no clock advance: the retry is immediate
  await c.waitPhase('live');
  assert.deepEqual(server.paths(), ['stream', 'rest', 'stream']);
});

test('a drop while offline waits for online without scheduling a retry', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent());
  const c = makeClient(server);
  c.setOnline(false);
  c.client.start();
  await c.waitPhase('offline');
  assert.equal(c.client.state.attempt, 1);
  assert.equal(c.clock.timers().length, 0);
});

test('stop() aborts the open stream and never retries', async () => {
  const server = await startServer();
  server.routes.events = streamOf(connectedEvent() + statusEvent(doc(1)), { keepOpen: true });
  const c = makeClient(server);
  c.client.start();
  await c.waitPhase('live');
  c.client.stop();
  assert.equal(c.phase(), 'stopped');
  await waitFor(() => server.log[0].closed, 'the server to see the stream closed');
  c.clock.advance(120000);
  await settle();
  assert.equal(server.log.length, 1);
  assert.equal(c.clock.timers().length, 0);
});

test('resourcePath and timeField replace /v1/meetings/ and updatedAt', async () => {
  const seen = [];
  const client = createStreamClient({
    meetingId: 'd 1',
    getToken: () => 't',
    baseUrl: 'http://127.0.0.1:9',
    resourcePath: '/v2/docs/',
    timeField: 'modified',
    clock: fakeClock(),
    random: () => 0.5,
    network: null,
    fetch: (url) => { seen.push(url); return new Promise(() => {}); },
  });
  client.start();
  client.stop();
  assert.equal(seen[0], 'http://127.0.0.1:9/v2/docs/d%201/events');
});
