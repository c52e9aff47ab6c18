// soak.mjs: behind `make soak` (not in CI). SOAK_STREAMS (2000) streams
// against one Apache with mod_sse for SOAK_MINUTES (30), SOAK_CHURN (10%)
// of the clients replaced every minute, documents updated all along, and the
// store SIGKILLed and restarted in the middle. Prints the server's RSS at
// start, middle and end, the error events and unexpected disconnects, and
// the updates a connected client missed (must be 0).
//
// A client "should have seen" an update when it was connected from the
// moment of the update until GRACE later; it passes if it received that
// version or a later one. Updates near the store restart (which resets the
// store's data) are not judged.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMockStore, startApache, storeClient, mintToken, childPids, MODULE } from '../tests/lib/harness.mjs';
import { startReconnectingClient } from '../tests/lib/sse-client.mjs';

const MINUTES = Number(process.env.SOAK_MINUTES || 30);
const STREAMS = Number(process.env.SOAK_STREAMS || 2000);
const CHURN = Number(process.env.SOAK_CHURN || 0.10);
const POLL_MS = 1000;
const GRACE_MS = 3 * POLL_MS + 2000;
const DOCS = Math.max(1, Math.floor(STREAMS / 4));          // four clients per document
const UPDATE_EVERY_MS = 2000;
const UPDATES_PER_TICK = Math.max(1, Math.floor(DOCS / 50)); // each document every ~100 s

const ids = Array.from({ length: DOCS }, (_, i) => `soak${i}`);
const data = { meetings_app: { meetings: ids.map((id, i) => ({ _id: id, ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString() } })) } };

const rssKiB = (pid) => {
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]); } catch { return 0; }
};
function serverRss(apache) {
  const pids = [apache.pid, ...childPids(apache.pid)];
  const kib = pids.reduce((sum, pid) => sum + rssKiB(pid), 0);
  return { mib: (kib / 1024).toFixed(1), processes: pids.length };
}

// A private copy of the module: a rebuild during a long run must not pull
// the file out from under the running server.
const moduleRoot = fs.mkdtempSync('/tmp/sse-soak-module-');
fs.mkdirSync(path.join(moduleRoot, 'mod_sse'));
fs.copyFileSync(MODULE, path.join(moduleRoot, 'mod_sse/mod_sse.so'));
fs.chmodSync(moduleRoot, 0o755);

const log = (msg) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const store = await startMockStore({ data });
const apache = await startApache({
  root: moduleRoot, maxStreamsPerUser: 0, storeUri: store.uri, pollInterval: `${POLL_MS}ms`, keepalive: '15s', logLevel: 'warn',
  threadsPerChild: 128, serverLimit: 20, startServers: 4, asyncFactor: 8,
  extra: 'LimitRequestFields 50\nListenBacklog 4096',
});
let mongo = await storeClient(store.uri);
let meetings = mongo.db('meetings_app').collection('meetings');
const token = await mintToken({ sub: 'alice', expSeconds: MINUTES * 60 + 3600 });
const url = (id) => `${apache.url}/v1/meetings/${id}/events`;

const all = [];          // every client ever started: { client, doc, startedAt, stoppedAt }
let live = [];
function startOne(i) {
  const doc = ids[i % DOCS];
  const entry = { client: startReconnectingClient(url(doc), { token, backoffMs: [500, 2000], maxAttempts: 1000 }), doc, startedAt: Date.now(), stoppedAt: null };
  all.push(entry);
  return entry;
}
for (let i = 0; i < STREAMS; i++) {
  live.push(startOne(i));
  if (i % 100 === 99) await sleep(100);      // open at ~1,000 a second
}
const openDeadline = Date.now() + 120000;
while (live.some((e) => !e.client.current.instance) && Date.now() < openDeadline) await sleep(500);
const opened = live.filter((e) => e.client.current.instance).length;
const rss = { start: serverRss(apache) };
log(`${opened}/${STREAMS} streams open; server RSS ${rss.start.mib} MiB in ${rss.start.processes} processes`);

const updates = [];      // { doc, version, at }
let restart = null;      // { from, to }
const t0 = Date.now();
const end = t0 + MINUTES * 60000;
const middle = t0 + MINUTES * 30000;
let nextUpdate = t0, nextChurn = t0 + 3000, nextReport = t0 + 60000, u = 0, churned = 0;
const churnPerStep = Math.max(1, Math.round(STREAMS * CHURN / 20));    // 20 steps a minute

while (Date.now() < end) {
  const now = Date.now();
  if (!restart && now >= middle) {
    rss.middle = serverRss(apache);
    log(`middle: server RSS ${rss.middle.mib} MiB; SIGKILL the store, restart it 5 s later`);
    restart = { from: Date.now() };
    await store.kill();
    await sleep(5000);
    await store.restart();
    restart.to = Date.now();
    await mongo.close().catch(() => {});
    mongo = await storeClient(store.uri);
    meetings = mongo.db('meetings_app').collection('meetings');
  }
  if (now >= nextUpdate) {
    nextUpdate += UPDATE_EVERY_MS;
    const batch = [];
    for (let k = 0; k < UPDATES_PER_TICK; k++) {
      const doc = ids[u++ % DOCS];
      const when = new Date(Date.now() + k);
      batch.push(meetings.updateOne({ _id: doc }, { $set: { progress: u % 100, updatedAt: when } })
        .then(() => updates.push({ doc, version: when.toISOString(), at: Date.now() }), () => {}));
    }
    await Promise.all(batch);
  }
  if (now >= nextChurn) {
    nextChurn += 3000;
    for (let k = 0; k < churnPerStep; k++) {
      const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0];
      victim.client.stop();
      victim.stoppedAt = Date.now();
      live.push(startOne(all.length));
      churned++;
    }
  }
  if (now >= nextReport) {
    nextReport += 60000;
    const r = serverRss(apache);
    log(`${((now - t0) / 60000).toFixed(0)} min: ${live.filter((e) => e.client.current.endedAt === null).length} live, ${churned} churned, ${updates.length} updates, server RSS ${r.mib} MiB`);
  }
  await sleep(100);
}
rss.end = serverRss(apache);
await sleep(GRACE_MS);
for (const e of all) if (!e.stoppedAt) { e.client.stop(); e.stoppedAt = Date.now(); }

// Judge every update against every client of its document.
let judged = 0, missed = 0;
const near = (at) => restart && at >= restart.from - GRACE_MS && at <= restart.to + 10000;
for (const upd of updates) {
  if (near(upd.at) || upd.at > Date.now() - 2 * GRACE_MS) continue;
  for (const e of all) {
    if (e.doc !== upd.doc) continue;
    const c = e.client;
    const conn = c.connections.find((k) => k.events.length && k.events[0].at <= upd.at - 200 && (k.endedAt === null || k.endedAt >= upd.at + GRACE_MS) && (k.endedAt !== null || e.stoppedAt >= upd.at + GRACE_MS));
    if (!conn) continue;
    judged++;
    const seen = conn.events.some((ev) => ev.event === 'status' && ev.id >= upd.version);
    if (!seen) missed++;
  }
}
const conns = all.flatMap((e) => e.client.connections);
const errorEvents = conns.reduce((n, k) => n + k.events.filter((ev) => ev.event === 'error').length, 0);
const lost = conns.reduce((n, k) => n + k.events.filter((ev) => ev.event === 'connectionLost').length, 0);
const non200 = conns.filter((k) => k.status && k.status !== 200).length;
const failedAttempts = conns.filter((k) => !k.status).length;
const dropped = all.filter((e) => e.client.connections.filter((k) => k.endedAt && (!e.stoppedAt || k.endedAt < e.stoppedAt - 50)).length > 0).length;

log('--- soak result ---');
console.log(`duration ${MINUTES} min, ${STREAMS} streams, churn ${(CHURN * 100).toFixed(0)}%/min (${churned} clients replaced), ${all.length} clients in all`);
console.log(`server RSS (apache2 parent + children): start ${rss.start.mib} MiB, middle ${rss.middle ? rss.middle.mib : '-'} MiB, end ${rss.end.mib} MiB`);
console.log(`store restart: SIGKILL at +${restart ? ((restart.from - t0) / 1000).toFixed(0) : '-'} s, back after ${restart ? ((restart.to - restart.from) / 1000).toFixed(1) : '-'} s`);
console.log(`updates written ${updates.length}; client x update pairs judged ${judged}; missed ${missed}`);
console.log(`error events ${errorEvents} (expected: about one per live stream, from the store restart); connectionLost ${lost}; non-200 answers ${non200}; failed connection attempts ${failedAttempts}`);
console.log(`clients whose stream ended before they left: ${dropped}`);
await mongo.close().catch(() => {});
await apache.stop();
await store.stop();
process.exit(missed === 0 && opened === STREAMS ? 0 : 1);
