// Stream limits, counted across every child of one Apache instance:
// SSEMaxStreamsPerUser (429 too_many_streams with Retry-After) and
// SSEMaxStreams (503 with Retry-After). A stream's count is released when
// it ends, whichever way: the client closes it, or the child serving it
// is SIGKILLed (the parent forgets that child's counts when it reaps it).
//
// Which child serves a stream is read from the kernel: the server side of
// the connection is a socket inode that exactly one child holds open.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMockStore, startApache, mintToken, testSecretFile, configTest, MODULE } from '../lib/harness.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';
import { serverSide, socketHolder } from '../lib/proc.mjs';

const PER_USER = 6;
const INSTANCE = 10;
const POLL_MS = 300;
const ids = Array.from({ length: 12 }, (_, i) => `m${i}`);
const DATA = {
  meetings_app: {
    meetings: ids.map((id) => ({ _id: id, ownerId: 'alice', status: 'uploaded', updatedAt: { $date: '2026-11-25T09:00:00.000Z' } })),
  },
};

let store, apache;
const tokens = {};
const open = new Set();

before(async () => {
  store = await startMockStore({ data: DATA });
  apache = await startApache({
    storeUri: store.uri, startServers: 2, serverLimit: 2, threadsPerChild: 4,
    extra: `SSEMaxStreams ${INSTANCE}\n` + renderSseLocation('/v5/lim/', { secretFile: testSecretFile(), resource: false, directives: `
    SSEPollInterval ${POLL_MS}ms
    SSEKeepalive 1s
    SSEMaxStreamsPerUser ${PER_USER}` }),
  });
  for (const sub of ['alice', 'bob', 'carol', 'dave']) tokens[sub] = await mintToken({ sub });
});

after(async () => {
  for (const s of open) s.close();
  await apache?.stop();
  await store?.stop();
});

// The pid of the Apache child holding the server side of the connection
// from 127.0.0.1:clientPort.
function servingChild(clientPort) {
  const side = serverSide(apache.port, clientPort);
  return side ? socketHolder(side.inode, apache.children()) : null;
}

// One stream on its own connection. Resolves once the answer's status is
// known and, for a 200, once the `connected` event has arrived.
function openStream(sub, id) {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: '127.0.0.1', port: apache.port, path: `/v5/lim/${id}/events`, agent: false,
      headers: { Accept: 'text/event-stream', Authorization: `Bearer ${tokens[sub]}` },
    });
    req.setTimeout(10000, () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      const stream = {
        sub, id, status: res.statusCode, headers: res.headers, ended: false,
        localPort: req.socket.localPort,
        close() { open.delete(stream); req.destroy(); },
      };
      res.setEncoding('utf8');
      res.on('end', () => { stream.ended = true; open.delete(stream); });
      res.on('error', () => { stream.ended = true; open.delete(stream); });
      res.on('data', (d) => {
        body += d;
        stream.body = body;
        if (res.statusCode === 200 && body.includes('event: connected') && !stream.pid) {
          req.setTimeout(0);
          stream.pid = servingChild(stream.localPort);
          open.add(stream);
          resolve(stream);
        }
      });
      if (res.statusCode !== 200) res.on('end', () => { stream.json = JSON.parse(body); resolve(stream); });
    });
  });
}

// Opens a stream, retrying while it is refused (a release is seen at the
// stream's next tick); resolves with the first 200.
async function openWhenReleased(sub, id, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await openStream(sub, id);
    if (s.status === 200 || Date.now() > deadline) return s;
    await sleep(100);
  }
}

function assertRefused(s, status) {
  assert.equal(s.status, status, `expected ${status}, got ${s.status}: ${s.body}`);
  assert.equal(s.json.error, 'too_many_streams');
  assert.equal(typeof s.json.message, 'string');
  assert.match(s.headers['retry-after'], /^[1-9]\d*$/);
}

const countBy = (streams) => streams.reduce((m, s) => m.set(s.pid, (m.get(s.pid) || 0) + 1), new Map());

test('per-user limit holds across both children; the instance limit answers 503; both release on close and when a child is SIGKILLed', { timeout: 90000 }, async (t) => {
  // Alice's streams, opened one by one until both children serve some of
  // them (each child is a separate process; the count is shared).
  const alice = [];
  for (let i = 0; i < PER_USER; i++) alice.push(await openStream('alice', ids[i]));
  for (const s of alice) assert.equal(s.status, 200);
  let perChild = countBy(alice);
  // The kernel picks the child that accepts; nudge the spread by cycling
  // alice's streams until both children hold some (bounded).
  for (let round = 0; perChild.size < 2 && round < 40; round++) {
    const [pid] = [...perChild.keys()];
    const victim = alice.findIndex((s) => s.pid === pid);
    alice[victim].close();
    const again = await openWhenReleased('alice', alice[victim].id);
    assert.equal(again.status, 200);
    alice[victim] = again;
    perChild = countBy(alice);
  }
  assert.equal(perChild.size, 2, `alice's ${PER_USER} streams are spread over both children (${JSON.stringify([...perChild])})`);
  t.diagnostic(`alice's streams per child: ${JSON.stringify([...perChild])}`);

  // One more for alice, on either child: 429. Bob is not affected.
  for (let i = 0; i < 3; i++) assertRefused(await openStream('alice', ids[PER_USER]), 429);
  const bob = [];
  for (let i = 0; i < INSTANCE - PER_USER; i++) bob.push(await openStream('bob', ids[i]));
  for (const s of bob) assert.equal(s.status, 200);

  // The instance has INSTANCE streams open: carol (no stream at all) gets 503.
  assertRefused(await openStream('carol', ids[0]), 503);
  assertRefused(await openStream('alice', ids[0]), 503);

  // Closing one of bob's streams lets carol in; then the instance is full again.
  bob.pop().close();
  const carol = await openWhenReleased('carol', ids[1]);
  assert.equal(carol.status, 200, 'a closed stream no longer counts');
  assertRefused(await openStream('dave', ids[2]), 503);

  // SIGKILL the child holding some of alice's streams: the parent reaps it
  // and its counts go. Alice may then open exactly that many again.
  const [victimPid, lost] = [...countBy(alice)].sort((a, b) => b[1] - a[1])[0];
  const survivors = alice.filter((s) => s.pid !== victimPid).length;
  const othersOnVictim = [...bob, carol].filter((s) => s.pid === victimPid).length;
  process.kill(victimPid, 'SIGKILL');
  await sleep(300);
  const reopened = [];
  for (let i = 0; i < lost; i++) {
    const s = await openWhenReleased('alice', ids[i], 8000);
    assert.equal(s.status, 200, `alice's stream ${i + 1} of ${lost} after the kill: ${s.status} ${s.body}`);
    assert.notEqual(s.pid, victimPid);
    reopened.push(s);
  }
  assertRefused(await openStream('alice', ids[0]), 429);
  const released = apache.errorLog().split('\n').find((l) => l.includes(`child ${victimPid} `) && l.includes('streams counted; released'));
  assert.ok(released, `the parent or a reservation said it released child ${victimPid}'s counts`);
  t.diagnostic(released.replace(/^.*mod_sse: /, ''));
  t.diagnostic(`killed child ${victimPid} with ${lost} of alice's streams (+${othersOnVictim} others); `
    + `${survivors} survived elsewhere; alice reopened ${reopened.length}, then 429`);
  // Refusals are logged without the token or the claim's value.
  const log = apache.errorLog();
  assert.match(log, /SSEMaxStreamsPerUser/);
  for (const [sub, tok] of Object.entries(tokens)) {
    assert.ok(!log.includes(tok), `the error log holds ${sub}'s token`);
    assert.ok(!log.includes(sub), `the error log names ${sub}`);
  }
  for (const s of [...open]) s.close();
});

test('after a graceful restart the new generation adopts the count table: the limit still holds', { timeout: 60000 }, async () => {
  await sleep(POLL_MS * 3);      // the previous test's streams have been seen closed
  apache.graceful();
  await sleep(1500);
  const alice = [];
  for (let i = 0; i < PER_USER; i++) alice.push(await openWhenReleased('alice', ids[i], 8000));
  for (const s of alice) assert.equal(s.status, 200, `${s.status} ${s.body}`);
  assertRefused(await openStream('alice', ids[PER_USER]), 429);
  for (const s of alice) s.close();
});

test('SSEMaxStreamsPerUser and SSEMaxStreams refuse values that are not counts', async () => {
  const base = `ServerRoot /tmp\nListen 127.0.0.1:1\nLoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n`
    + `LoadModule sse_module ${MODULE}\nErrorLog /dev/null\nPidFile /tmp/limits-conftest.pid\n`;
  for (const bad of ['-1', 'many', '2.5', '']) {
    const r = await configTest(`${base}<Location "/x/">\nSSEMaxStreamsPerUser "${bad}"\n</Location>\n`);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /SSEMaxStreamsPerUser/);
  }
  const inside = await configTest(`${base}<Location "/x/">\nSSEMaxStreams 5\n</Location>\n`);
  assert.notEqual(inside.code, 0);
  assert.match(inside.output, /SSEMaxStreams/);
  const ok = await configTest(`${base}SSEMaxStreams 5\n<Location "/x/">\nSSEMaxStreamsPerUser 0\n</Location>\n`);
  assert.equal(ok.code, 0, ok.output);
});
