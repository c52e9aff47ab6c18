// A client that closes a suspended stream is noticed at once, not at the
// stream's next tick: the child's hang-up watcher makes the stream due, its
// tick ends it without a store query, and its connection slot is free again
// within a second even with a 6 s SSEPollInterval. A reconnect storm relies
// on this: the old connections must leave the child's connection limit
// before the new ones arrive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startMockStore, startApache, storeClient, mintToken, opcounters,
} from '../lib/harness.mjs';
import { tcpStates } from '../lib/proc.mjs';

const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'gone', ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T09:00:00.000Z' } },
      { _id: 'stay', ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: '2026-11-25T08:00:00.000Z' } },
    ],
  },
};
const CLOSED_LINE = 'suspended stream ended: the client closed its connection';

let store, mongo, token;
const servers = [];

before(async () => {
  store = await startMockStore({ data: DATA });
  mongo = await storeClient(store.uri);
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  for (const a of servers) await a.stop();
  await mongo?.close();
  await store?.stop();
});

async function apacheWith(opts) {
  const a = await startApache({ storeUri: store.uri, logLevel: 'info sse:debug', ...opts });
  servers.push(a);
  return a;
}

// A stream over a raw socket, resolved once its first `status` event is in.
function openRaw(port, path) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no status on ${path}: ${text.slice(-200)}`)); }, 10000);
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    });
    sock.on('data', (d) => {
      text += d;
      if (text.includes('event: status')) { clearTimeout(timer); resolve(sock); }
    });
    sock.on('error', () => {});
  });
}

const closedLines = (a) => a.errorLog().split('\n').filter((l) => l.includes(CLOSED_LINE)).length;

test('a closed client ends its suspended stream within a second of closing (SSEPollInterval 6s), with no store query', async (t) => {
  const a = await apacheWith({ pollInterval: '6s', keepalive: '30s', threadsPerChild: 4, serverLimit: 1, startServers: 1, asyncFactor: 16 });
  const stay = await openRaw(a.port, '/v1/meetings/stay/events');
  const gone = await Promise.all(Array.from({ length: 5 }, () => openRaw(a.port, '/v1/meetings/gone/events')));
  try {
    await sleep(300);             // all suspended, none due for seconds
    assert.equal(tcpStates(a.port).ESTABLISHED, 6, JSON.stringify(tcpStates(a.port)));
    const q0 = (await opcounters(store.uri)).query;

    const t0 = Date.now();
    for (const s of gone) s.destroy();
    let states;
    for (;;) {
      states = tcpStates(a.port);
      if (closedLines(a) === 5 && !states.CLOSE_WAIT && states.ESTABLISHED === 1) break;
      assert.ok(Date.now() - t0 < 1500,
        `after ${Date.now() - t0} ms: ${closedLines(a)} of 5 streams ended, server sockets ${JSON.stringify(states)}`);
      await sleep(25);
    }
    const took = Date.now() - t0;
    t.diagnostic(`5 closed streams ended and their sockets closed ${took} ms after the clients closed`);
    assert.ok(took < 1000, `took ${took} ms`);

    // A whole interval later: the closed streams polled no more; the open
    // one still polls (so the count can move at all).
    await sleep(6500);
    const polls = (await opcounters(store.uri)).query - q0;
    assert.ok(polls >= 1 && polls <= 2, `store queries over one interval after the close: ${polls} (the open stream's only)`);
    assert.ok(!stay.destroyed, 'the open stream is still open');
    assert.equal(closedLines(a), 5, 'the open stream was not taken for closed');
  } finally {
    stay.destroy();
    for (const s of gone) s.destroy();
  }
});

test('a child at its connection limit takes new streams as soon as old ones close, not at their next tick', async (t) => {
  // ThreadsPerChild 2 and factor 1: the child stops accepting at about
  // 2 + 2 idle threads x 1 = 4 connections; the next wait in the backlog.
  // Where exactly event stops (3 or 4 connections) depends on how many of
  // its two workers are idle at the instant it checks, and once it has
  // stopped it waits for a connection to go (its anti-flip-flop margin):
  // so the streams are opened one by one until one is not served.
  const a = await apacheWith({ pollInterval: '10s', keepalive: '30s', threadsPerChild: 2, serverLimit: 1, startServers: 1, asyncFactor: 1 });
  const first = [];
  let fifth = null;
  for (let i = 0; i < 8 && !fifth; i++) {
    const opening = openRaw(a.port, '/v1/meetings/stay/events');
    const served = await Promise.race([opening, sleep(1000).then(() => null)]);
    if (served) first.push(served);
    else fifth = opening;
  }
  assert.ok(fifth, `${first.length} streams were all served: the child never reached its limit, so this test shows nothing`);
  assert.ok(first.length >= 3, `the child stopped at ${first.length} streams`);
  t.diagnostic(`the child stopped taking connections at ${first.length} streams`);

  const t0 = Date.now();
  for (const s of first) s.destroy();
  // With its listeners once disabled, event takes at most 2 + (2 - 1) x 1.
  const second = [await fifth, await openRaw(a.port, '/v1/meetings/stay/events')];
  const took = Date.now() - t0;
  try {
    t.diagnostic(`${first.length} streams closed; the waiting one and a new one live ${took} ms later`);
    assert.ok(took < 1500, `new streams waited ${took} ms for slots`);
  } finally {
    for (const s of second) s.destroy();
  }
});
