// Slow readers: a client that sends its request and then never reads. With a
// large document sent on every poll, the socket buffers fill within seconds;
// the server must then drop that client after its `Timeout` (3 s here), and
// no other stream may wait for it meanwhile.
//
// What the server did is read from the kernel (/proc/net/tcp): the server
// side of the slow client's connection leaves ESTABLISHED when Apache gives
// up on it, and its send queue shows when the buffers were full.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMockStore, startApache, mintToken, openStream, testSecretFile } from '../lib/harness.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';
import { serverSide, ESTABLISHED } from '../lib/proc.mjs';

const TIMEOUT_S = 3;
const POLL_MS = 100;
const BIG = 'x'.repeat(256 * 1024);
const others = ['n0', 'n1', 'n2', 'n3', 'n4'];
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'big', ownerId: 'alice', status: 'uploaded', blob: BIG, updatedAt: { $date: '2026-11-25T09:00:00.000Z' } },
      ...others.map((id) => ({ _id: id, ownerId: 'alice', status: 'uploaded', updatedAt: { $date: '2026-11-25T09:00:00.000Z' } })),
    ],
  },
};

let store, apache, token;

before(async () => {
  store = await startMockStore({ data: DATA });
  apache = await startApache({
    storeUri: store.uri, timeout: TIMEOUT_S,
    extra: renderSseLocation('/v4/always/', { secretFile: testSecretFile(), resource: false, directives: `
    SSEVersionField updatedAt
    SSEPollInterval ${POLL_MS}ms
    SSEKeepalive 1s
    SSEEmit always` }),
  });
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  await apache?.stop();
  await store?.stop();
});


test('a client that never reads is dropped after Timeout, and the other streams keep their cadence meanwhile', { timeout: 60000 }, async (t) => {
  const streams = await Promise.all(others.map((id) => openStream(`${apache.url}/v4/always/${id}/events`, { token })));
  const slow = net.connect(apache.port, '127.0.0.1');
  try {
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
    await once(slow, 'connect');
    slow.pause();       // never read: the kernel's receive buffer fills, then Apache's send buffer
    slow.write(`GET /v4/always/big/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    const started = Date.now();

    // Sample the server side until it is no longer ESTABLISHED (bounded: 30 s).
    let peak = 0, peakAt = started, droppedAt = null;
    while (Date.now() - started < 30000) {
      const side = serverSide(apache.port, slow.localPort);
      if (side && side.state === ESTABLISHED) {
        if (side.txQueue > peak) { peak = side.txQueue; peakAt = Date.now(); }
      } else if (side || peak > 0) {
        droppedAt = Date.now();
        break;
      }
      await sleep(50);
    }
    assert.ok(droppedAt, `the slow client was never dropped (send queue peaked at ${peak} bytes)`);
    assert.ok(peak > 256 * 1024, `the send buffer filled (peak ${peak} bytes queued)`);
    const stuckFor = droppedAt - peakAt;
    // From the last byte the kernel took to the drop: one write that waited
    // `Timeout` (its last progress may be up to one poll before the peak).
    assert.ok(stuckFor >= (TIMEOUT_S - 1) * 1000 && stuckFor <= (TIMEOUT_S + 2) * 1000,
      `dropped ${stuckFor} ms after its buffers filled (Timeout ${TIMEOUT_S} s)`);

    // The others never waited for it: a status every poll all along.
    let worst = 0;
    for (const s of streams) {
      const times = s.events.filter((e) => e.event === 'status' && e.at >= started && e.at <= droppedAt).map((e) => e.at);
      times.unshift(started);
      times.push(droppedAt);
      for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i] - times[i - 1]);
      assert.equal(s.ended, false);
    }
    assert.ok(worst <= POLL_MS + 1900, `the other streams went at most ${worst} ms without a status (interval ${POLL_MS} ms)`);
    t.diagnostic(`slow reader: buffers full ${peakAt - started} ms after the request (${peak} bytes queued on the server side); `
      + `dropped ${stuckFor} ms later; other streams' largest gap ${worst} ms`);
  } finally {
    slow.destroy();
    streams.forEach((s) => s.close());
  }
});
