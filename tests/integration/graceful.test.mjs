// Graceful restart (SIGUSR1, what `apache2 -k graceful` sends) and graceful
// stop (SIGWINCH, `-k graceful-stop`) with streams open: every stream of the
// old generation ends with connectionLost "shutdown" (reconnect true) within
// a poll interval, so the old children can exit; a restarted server serves
// the reconnects from its new generation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMockStore, startApache, mintToken } from '../lib/harness.mjs';
import { startReconnectingClient, waitUntil } from '../lib/sse-client.mjs';
import { alive } from '../lib/proc.mjs';

const POLL_MS = 500;
const STREAMS = 12;
const ids = Array.from({ length: STREAMS }, (_, i) => `g${i}`);
const DATA = {
  meetings_app: {
    meetings: ids.map((id, i) => ({ _id: id, ownerId: 'alice', status: 'uploaded', progress: i, updatedAt: { $date: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString() } })),
  },
};

let store, apache, token;
let clients = [];

before(async () => {
  store = await startMockStore({ data: DATA });
  // Old and new generations' streams of one token overlap while clients
  // reconnect: no per-user limit here (tests/integration/limits.test.mjs).
  apache = await startApache({ storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '1s', maxStreamsPerUser: 0,
    // The test tells the generations apart by the PID in `instance`.
    extra: 'SSEInstanceName %v:%p:%P' });
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  for (const c of clients) c.stop();
  await apache?.stop();
  await store?.stop();
});

const pidOf = (instance) => Number(String(instance).split(':')[2]);
const lostEvent = (conn) => conn.events.find((e) => e.event === 'connectionLost');

function openClients() {
  clients = ids.map((id) => startReconnectingClient(`${apache.url}/v1/meetings/${id}/events`, { token, backoffMs: [100, 300], maxAttempts: 30 }));
  return waitUntil(() => clients.every((c) => c.current.instance && c.statuses().length === 1), 10000, 'every stream open');
}

test('graceful restart: streams end with shutdown within an interval, reconnect to the new generation, old children exit', async (t) => {
  await openClients();
  const oldPids = new Set(clients.map((c) => pidOf(c.current.instance)));
  const oldChildren = apache.children();
  for (const pid of oldPids) assert.ok(oldChildren.includes(pid), `stream served by a child of the parent (${pid})`);

  const signalled = Date.now();
  apache.graceful();
  await waitUntil(() => clients.every((c) => lostEvent(c.connections[0])), POLL_MS + 2000, 'connectionLost on every old stream');
  const ended = clients.map((c) => lostEvent(c.connections[0]));
  for (const e of ended) assert.deepEqual(e.json, { reason: 'shutdown', reconnect: true });
  const endedIn = Math.max(...ended.map((e) => e.at)) - signalled;
  assert.ok(endedIn <= POLL_MS + 700, `every old stream ended within ${endedIn} ms (interval ${POLL_MS} ms)`);

  await waitUntil(() => clients.every((c) => c.current.endedAt === null && c.current.instance
    && !oldPids.has(pidOf(c.current.instance))), 10000, 'every client on the new generation');
  const movedIn = Date.now() - signalled;
  const newChildren = apache.children();
  for (const c of clients) assert.ok(newChildren.includes(pidOf(c.current.instance)), 'served by a live child of the same parent');

  await waitUntil(() => oldChildren.every((pid) => !alive(pid)), 5000, `old children ${oldChildren} to exit`);
  const exitedIn = Date.now() - signalled;

  await sleep(POLL_MS * 2);
  for (const c of clients) {
    assert.equal(c.statuses().length, 1, 'the resumed stream (Last-Event-ID) repeats no status');
    assert.equal(c.gaveUp, null);
  }
  t.diagnostic(`graceful restart: old streams ended within ${endedIn} ms; clients on the new generation after ${movedIn} ms; old children gone after ${exitedIn} ms`);
  for (const c of clients) c.stop();
});

test('graceful stop: streams end with shutdown within an interval and the server exits within a few seconds', async (t) => {
  await openClients();
  const pids = [apache.pid, ...apache.children()];
  const signalled = Date.now();
  const stopping = apache.gracefulStop();
  await waitUntil(() => clients.every((c) => lostEvent(c.connections[0])), POLL_MS + 2000, 'connectionLost on every stream');
  const ended = clients.map((c) => lostEvent(c.connections[0]));
  for (const e of ended) assert.deepEqual(e.json, { reason: 'shutdown', reconnect: true });
  const endedIn = Math.max(...ended.map((e) => e.at)) - signalled;
  assert.ok(endedIn <= POLL_MS + 700, `every stream ended within ${endedIn} ms`);
  for (const c of clients) c.stop();
  await waitUntil(() => pids.every((pid) => !alive(pid)), 6000, `every apache2 process (${pids}) to exit`);
  const exitedIn = Date.now() - signalled;
  await stopping;
  t.diagnostic(`graceful stop: streams ended within ${endedIn} ms; all apache2 processes gone after ${exitedIn} ms`);
});
