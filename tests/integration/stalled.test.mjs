// Stalled clients on a growing document: four clients send their request
// and then stop reading while the document they watch grows to 8 MiB. Their
// streams must not hold any of the child's 4 worker threads in a write
// (plain requests keep answering at once), must hold about one document of
// memory each (not a queue of every version), and a client that resumes
// reading gets intact events ending with the newest version.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import { startMockStore, startApache, mintToken, storeClient, testSecretFile, freePort, tmpDir } from '../lib/harness.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';

const STALLED = 4;
const POLL_MS = 100;
const MiB = 1024 * 1024;
// From small (it fits the socket buffers) to 8 MiB at once (it does not),
// then new 8 MiB versions while the clients are stalled.
const SIZES = [64 * 1024, MiB, 8 * MiB, 8 * MiB, 8 * MiB];
const ids = Array.from({ length: STALLED }, (_, i) => `grow${i}`);
const stamp = (i) => new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString();
const DATA = {
  meetings_app: {
    meetings: ids.map((id) => ({ _id: id, ownerId: 'alice', status: 'uploaded', blob: 'x', updatedAt: { $date: stamp(0) } })),
  },
};

let store, apache, token, client, tlsPort;

// A throwaway self-signed certificate, for the same streams behind mod_ssl.
function tlsVhost(port) {
  const dir = tmpDir('sse-tls-');
  fs.chmodSync(dir, 0o755);
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
    '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  fs.chmodSync(key, 0o644);
  return `LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
Listen 127.0.0.1:${port}
<VirtualHost 127.0.0.1:${port}>
    SSLEngine on
    SSLCertificateFile ${cert}
    SSLCertificateKeyFile ${key}
</VirtualHost>
`;
}

before(async () => {
  store = await startMockStore({ data: DATA });
  tlsPort = await freePort();
  apache = await startApache({
    storeUri: store.uri, timeout: 30, threadsPerChild: 4, serverLimit: 1, startServers: 1,
    extra: tlsVhost(tlsPort) + renderSseLocation('/v6/grow/', { secretFile: testSecretFile(), resource: false, directives: `
    SSEVersionField updatedAt
    SSEPollInterval ${POLL_MS}ms
    SSEKeepalive 1s` }),
  });
  token = await mintToken({ sub: 'alice' });
  client = await storeClient(store.uri);
});

after(async () => {
  await client?.close();
  await apache?.stop();
  await store?.stop();
});

const rssKiB = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

// A plain request for a static file; resolves with how long it took.
function timedGet(path) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: apache.port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - started }));
    });
    req.setTimeout(10000, () => req.destroy(new Error(`${path}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

// A client that sends its request and never reads (until resume()).
async function stalledClient(id) {
  const sock = net.connect(apache.port, '127.0.0.1');
  await once(sock, 'connect');
  sock.pause();
  sock.write(`GET /v6/grow/${id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
  return sock;
}

test('stalled clients on a document growing to 8 MiB hold no worker and about one document of memory each', { timeout: 120000 }, async (t) => {
  const [child] = apache.children();
  assert.ok(child, 'one Apache child');
  // Warm the child up (store pool, first stream) before the baseline.
  for (let i = 0; i < 4; i++) assert.equal((await timedGet('/meetings.html')).status, 200);
  const baseline = rssKiB(child);

  const socks = [];
  for (const id of ids) socks.push(await stalledClient(id));
  const meetings = client.db('meetings_app').collection('meetings');

  // Grow every document; time plain requests from the first 8 MiB version on.
  const times = [];
  let big;
  const bigReached = new Promise((resolve) => { big = resolve; });
  const grow = (async () => {
    for (let i = 0; i < SIZES.length; i++) {
      const blob = 'x'.repeat(SIZES[i]);
      for (const id of ids) await meetings.updateOne({ _id: id }, { $set: { blob, updatedAt: new Date(stamp(i + 1)) } });
      if (SIZES[i] === 8 * MiB) big();
      await sleep(700);
    }
  })();
  const plain = (async () => {
    await bigReached;
    await sleep(2 * POLL_MS);
    for (let i = 0; i < 20; i++) {
      const r = await timedGet('/meetings.html');
      assert.equal(r.status, 200);
      times.push(r.ms);
      await sleep(100);
    }
  })();
  await Promise.all([grow, plain]);
  // Every stream has had time to poll the 8 MiB version and stall on it.
  await sleep(1500);
  const after8 = [];
  for (let i = 0; i < 5; i++) { after8.push(rssKiB(child)); await sleep(200); }
  const peakGrowth = Math.max(...after8) - baseline;
  const perStream = peakGrowth / STALLED;
  const slowest = Math.max(...times);
  t.diagnostic(`plain requests while ${STALLED} clients stalled: slowest ${slowest} ms, median ${times.sort((a, b) => a - b)[10]} ms`);
  t.diagnostic(`child RSS ${baseline} KiB before, ${Math.max(...after8)} KiB with ${STALLED} streams stalled on 8 MiB: `
    + `${(perStream / 1024).toFixed(1)} MiB per stalled stream`);
  for (const ms of times) assert.ok(ms < 1000, `a plain request took ${ms} ms (all: ${times.join(', ')})`);
  // The child's growth also holds what each of its 4 worker threads keeps
  // from polling an 8 MiB document (the store driver's and the renderer's
  // buffers); what the streams themselves hold is measured below.
  assert.ok(peakGrowth <= (STALLED + 4) * 1.5 * 8 * 1024, `RSS grew ${(peakGrowth / 1024).toFixed(1)} MiB with ${STALLED} stalled streams`);

  // One client starts reading: whole events, in order, the last being the
  // newest version (8 MiB), with no version queued twice.
  const reader = socks[0];
  const events = [];
  const parser = createParser({ onEvent(ev) { events.push(ev); } });
  let head = '', inBody = false;
  let chunked = '';
  reader.setEncoding('latin1');
  reader.on('data', (d) => {
    if (!inBody) {
      head += d;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      inBody = true;
      d = head.slice(end + 4);
    }
    chunked += d;
    // De-chunk what is complete.
    for (;;) {
      const nl = chunked.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(chunked.slice(0, nl), 16);
      if (chunked.length < nl + 2 + size + 2) break;
      parser.feed(chunked.slice(nl + 2, nl + 2 + size));
      chunked = chunked.slice(nl + 2 + size + 2);
    }
  });
  reader.resume();
  const deadline = Date.now() + 20000;
  const newest = `"${stamp(SIZES.length)}"`;
  while (Date.now() < deadline && !events.some((e) => e.event === 'status' && JSON.parse(e.data).blob.length === 8 * MiB)) await sleep(100);
  const statuses = events.filter((e) => e.event === 'status');
  assert.ok(statuses.length >= 2, `statuses after resuming: ${statuses.length}`);
  for (const e of statuses) JSON.parse(e.data);       // every event arrived whole
  const last = JSON.parse(statuses[statuses.length - 1].data);
  assert.equal(last.blob.length, 8 * MiB, 'the newest version arrived once the client read again');
  const versions = statuses.map((e) => e.id);
  assert.equal(new Set(versions).size, versions.length, `no version sent twice: ${versions.join(' ')}`);
  t.diagnostic(`resumed client got ${statuses.length} statuses: ${statuses.map((e) => JSON.parse(e.data).blob.length).join(', ')} bytes of blob; newest ${newest}`);
  // What the streams themselves held is what their end gives back; the
  // rest of the growth is per worker (the store driver's reply buffers).
  const stalledRss = Math.max(...after8);
  for (const s of socks) s.destroy();
  await sleep(1500);
  const closedRss = rssKiB(child);
  const heldPerStream = (stalledRss - closedRss) / STALLED;
  t.diagnostic(`child RSS ${closedRss} KiB once the streams have closed: each stalled stream held ${(heldPerStream / 1024).toFixed(1)} MiB`);
  assert.ok(heldPerStream <= 1.25 * 8 * 1024, `each stalled stream held ${(heldPerStream / 1024).toFixed(1)} MiB (document 8 MiB)`);
});

test('the first write of a large document (headers and first status) holds no worker either', { timeout: 60000 }, async (t) => {
  // The documents are 8 MiB by now: each new stream's opening write is.
  const socks = [];
  for (const id of ids) socks.push(await stalledClient(id));
  await sleep(500);
  const times = [];
  for (let i = 0; i < 10; i++) {
    const r = await timedGet('/meetings.html');
    assert.equal(r.status, 200);
    times.push(r.ms);
  }
  t.diagnostic(`plain requests while ${STALLED} new streams stall on their first 8 MiB status: slowest ${Math.max(...times)} ms`);
  for (const ms of times) assert.ok(ms < 1000, `a plain request took ${ms} ms (all: ${times.join(', ')})`);
  for (const s of socks) s.destroy();
});

test('behind mod_ssl too: stalled TLS clients on their first 8 MiB status hold no worker, and one that resumes reads whole events', { timeout: 60000 }, async (t) => {
  const socks = [];
  for (const id of ids) {
    const sock = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false });
    await once(sock, 'secureConnect');
    sock.pause();
    sock.write(`GET /v6/grow/${id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    socks.push(sock);
  }
  await sleep(500);
  const times = [];
  for (let i = 0; i < 10; i++) {
    const r = await timedGet('/meetings.html');
    assert.equal(r.status, 200);
    times.push(r.ms);
  }
  t.diagnostic(`plain requests while ${STALLED} TLS streams stall on their first 8 MiB status: slowest ${Math.max(...times)} ms`);
  for (const ms of times) assert.ok(ms < 1000, `a plain request took ${ms} ms (all: ${times.join(', ')})`);

  // Resume one: the response, de-chunked, parses into whole events and the
  // 8 MiB status arrives intact.
  const reader = socks[0];
  let raw = '';
  reader.setEncoding('latin1');
  reader.on('data', (d) => { raw += d; });
  reader.resume();
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline && raw.length < 8 * MiB + 4096) await sleep(100);
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  let text = '', rest = body;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) break;
    const size = parseInt(rest.slice(0, nl), 16);
    if (rest.length < nl + 2 + size + 2) break;
    text += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
  const events = [];
  createParser({ onEvent(ev) { events.push(ev); } }).feed(text);
  const status = events.find((e) => e.event === 'status');
  assert.ok(status, `a status event arrived over TLS (${text.length} bytes de-chunked)`);
  assert.equal(JSON.parse(status.data).blob.length, 8 * MiB);
  for (const s of socks) s.destroy();
});
