// frontend/optimistic-write.js: the saving → saved / rolled back logic of an in-place edit.
// The server is a real HTTP server in this file (real fetch, real headers); time is a fake clock.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createFieldWriter, versionFromEtag, failureKind, MESSAGES } from '../../frontend/optimistic-write.js';

const cleanups = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()(); });

/** A server that answers each PATCH with the next scripted reply, and records the requests. */
async function startServer(replies) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const r = replies.shift() || { status: 500, body: {} };
      if (r.destroy) { req.socket.destroy(); return; }
      res.writeHead(r.status, { 'Content-Type': 'application/json', ...(r.etag ? { ETag: `"${r.etag}"` } : {}) });
      res.end(JSON.stringify(r.body ?? {}));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { baseUrl: `http://127.0.0.1:${server.address().port}`, requests };
}

function fakeClock() {
  const timers = new Map();
  let next = 1;
  return {
    setTimeout(fn, ms) { const id = next++; timers.set(id, { fn, ms }); return id; },
    clearTimeout(id) { timers.delete(id); },
    fireAll() { for (const [id, t] of [...timers]) { timers.delete(id); t.fn(); } },
    get pending() { return timers.size; },
  };
}

function writer(baseUrl, clock = fakeClock()) {
  const w = createFieldWriter({ meetingId: 'm1', field: 'title', getToken: () => 'tok', baseUrl, clock });
  const views = [];
  w.on('change', (v) => views.push(v));
  w.confirm({ _id: 'm1', title: 'Old' }, 'v1');
  return { w, views, clock };
}

test('versionFromEtag reads strong and weak tags and nothing else', () => {
  assert.equal(versionFromEtag('"2026-11-25T09:00:00.000Z"'), '2026-11-25T09:00:00.000Z');
  assert.equal(versionFromEtag('W/"7"'), '7');
  assert.equal(versionFromEtag('7'), null);
  assert.equal(versionFromEtag(null), null);
});

test('failureKind: 412 conflict, write_unconfirmed, 503 and the rest', () => {
  assert.equal(failureKind(412, {}), 'conflict');
  assert.equal(failureKind(503, { error: 'write_unconfirmed' }), 'unconfirmed');
  assert.equal(failureKind(503, { error: 'store_unavailable' }), 'unavailable');
  assert.equal(failureKind(502, null), 'unavailable');
  assert.equal(failureKind(422, {}), 'invalid');
  assert.equal(failureKind(404, {}), 'gone');
  assert.equal(failureKind(401, {}), 'unauthorized');
});

test('an edit is a merge-patch PATCH with If-Match of the confirmed version and the bearer token', async () => {
  const srv = await startServer([{ status: 200, etag: 'v2', body: { _id: 'm1', title: 'New' } }]);
  const { w } = writer(srv.baseUrl);
  await w.edit('New');
  const [req] = srv.requests;
  assert.equal(req.method, 'PATCH');
  assert.equal(req.url, '/v1/meetings/m1');
  assert.equal(req.headers['content-type'], 'application/merge-patch+json');
  assert.equal(req.headers['if-match'], '"v1"');
  assert.equal(req.headers.authorization, 'Bearer tok');
  assert.deepEqual(JSON.parse(req.body), { title: 'New' });
});

test('saving until the stream delivers the version the PATCH answered; the PATCH answer alone is not enough', async () => {
  const srv = await startServer([{ status: 200, etag: 'v2', body: { _id: 'm1', title: 'New' } }]);
  const { w, views } = writer(srv.baseUrl);
  const p = w.edit('New');
  assert.equal(w.view.state, 'saving');
  assert.equal(w.view.value, 'New');
  assert.equal(w.view.message, MESSAGES.saving);
  assert.equal(w.display('Old'), 'New', 'the pending value shows over the confirmed one');
  await p;
  assert.equal(w.view.state, 'saving', 'answered, not yet confirmed by the stream');
  w.confirm({ _id: 'm1', title: 'Old' }, 'v1'); // the stream resending the old version changes nothing
  assert.equal(w.view.state, 'saving');
  w.confirm({ _id: 'm1', title: 'New' }, 'v2');
  assert.equal(w.view.state, 'saved');
  assert.equal(w.view.value, 'New');
  assert.equal(w.display('New'), 'New');
  assert.deepEqual(views.map((v) => v.state), ['idle', 'saving', 'saved']);
});

test('a stream that delivered the new version before the PATCH answered: saved at once', async () => {
  const srv = await startServer([{ status: 200, etag: 'v2', body: {} }]);
  const { w } = writer(srv.baseUrl);
  const p = w.edit('New');
  w.confirm({ _id: 'm1', title: 'New' }, 'v2');
  assert.equal(w.view.state, 'saving');
  await p;
  assert.equal(w.view.state, 'saved');
});

test('a later version than ours arriving first: saved if it holds our value, else the latest is shown as a conflict', async () => {
  const srv = await startServer([{ status: 200, etag: 'v2' }, { status: 200, etag: 'v4' }]);
  const { w } = writer(srv.baseUrl);
  await w.edit('New');
  w.confirm({ _id: 'm1', title: 'New' }, 'v3');
  assert.equal(w.view.state, 'saved');
  await w.edit('Newer');
  w.confirm({ _id: 'm1', title: 'Someone else' }, 'v5');
  assert.equal(w.view.state, 'failed');
  assert.equal(w.view.value, 'Someone else');
  assert.equal(w.view.message, MESSAGES.conflict);
});

test('412 rolls back to the latest document the answer carries, saying it changed elsewhere', async () => {
  const srv = await startServer([{ status: 412, etag: 'v9', body: { _id: 'm1', title: 'Theirs' } }]);
  const { w } = writer(srv.baseUrl);
  await w.edit('Mine');
  assert.equal(w.view.state, 'failed');
  assert.equal(w.view.value, 'Theirs');
  assert.equal(w.view.message, MESSAGES.conflict);
  assert.equal(w.display('Theirs'), 'Theirs');
});

test('503 and a network error roll back to the last confirmed value, saying the server is unavailable', async () => {
  const srv = await startServer([{ status: 503, body: { error: 'store_unavailable' } }, { destroy: true }]);
  const { w } = writer(srv.baseUrl);
  await w.edit('Mine');
  assert.deepEqual({ state: w.view.state, value: w.view.value, message: w.view.message },
    { state: 'failed', value: 'Old', message: MESSAGES.unavailable });
  await w.edit('Mine again');
  assert.equal(w.view.value, 'Old');
  assert.equal(w.view.message, MESSAGES.unavailable);
});

test('write_unconfirmed rolls back with its own message; 422 says the value was refused', async () => {
  const srv = await startServer([{ status: 503, body: { error: 'write_unconfirmed' } }, { status: 422, body: { field: 'title' } }]);
  const { w } = writer(srv.baseUrl);
  await w.edit('Mine');
  assert.equal(w.view.message, MESSAGES.unconfirmed);
  assert.equal(w.view.value, 'Old');
  await w.edit('x'.repeat(300));
  assert.equal(w.view.message, MESSAGES.invalid);
});

test('a version the stream never delivers: after the confirm timeout the last confirmed value is back', async () => {
  const srv = await startServer([{ status: 200, etag: 'v2' }]);
  const { w, clock } = writer(srv.baseUrl);
  await w.edit('New');
  assert.equal(clock.pending, 1);
  clock.fireAll();
  assert.equal(w.view.state, 'failed');
  assert.equal(w.view.value, 'Old');
  assert.equal(w.view.message, MESSAGES.timeout);
  // the version arriving late still turns it into "saved"
  w.confirm({ _id: 'm1', title: 'New' }, 'v2');
  assert.equal(w.view.state, 'saved');
  assert.equal(w.view.value, 'New');
});

test('one save at a time, and an unchanged value sends nothing', async () => {
  const srv = await startServer([{ status: 200, etag: 'v2' }]);
  const { w } = writer(srv.baseUrl);
  assert.deepEqual(await w.edit('Old'), { started: false, reason: 'unchanged' });
  const first = w.edit('New');
  assert.deepEqual(await w.edit('Other'), { started: false, reason: 'busy' });
  await first;
  assert.equal(srv.requests.length, 1);
});
