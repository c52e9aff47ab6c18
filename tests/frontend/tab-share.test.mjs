// frontend/tab-share.js: the leader election and relay that lets tabs share one list stream,
// with Node's real BroadcastChannel (same-process instances talk to each other as tabs do) and a
// Web Locks stand-in that grants each name to one holder at a time, in request order, as the
// browser's does. The real thing in Chromium: tests/browser/collection.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSharedList, tokenSubject } from '../../frontend/tab-share.js';

function fakeLocks() {
  const queues = new Map();
  const pump = (name) => {
    const q = queues.get(name);
    if (!q || q.held || !q.waiting.length) return;
    const next = q.waiting.shift();
    q.held = true;
    Promise.resolve(next.cb()).finally(() => { q.held = false; next.resolve(); pump(name); });
  };
  return {
    request(name, { signal }, cb) {
      if (!queues.has(name)) queues.set(name, { held: false, waiting: [] });
      const q = queues.get(name);
      return new Promise((resolve, reject) => {
        const entry = { cb, resolve };
        q.waiting.push(entry);
        signal?.addEventListener('abort', () => {
          const i = q.waiting.indexOf(entry);
          if (i >= 0) { q.waiting.splice(i, 1); reject(new Error('AbortError')); }
        });
        pump(name);
      });
    },
  };
}

function tab(key, locks, opened) {
  const t = { events: [], states: [], role: null, relay: null, list: { items: [], truncated: false, tag: null } };
  t.shared = createSharedList({
    key,
    locks,
    startStream(lastEventId, relay) {
      opened.push({ key, lastEventId });
      t.relay = relay;
      return { stop() { t.stopped = true; } };
    },
    getList: () => t.list,
    onEvent: (ev) => t.events.push(ev),
    onState: (s, how) => t.states.push({ ...s, relayed: how.relayed }),
    onRole: (r) => { t.role = r; },
  });
  return t;
}

test('tabs of one list elect one leader; its events and state reach the others', async () => {
  const locks = fakeLocks();
  const opened = [];
  const a = tab('alice|', locks, opened);
  await sleep(20);
  const b = tab('alice|', locks, opened);
  const c = tab('alice|', locks, opened);
  await sleep(20);
  assert.deepEqual([a.role, b.role, c.role], ['leader', 'follower', 'follower']);
  assert.equal(opened.length, 1);
  a.relay.state({ phase: 'live', attempt: 0 });
  a.relay.event({ type: 'status', doc: { _id: 'm1' }, tag: 'c1' });
  await sleep(20);
  for (const t of [b, c]) {
    assert.deepEqual(t.events.at(-1), { type: 'status', doc: { _id: 'm1' }, tag: 'c1' });
    assert.deepEqual(t.states.at(-1), { phase: 'live', attempt: 0, relayed: true });
  }
  assert.equal(a.states.at(-1).relayed, false);
  [a, b, c].forEach((t) => t.shared.stop());
});

test('a tab that opens gets the leader\'s list; when the leader closes the next resumes from the last tag', async () => {
  const locks = fakeLocks();
  const opened = [];
  const a = tab('alice|?status=ready', locks, opened);
  await sleep(20);
  a.list = { items: [{ _id: 'm1' }, { _id: 'm2' }], truncated: false, tag: 'c7' };
  const b = tab('alice|?status=ready', locks, opened);
  await sleep(20);
  assert.deepEqual(b.events[0], { type: 'snapshot', items: [{ _id: 'm1' }, { _id: 'm2' }], truncated: false, tag: 'c7', source: 'tab' });
  a.relay.event({ type: 'removed', id: 'm2', tag: 'c8' });
  await sleep(20);
  a.shared.stop();
  await sleep(20);
  assert.equal(a.stopped, true);
  assert.equal(b.role, 'leader');
  assert.deepEqual(opened, [{ key: 'alice|?status=ready', lastEventId: null }, { key: 'alice|?status=ready', lastEventId: 'c8' }]);
  b.shared.stop();
});

test('different lists (another user or filter) do not share', async () => {
  const locks = fakeLocks();
  const opened = [];
  const a = tab('alice|', locks, opened);
  const b = tab('bob|', locks, opened);
  const c = tab('alice|?status=ready', locks, opened);
  await sleep(20);
  assert.deepEqual([a.role, b.role, c.role], ['leader', 'leader', 'leader']);
  a.relay.event({ type: 'status', doc: { _id: 'secret' }, tag: 'c1' });
  await sleep(20);
  assert.equal(b.events.length + c.events.length, 0, 'nothing crosses to another list');
  [a, b, c].forEach((t) => t.shared.stop());
});

test('a follower that stops leaves the queue; without Web Locks a tab streams on its own', async () => {
  const locks = fakeLocks();
  const opened = [];
  const a = tab('k', locks, opened);
  await sleep(10);
  const b = tab('k', locks, opened);
  await sleep(10);
  b.shared.stop();
  a.shared.stop();
  await sleep(20);
  assert.equal(opened.length, 1, 'the stopped follower never leads');
  const alone = tab('k', undefined, opened);
  assert.equal(alone.role, 'leader');
  alone.shared.stop();
});

test('tokenSubject reads sub without trusting it, and is empty for junk', () => {
  const payload = Buffer.from(JSON.stringify({ sub: 'alïce' })).toString('base64url');
  assert.equal(tokenSubject(`h.${payload}.s`), 'alïce');
  assert.equal(tokenSubject('junk'), '');
  assert.equal(tokenSubject(null), '');
});
