// Any-instance reconnection behind a real load balancer: two Apache
// instances with mod_sse behind Debian's HAProxy (round robin, health check
// on /health/ready), 200 clients that reconnect the way the frontend does
// (short backoff, Last-Event-ID). One instance is SIGKILLed with every
// process it has; nothing about a stream lives in it, so the other instance
// must carry on exactly where it stopped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMockStore, startApache, storeClient, mintToken } from '../lib/harness.mjs';
import { startHaproxy } from '../lib/haproxy.mjs';
import { startReconnectingClient, waitUntil } from '../lib/sse-client.mjs';

const CLIENTS = 200;
const POLL_MS = 500;
const ids = Array.from({ length: CLIENTS }, (_, i) => `f${String(i).padStart(3, '0')}`);
const base = Date.parse('2026-11-25T09:00:00.000Z');
const DATA = {
  meetings_app: {
    meetings: ids.map((id, i) => ({
      _id: id, ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: new Date(base + i).toISOString() },
    })),
  },
};
// Which documents change, and when: while the clients of the dead instance
// are reconnecting, after everyone is back, or never.
const DURING = ids.filter((_, i) => i % 4 === 1);
const AFTER = ids.filter((_, i) => i % 4 === 3);
const UNCHANGED = ids.filter((_, i) => i % 2 === 0);

let store, a, b, lb, mongo, meetings;
let clients = [];

// These tests tell children and instances apart by the connected event's
// `instance`, so they name it host:port:pid (the default is opaque).
const INSTANCE_NAME = 'SSEInstanceName %v:%p:%P';

before(async () => {
  store = await startMockStore({ data: DATA });
  // Enough workers that one instance can carry all 200 streams whichever
  // execution mode the module runs in.
  const apacheOpts = { maxStreamsPerUser: 0, storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '2s', startServers: 4, serverLimit: 4, threadsPerChild: 64, extra: INSTANCE_NAME };
  [a, b] = await Promise.all([startApache(apacheOpts), startApache(apacheOpts)]);
  lb = await startHaproxy({ backends: [{ name: 'a', port: a.port }, { name: 'b', port: b.port }], checkMs: 300 });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
});

after(async () => {
  for (const c of clients) c.stop();
  await mongo?.close();
  await lb?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
  await store?.stop();
});

const portOf = (instance) => Number(String(instance).split(':')[1]);

async function change(docIds) {
  const versions = new Map();
  const now = Date.now();
  await Promise.all(docIds.map((id, i) => {
    const when = new Date(now + i);
    versions.set(id, when.toISOString());
    return meetings.updateOne({ _id: id }, { $set: { status: 'transcribing', progress: 50, updatedAt: when } });
  }));
  return versions;
}

test('SIGKILL of one instance: all 200 clients resume on the other through HAProxy, get the next change, and no duplicate status', { timeout: 90000 }, async (t) => {
  const started = Date.now();
  const token = await mintToken({ sub: 'alice' });
  clients = ids.map((id) => startReconnectingClient(`${lb.url}/v1/meetings/${id}/events`, { token, backoffMs: [100, 400], maxAttempts: 40 }));
  const byId = new Map(ids.map((id, i) => [id, clients[i]]));

  await waitUntil(() => clients.every((c) => c.current.instance && c.statuses().length === 1), 30000,
    'every client connected with its first status');
  const onA = clients.filter((c) => portOf(c.current.instance) === a.port);
  const onB = clients.filter((c) => portOf(c.current.instance) === b.port);
  assert.equal(onA.length + onB.length, CLIENTS, 'every stream is served by one of the two instances');
  assert.ok(onA.length >= 50 && onB.length >= 50, `round robin spread the streams: ${onA.length} on a, ${onB.length} on b`);
  const openedIn = Date.now() - started;

  // The instance dies at once: parent and every child, no goodbye.
  const killedAt = Date.now();
  const aProcesses = [a.pid, ...a.children()];
  assert.ok(aProcesses.length >= 2, 'instance a has its children before the kill');
  await a.kill();
  const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  await waitUntil(() => aProcesses.every((pid) => !alive(pid)), 5000, 'every process of instance a is gone');
  const during = await change(DURING);

  // Everyone is live on b: a `connected` from b on a connection that is still open.
  const liveOnB = (c) => c.current.endedAt === null && portOf(c.current.instance) === b.port;
  await waitUntil(() => clients.every(liveOnB), 30000, 'every client live on the surviving instance');
  const resumedIn = Date.now() - killedAt;
  for (const c of onA) {
    assert.ok(c.connections.length >= 2, 'a client of the dead instance reconnected');
    assert.ok(c.connections.slice(1).every((conn) => conn.sentLastEventId), 'every reconnect carried Last-Event-ID');
  }
  // HAProxy's health check (GET /health/ready) took the dead one out.
  await waitUntil(() => lb.serverState('a') === 'DOWN', 5000, 'haproxy to mark the dead instance DOWN');
  assert.notEqual(lb.serverState('b'), 'DOWN');
  for (const [id, version] of during) {
    await waitUntil(() => byId.get(id).statuses().some((e) => e.id === version), 5000, `${id} to get the change made during the outage`);
  }

  // The next change, after everyone is back: one poll interval, plus slack.
  const changedAt = Date.now();
  const later = await change(AFTER);
  for (const [id, version] of later) {
    await waitUntil(() => byId.get(id).statuses().some((e) => e.id === version), POLL_MS * 2 + 2000, `${id} to get the next change`);
  }
  const worst = Math.max(...[...later].map(([id, v]) => byId.get(id).statuses().find((e) => e.id === v).at - changedAt));
  assert.ok(worst <= POLL_MS + 1500, `the next change reached every client within ${worst} ms`);
  await sleep(POLL_MS * 3);

  for (const id of UNCHANGED) {
    const c = byId.get(id);
    const statuses = c.statuses();
    assert.equal(statuses.length, 1, `${id} (${c.connections.length} connections) got no duplicate status: ${statuses.map((e) => e.id)}`);
  }
  for (const [id, version] of [...during, ...later]) {
    const ids2 = byId.get(id).statuses().map((e) => e.id);
    assert.equal(ids2.length, 2, `${id}: the first status and the change, once each: ${ids2}`);
    assert.equal(ids2[1], version);
  }
  for (const c of clients) {
    assert.equal(c.gaveUp, null);
    assert.ok(c.connections.every((conn) => conn.status === 200 || conn.status === 0 || conn.status === 503),
      `only 200s (or a 503 from the balancer mid-failover): ${c.connections.map((conn) => conn.status)}`);
  }
  const reconnects = onA.map((c) => c.connections.length - 1);
  t.diagnostic(`failover: ${onA.length} on a / ${onB.length} on b; opened in ${openedIn} ms; all live on b ${resumedIn} ms after SIGKILL; `
    + `next change within ${worst} ms; attempts per dead-instance client max ${Math.max(...reconnects)}`);
  assert.ok(resumedIn < 20000, `clients were back within ${resumedIn} ms`);
});
