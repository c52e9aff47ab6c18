// collection.mjs: what a list stream (sse-collection-stream) costs. Starts mock-store with
// LIST_STREAMS users of LIST_DOCS documents each, one Apache (mpm_event, suspended streams),
// opens one list stream per user, and measures:
//
//   server RSS per list stream (children's VmRSS after the streams opened minus before),
//   store finds per interval while nothing changes (opcounters.query), and with LIST_CHANGES
//   documents changed per interval (each change costs one more find: the full documents of
//   what changed), server CPU ms per interval, and that every stream saw every change.
//
// Runnable alone: `node tests/bench/collection.mjs` (after `make`). Not part of `make bench`.
// Settings: LIST_STREAMS (200), LIST_DOCS (100), LIST_INTERVAL_MS (3000), LIST_WINDOW_S (15),
// LIST_CHANGES (10 documents per interval in the change window).
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startMockStore, startApache, storeClient, opcounters, mintToken, openStream, childPids,
} from '../lib/harness.mjs';

const env = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const cfg = {
  streams: env('LIST_STREAMS', 200),
  docs: env('LIST_DOCS', 100),
  intervalMs: env('LIST_INTERVAL_MS', 3000),
  windowS: env('LIST_WINDOW_S', 15),
  changes: env('LIST_CHANGES', 10),
};

const procStatus = (pid, key) => {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
};
const cpuMs = (pid) => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;     // utime + stime, in 10 ms ticks
  } catch { return 0; }
};
const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);

const base = Date.UTC(2026, 10, 25);
const documents = [];
for (let u = 0; u < cfg.streams; u++) {
  for (let i = 0; i < cfg.docs; i++) {
    documents.push({ _id: `u${u}-m${i}`, ownerId: `user${u}`, title: `Meeting ${i} of user ${u}`, status: 'transcribing', progress: i % 100, updatedAt: { $date: new Date(base + i * 1000).toISOString() } });
  }
}

const store = await startMockStore({ data: { meetings_app: { meetings: documents } } });
const apache = await startApache({
  storeUri: store.uri, pollInterval: `${cfg.intervalMs}ms`, keepalive: '15s', logLevel: 'warn',
  listLimit: Math.max(cfg.docs, 1), threadsPerChild: 32, serverLimit: 2, startServers: 2,
  // Suspended streams count against a child's connections: ThreadsPerChild x (1 + factor).
  asyncFactor: Math.max(2, Math.ceil(cfg.streams / 32)),
});
const mongo = await storeClient(store.uri);
const meetings = mongo.db('meetings_app').collection('meetings');
const streams = [];
try {
  // Warm every child (store pools, first list) before the baseline.
  const warm = await mintToken({ sub: 'user0' });
  await Promise.all(Array.from({ length: 16 }, async () => (await fetch(`${apache.url}/v1/meetings`, { headers: { Authorization: `Bearer ${warm}` } })).text()));
  await sleep(500);
  const pids0 = apache.children();
  const rss0 = sum(pids0, (p) => procStatus(p, 'VmRSS'));

  const tokens = await Promise.all(Array.from({ length: cfg.streams }, (_, u) => mintToken({ sub: `user${u}` })));
  for (let u = 0; u < cfg.streams; u += 20) {
    const batch = await Promise.all(tokens.slice(u, u + 20).map((token) => openStream(`${apache.url}/v1/meetings/events`, { token })));
    streams.push(...batch);
  }
  const snaps = await Promise.all(streams.map((s) => s.next((e) => e.event === 'snapshot', 30000)));
  if (!snaps.every((e) => e.json.items.length === cfg.docs)) throw new Error('a snapshot was short');
  await sleep(Math.max(3000, 3 * cfg.intervalMs));
  const pids = apache.children();
  const rss1 = sum(pids, (p) => procStatus(p, 'VmRSS'));

  // Idle window: nothing changes.
  let q0 = (await opcounters(store.uri)).query;
  let c0 = sum(pids, cpuMs);
  let s0 = cpuMs(store.pid);
  let t0 = Date.now();
  await sleep(cfg.windowS * 1000);
  let q1 = (await opcounters(store.uri)).query;
  let c1 = sum(pids, cpuMs);
  let s1 = cpuMs(store.pid);
  const idleIntervals = (Date.now() - t0) / cfg.intervalMs;
  const idle = { findsPerInterval: (q1 - q0) / idleIntervals, cpuMsPerInterval: (c1 - c0) / idleIntervals, storeMs: (s1 - s0) / idleIntervals };

  // Change window: LIST_CHANGES documents (of different users) change every interval.
  const marks = streams.map((s) => s.events.length);
  q0 = (await opcounters(store.uri)).query;
  c0 = sum(pids, cpuMs);
  s0 = cpuMs(store.pid);
  t0 = Date.now();
  let changed = 0;
  const rounds = Math.max(1, Math.floor((cfg.windowS * 1000) / cfg.intervalMs));
  for (let r = 0; r < rounds; r++) {
    const started = Date.now();
    const ops = [];
    for (let k = 0; k < cfg.changes; k++) {
      const u = (r * cfg.changes + k) % cfg.streams;
      ops.push(meetings.updateOne({ _id: `u${u}-m${(r + k) % cfg.docs}` }, { $set: { progress: 100, updatedAt: new Date(base + 1e9 + r * 1000 + k) } }));
    }
    await Promise.all(ops);
    changed += ops.length;
    await sleep(Math.max(0, cfg.intervalMs - (Date.now() - started)));
  }
  await sleep(3 * cfg.intervalMs);
  q1 = (await opcounters(store.uri)).query;
  c1 = sum(pids, cpuMs);
  s1 = cpuMs(store.pid);
  const busyIntervals = (Date.now() - t0) / cfg.intervalMs;
  const statuses = streams.reduce((n, s, i) => n + s.events.slice(marks[i]).filter((e) => e.event === 'status').length, 0);
  const busy = { findsPerInterval: (q1 - q0) / busyIntervals, cpuMsPerInterval: (c1 - c0) / busyIntervals, storeMs: (s1 - s0) / busyIntervals };
  const held = streams.filter((s) => !s.ended).length;
  const rss2 = sum(apache.children(), (p) => procStatus(p, 'VmRSS'));

  const lines = [
    `list streams held: ${held} of ${cfg.streams}, ${cfg.docs} documents each, interval ${cfg.intervalMs} ms`,
    `server RSS per list stream: ${((rss1 - rss0) / held).toFixed(1)} KiB (children ${rss0} -> ${rss1} KiB; ${rss2} KiB after both windows)`,
    `idle: ${idle.findsPerInterval.toFixed(1)} finds per interval (${(idle.findsPerInterval / held).toFixed(3)} per stream), server CPU ${idle.cpuMsPerInterval.toFixed(1)} ms per interval, store CPU ${idle.storeMs.toFixed(0)} ms per interval`,
    `${cfg.changes} changes per interval: ${busy.findsPerInterval.toFixed(1)} finds per interval, server CPU ${busy.cpuMsPerInterval.toFixed(1)} ms per interval, store CPU ${busy.storeMs.toFixed(0)} ms per interval`,
    `extra finds per change: ${((q1 - q0 - idle.findsPerInterval * busyIntervals) / changed).toFixed(2)} (the full documents of what changed)`,
    `status events received: ${statuses} for ${changed} changes (each change is one user's)`,
  ];
  console.log(lines.join('\n'));
} finally {
  streams.forEach((s) => s.close());
  await mongo.close();
  await apache.stop();
  await store.stop();
}
