// A list stream whose client never reads: while its socket has no room, the list is not polled
// (no query, no events piling up in the server), and after the server's `Timeout` the client is
// dropped. A large document changes every poll, so the socket buffers fill within seconds.
// What the server did is read from the kernel (/proc/net/tcp) and from the store's opcounters.
//
// Today a write that found a little room blocks its worker until Timeout, which alone keeps
// the polls away (4 finds in 12 intervals measured without the stall check in sse_stream.c's
// poll_list); once writes never block, the stall check is what holds this bound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMockStore, startApache, storeClient, opcounters, mintToken, testSecretFile } from '../lib/harness.mjs';
import { serverSide, ESTABLISHED } from '../lib/proc.mjs';

const TIMEOUT_S = 3;
const POLL_MS = 100;
const BIG = 'x'.repeat(256 * 1024);
const DATA = {
  meetings_app: {
    meetings: [
      { _id: 'big', ownerId: 'alice', status: 'uploaded', blob: BIG, updatedAt: { $date: '2026-11-25T09:00:00.000Z' } },
    ],
  },
};

let store, apache, mongo, token;

before(async () => {
  store = await startMockStore({ data: DATA });
  const secret = testSecretFile();
  apache = await startApache({
    storeUri: store.uri, timeout: TIMEOUT_S,
    extra: `
<Location "/v4/biglist">
    Require all granted
    SSEDatabase meetings_app
    SSECollection meetings
    SSEJWTKey HS256 file:${secret}
    SSEOwnerField ownerId
    SSEVersionField updatedAt
    SSEPollInterval ${POLL_MS}ms
    SSEKeepalive 1s
</Location>
<Location "/v4/biglist/events">
    SetHandler sse-collection-stream
</Location>`,
  });
  mongo = await storeClient(store.uri);
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  await mongo?.close();
  await apache?.stop();
  await store?.stop();
});


test('a list stream that is not read stops polling while its socket is full, and is dropped after Timeout', { timeout: 60000 }, async (t) => {
  const meetings = mongo.db('meetings_app').collection('meetings');
  const slow = net.connect(apache.port, '127.0.0.1');
  let changing = true;
  const changer = (async () => {
    for (let i = 1; changing; i++) {
      await meetings.updateOne({ _id: 'big' }, { $set: { updatedAt: new Date(Date.UTC(2026, 10, 25, 10, 0, 0, i)) } });
      await sleep(POLL_MS);
    }
  })();
  try {
    await once(slow, 'connect');
    slow.pause();
    slow.write(`GET /v4/biglist/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    const started = Date.now();
    // Wait for the send queue to stop growing: the buffers are full.
    let last = -1, steadySince = null, filledAt = null;
    while (Date.now() - started < 20000) {
      const side = serverSide(apache.port, slow.localPort);
      if (!side || side.state !== ESTABLISHED) break;
      if (side.txQueue > 0 && side.txQueue === last) {
        steadySince ??= Date.now();
        if (Date.now() - steadySince >= 300) { filledAt = Date.now(); break; }
      } else {
        steadySince = null;
      }
      last = side.txQueue;
      await sleep(50);
    }
    assert.ok(filledAt, 'the socket buffers filled');
    // While full, with a change every interval: no list queries from this stream.
    const q0 = (await opcounters(store.uri)).query;
    await sleep(1200);
    const q1 = (await opcounters(store.uri)).query;
    t.diagnostic(`send queue ${last} bytes when full; ${q1 - q0} finds in 1.2 s while full (12 intervals)`);
    // Polling on would be 2 finds per interval (the ids, then the changed document): 24. A poll
    // may still slip through when the socket takes a few bytes; two such polls are 4 finds.
    assert.ok(q1 - q0 <= 4, `${q1 - q0} finds while the client was not reading`);
    // Dropped once the socket has had no room for Timeout.
    let droppedAt = null;
    while (Date.now() - filledAt < (TIMEOUT_S + 5) * 1000) {
      const side = serverSide(apache.port, slow.localPort);
      if (!side || side.state !== ESTABLISHED) { droppedAt = Date.now(); break; }
      await sleep(100);
    }
    assert.ok(droppedAt, 'the server let go of the client');
    t.diagnostic(`dropped ${droppedAt - filledAt} ms after the buffers were full`);
    assert.ok(droppedAt - filledAt <= (TIMEOUT_S + 2) * 1000);
  } finally {
    changing = false;
    await changer;
    slow.destroy();
  }
});
