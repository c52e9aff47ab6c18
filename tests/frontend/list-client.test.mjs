// The caller's list in frontend/stream-client.js: the pure list state (applyListEvent, listRows,
// listFilterQuery), and the client in list mode against a real HTTP server in this file: the
// list's events, the REST resync (its ETag) and the reopen with that tag as Last-Event-ID.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createStreamClient, applyListEvent, listRows, listFilterQuery, listKey, documentTime } from '../../frontend/stream-client.js';

const m = (id, min, status = 'uploaded') => ({ _id: id, status, progress: 0, updatedAt: new Date(Date.UTC(2026, 10, 25, 9, min)).toISOString() });

test('applyListEvent: a snapshot replaces everything, status adds or replaces, removed drops', () => {
  const empty = new Map();
  const a = applyListEvent(empty, { type: 'snapshot', items: [m('a', 1), m('b', 2)] });
  assert.deepEqual([...a.keys()], ['a', 'b']);
  assert.equal(empty.size, 0, 'the old map is not mutated');
  const b = applyListEvent(a, { type: 'status', doc: m('a', 5, 'ready') });
  assert.equal(b.get('a').status, 'ready');
  assert.equal(a.get('a').status, 'uploaded');
  const c = applyListEvent(b, { type: 'status', doc: m('c', 3) });
  assert.equal(c.size, 3);
  const d = applyListEvent(c, { type: 'removed', id: 'b' });
  assert.deepEqual([...d.keys()].sort(), ['a', 'c']);
  const e = applyListEvent(d, { type: 'removed', id: 'nope' });
  assert.equal(e.size, 2, 'removing an unknown id changes nothing');
  const f = applyListEvent(e, { type: 'snapshot', items: [m('z', 9)] });
  assert.deepEqual([...f.keys()], ['z']);
  assert.equal(applyListEvent(f, null), f);
  assert.equal(applyListEvent(f, { type: 'status', doc: { title: 'no id' } }).size, 1);
});

test('listRows: newest first, ties by id, documents without a date last', () => {
  const items = applyListEvent(new Map(), { type: 'snapshot', items: [m('a', 1), m('c', 5), m('b', 5), { _id: 'x' }] });
  assert.deepEqual(listRows(items).map((d) => d._id), ['b', 'c', 'a', 'x']);
  assert.equal(listKey('m1'), 'm1');
  assert.equal(listKey(7), '7');
});

test('listFilterQuery: none is empty; values are sorted, unique and encoded', () => {
  assert.equal(listFilterQuery([]), '');
  assert.equal(listFilterQuery(undefined), '');
  assert.equal(listFilterQuery(['ready', 'uploaded', 'ready']), '?status=ready,uploaded');
  assert.equal(listFilterQuery(['a,b', 'c d']), '?status=a%2Cb,c%20d');
  assert.equal(listFilterQuery(['', null]), '');
});

// ---- the client in list mode ------------------------------------------------------------------

const cleanups = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()(); });

async function startServer(handle) {
  const log = [];
  const open = new Set();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    log.push({ path: u.pathname, search: u.search, headers: req.headers });
    open.add(res);
    res.on('close', () => open.delete(res));
    handle(req, res, u, log.length);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => {
    for (const res of open) res.destroy();
    server.close(resolve);
    server.closeAllConnections();
  }));
  return { url: `http://127.0.0.1:${server.address().port}`, log };
}

const sse = (res) => res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
const ev = (type, id, data) => `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
const connected = 'event: connected\ndata: {"resource":"/v1/meetings/events","pollInterval":3000,"keepalive":15000}\n\n';

function waitFor(pred, ms = 3000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      const v = pred();
      if (v) return resolve(v);
      if (Date.now() - t0 > ms) return reject(new Error('condition not met'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

test('list mode: events build the list; after a drop, REST resync then Last-Event-ID = the ETag', async () => {
  let streams = 0;
  const srv = await startServer((req, res, u) => {
    if (u.pathname === '/v1/meetings/events') {
      streams += 1;
      sse(res);
      if (streams === 1) {
        res.write(connected);
        res.write(ev('snapshot', 'c1', { items: [m('a', 1), m('b', 2)], truncated: false }));
        res.write(ev('status', 'c2', m('a', 3, 'ready')));
        res.end(ev('removed', 'c3', { _id: 'b' }));
      } else {
        res.write(connected);
      }
    } else if (u.pathname === '/v1/meetings') {
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"c9"' });
      res.end(JSON.stringify({ items: [m('a', 3, 'ready'), m('n', 4)], truncated: false }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  let items = new Map();
  const seen = [];
  const states = [];
  const client = createStreamClient({
    getToken: () => 'tok', baseUrl: srv.url, list: { path: '/v1/meetings', query: '?status=ready,uploaded' },
    backoffMs: [20], random: () => 1, respectServerRetry: false, network: null,
  });
  cleanups.push(() => client.stop());
  client.on('list', (e) => { seen.push(`${e.type}:${e.tag}`); items = applyListEvent(items, e); });
  client.on('state', (s) => states.push(s.phase));
  client.start();
  await waitFor(() => srv.log.filter((l) => l.path === '/v1/meetings/events').length === 2 && states.at(-1) === 'live');
  assert.deepEqual(seen, ['snapshot:c1', 'status:c2', 'removed:c3', 'snapshot:c9']);
  assert.deepEqual(listRows(items).map((d) => d._id), ['n', 'a']);
  const [first, rest, second] = srv.log;
  assert.equal(first.search, '?status=ready,uploaded');
  assert.equal(first.headers.authorization, 'Bearer tok');
  assert.equal(first.headers['last-event-id'], undefined);
  assert.equal(rest.path, '/v1/meetings');
  assert.equal(rest.search, '?status=ready,uploaded');
  assert.equal(second.headers['last-event-id'], 'c9', 'reopened from the resynced set');
  assert.ok(states.includes('retrying'));
});

test('list mode: a starting lastEventId is sent on the first request, with no resync', async () => {
  const srv = await startServer((req, res) => { sse(res); res.write(connected); });
  const client = createStreamClient({ getToken: () => 'tok', baseUrl: srv.url, list: { path: '/v1/meetings' }, lastEventId: 'c42', network: null });
  cleanups.push(() => client.stop());
  client.start();
  await waitFor(() => client.state.phase === 'live');
  assert.equal(srv.log.length, 1);
  assert.equal(srv.log[0].path, '/v1/meetings/events');
  assert.equal(srv.log[0].headers['last-event-id'], 'c42');
});

test('documentTime and listRows read another time field when told', () => {
  const a = { _id: 'a', updatedAt: '2026-01-01T00:00:00Z', modified: '2026-03-01T00:00:00Z' };
  const b = { _id: 'b', updatedAt: '2026-02-01T00:00:00Z', modified: '2026-01-01T00:00:00Z' };
  assert.equal(documentTime(a, 'modified'), Date.parse('2026-03-01T00:00:00Z'));
  assert.equal(documentTime(a), Date.parse('2026-01-01T00:00:00Z'));
  assert.equal(documentTime({ _id: 'c' }, 'modified'), null);
  const items = new Map([['a', a], ['b', b]]);
  assert.deepEqual(listRows(items).map((d) => d._id), ['b', 'a']);
  assert.deepEqual(listRows(items, 'modified').map((d) => d._id), ['a', 'b']);
});
