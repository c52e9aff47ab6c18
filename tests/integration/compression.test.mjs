// mod_deflate in front of mod_sse, as a site that compresses JSON has it:
// the REST resource's ETag gets mod_deflate's "-gzip" suffix (DeflateAlterETag
// AddSuffix, the default), and a revalidation with that tag must still be a
// 304; the stream must never be compressed (compression buffers events).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { startMockStore, startApache, mintToken, openStream } from '../lib/harness.mjs';

const VERSION = '2026-11-25T09:00:00.000Z';
const DATA = { meetings_app: { meetings: [{ _id: 'z1', ownerId: 'alice', status: 'uploaded', progress: 0, updatedAt: { $date: VERSION } }] } };
const MODS = '/usr/lib/apache2/modules';

let store, apache, token;

before(async () => {
  store = await startMockStore({ data: DATA });
  apache = await startApache({
    storeUri: store.uri, pollInterval: '300ms', keepalive: '1s',
    extra: `LoadModule filter_module ${MODS}/mod_filter.so
LoadModule deflate_module ${MODS}/mod_deflate.so
AddOutputFilterByType DEFLATE application/json text/event-stream`,
  });
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  await apache?.stop();
  await store?.stop();
});

// A GET with exactly these headers (fetch() would add its own Accept-Encoding).
function get(path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${apache.url}${path}`, { headers: { Authorization: `Bearer ${token}`, ...headers }, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}

test('resource compressed by mod_deflate: ETag "<version>-gzip", and If-None-Match with it answers 304', async () => {
  const first = await get('/v1/meetings/z1', { 'Accept-Encoding': 'gzip' });
  assert.equal(first.status, 200);
  assert.equal(first.headers['content-encoding'], 'gzip', 'mod_deflate compressed the answer');
  assert.equal(first.headers.etag, `"${VERSION}-gzip"`, 'what mod_deflate 2.4 makes of the tag');
  assert.equal(JSON.parse(zlib.gunzipSync(first.body)).status, 'uploaded');

  const again = await get('/v1/meetings/z1', { 'Accept-Encoding': 'gzip', 'If-None-Match': first.headers.etag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const weak = await get('/v1/meetings/z1', { 'Accept-Encoding': 'gzip', 'If-None-Match': `W/${first.headers.etag}` });
  assert.equal(weak.status, 304);
  const plain = await get('/v1/meetings/z1', { 'If-None-Match': `"${VERSION}"` });
  assert.equal(plain.status, 304);
});

test('a suffix is only understood on the current version: another tag, or another suffix, is a 200', async () => {
  for (const tag of [`"2026-11-25T08:00:00.000Z-gzip"`, `"${VERSION}-deflate"`, `"${VERSION}gzip"`, `"${VERSION}-gzip-gzip"`, `"-gzip"`]) {
    const r = await get('/v1/meetings/z1', { 'Accept-Encoding': 'gzip', 'If-None-Match': tag });
    assert.equal(r.status, 200, `If-None-Match ${tag}`);
  }
});

test('the stream is never compressed, even where DEFLATE applies to text/event-stream', async () => {
  const s = await openStream(`${apache.url}/v1/meetings/z1/events`, { token, headers: { 'Accept-Encoding': 'gzip' } });
  try {
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('content-encoding'), null);
    assert.equal(s.headers.get('cache-control'), 'no-cache, no-transform');
    await s.next((e) => e.event === 'status', 3000);
    const pings = s.comments.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(s.comments.length > pings, 'a ping reached the client as written, not held in a compressor');
  } finally {
    s.close();
  }
});
