// Operators' view of an instance with two children: /metrics (checked by
// promtool and scraped by a real Prometheus server), /server-status with
// mod_status, /health/live, and the access-log notes sse_end and
// sse_events. Which child answered each request comes from the access log
// (%P), so "whichever child answers" is checked, not assumed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startMockStore, startApache, mintToken, openStream, freePort, tmpDir, testSecretFile,
} from '../lib/harness.mjs';
import { renderSseLocation } from '../lib/apache-conf.mjs';
import { waitUntil } from '../lib/sse-client.mjs';

const STREAMS = 40;
const CLOSED = 15;
const ids = Array.from({ length: STREAMS + 10 }, (_, i) => `p${i}`);
const DATA = {
  meetings_app: {
    meetings: ids.map((id, i) => ({ _id: id, ownerId: 'alice', status: 'uploaded', progress: i,
      updatedAt: { $date: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString() } })),
  },
};

let store, apache, token;
let streams = [];

const secretFile = testSecretFile();
const extra = `
LoadModule status_module /usr/lib/apache2/modules/mod_status.so
ExtendedStatus On
<Location "/server-status">
    SetHandler server-status
    Require all granted
</Location>
<Location "/metrics">
    SetHandler sse-metrics
    Require all granted
</Location>
<Location "/health/live">
    SetHandler sse-live
    Require all granted
</Location>
LogFormat "%P %m %U %>s %{sse_end}n %{sse_events}n" sse
CustomLog "access.log" sse
${renderSseLocation('/v2/short/', { secretFile, directives: 'SSEMaxLifetime 1s\nSSEPollInterval 300ms', resource: false })}
`;

before(async () => {
  store = await startMockStore({ data: DATA });
  apache = await startApache({
    storeUri: store.uri, secretFile, pollInterval: '500ms', keepalive: '1s',
    startServers: 2, serverLimit: 4, threadsPerChild: 32, extra,
    // 40 streams of one user: no per-user limit here (limits.test.mjs).
    maxStreamsPerUser: 0,
  });
  token = await mintToken({ sub: 'alice' });
});

after(async () => {
  for (const s of streams) s.close();
  await apache?.stop();
  await store?.stop();
});

// One request on a connection of its own, so successive requests can land
// on either child.
function get(urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: apache.port, path: urlPath, agent: false,
      headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

// name{labels} -> value, from the text exposition.
function parse(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/);
    assert.ok(m, `exposition line parses: ${line}`);
    samples.set(m[1], Number(m[2]));
  }
  return samples;
}

async function scrape() {
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  return parse(res.body);
}

const openCount = (m) => m.get('mod_sse_streams_open{mode="suspended"}') + m.get('mod_sse_streams_open{mode="blocking"}');
const closed = (m, reason) => m.get(`mod_sse_streams_closed_total{reason="${reason}"}`);

function accessLog() {
  try { return fs.readFileSync(path.join(apache.dir, 'access.log'), 'utf8').split('\n').filter(Boolean); } catch { return []; }
}

// PIDs of the children that answered `urlPath`, from the access log (from
// line `since` on).
function answeredBy(urlPath, since = 0) {
  return new Set(accessLog().slice(since).filter((l) => l.split(' ')[2] === urlPath).map((l) => Number(l.split(' ')[0])));
}

function accessLines(prefix) {
  return accessLog().filter((l) => (l.split(' ')[2] || '').startsWith(prefix));
}

// Scrapes on fresh connections until every child has answered at least
// once (at least 6 scrapes, at most 60); returns every scrape.
async function scrapeFromEveryChild() {
  const since = accessLog().length;
  const scrapes = [];
  while (scrapes.length < 60) {
    scrapes.push(await scrape());
    const answered = answeredBy('/metrics', since);
    if (scrapes.length >= 6 && apache.children().every((pid) => answered.has(pid))) break;
    if (scrapes.length % 4 === 0) await sleep(20);
  }
  return scrapes;
}

test('the exposition passes promtool check metrics', async () => {
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const child = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  child.stdin.end(res.body);
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, `promtool check metrics: ${out}`);
  for (const family of ['streams_open', 'streams_opened_total', 'streams_closed_total', 'stream_rejections_total',
    'polls_total', 'store_queries_total', 'store_errors_total', 'poll_duration_seconds', 'events_sent_total',
    'auth_failures_total', 'writes_total']) {
    assert.match(res.body, new RegExp(`^# TYPE mod_sse_${family} `, 'm'), `family mod_sse_${family}`);
  }
});

test('each child logs at notice which mode its streams run in', async () => {
  await waitUntil(() => apache.children().every((pid) => apache.errorLog().includes(`child ${pid}: streams run`)), 5000, 'every child\'s notice');
  const lines = apache.errorLog().split('\n').filter((l) => /\[sse:notice\].*streams run suspended/.test(l));
  for (const pid of apache.children()) {
    assert.ok(lines.some((l) => l.includes(`child ${pid}:`)), `notice for child ${pid}`);
  }
});

test(`${STREAMS} streams open: every scrape says ${STREAMS}, whichever child answers`, async (t) => {
  const start = await scrape();
  // Opened a few at a time so both children accept some.
  for (let i = 0; i < STREAMS; i += 4) {
    const batch = await Promise.all(ids.slice(i, i + 4).map((id) => openStream(`${apache.url}/v1/meetings/${id}/events`, { token })));
    for (const s of batch) assert.equal(s.status, 200);
    streams.push(...batch);
  }
  await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));

  const status = await get('/server-status?auto');
  const perChild = [...status.body.matchAll(/^SSEChild\d+: pid=(\d+) suspended=(\d+) blocking=(\d+)$/mg)]
    .map((m) => ({ pid: Number(m[1]), open: Number(m[2]) + Number(m[3]) }));
  assert.equal(perChild.reduce((n, c) => n + c.open, 0), STREAMS, `per-child lines add up: ${JSON.stringify(perChild)}`);
  assert.equal(perChild.length, 2, `a line per child: ${JSON.stringify(perChild)}`);
  const holding = perChild.filter((c) => c.open > 0);

  // Each child reads every slot: a child answering 40 while it holds fewer
  // (or none) proves the sum is over children, not its own count.
  const since = accessLog().length;
  const scrapes = await scrapeFromEveryChild();
  const answered = answeredBy('/metrics', since);
  for (const c of perChild) assert.ok(answered.has(c.pid), `child ${c.pid} answered a scrape (answered: ${[...answered]})`);
  for (const m of scrapes) {
    assert.equal(openCount(m), STREAMS);
    assert.equal(m.get('mod_sse_streams_open{mode="suspended"}'), STREAMS);
    assert.equal(m.get('mod_sse_streams_opened_total') - start.get('mod_sse_streams_opened_total'), STREAMS);
  }
  t.diagnostic(`${scrapes.length} scrapes answered by children ${[...answered].join(', ')}; streams per child ${holding.map((c) => `${c.pid}:${c.open}`).join(', ')}`);
});

test(`closing ${CLOSED} streams: ${STREAMS - CLOSED} open, closed_total{reason="client_gone"} +${CLOSED}, and the access log says so`, async () => {
  const before = await scrape();
  for (const s of streams.splice(0, CLOSED)) s.close();
  // The server sees each close at the stream's next tick (keepalive 1s).
  let m;
  const deadline = Date.now() + 8000;
  do {
    await sleep(250);
    m = await scrape();
  } while (openCount(m) !== STREAMS - CLOSED && Date.now() < deadline);
  assert.equal(openCount(m), STREAMS - CLOSED);
  assert.equal(closed(m, 'client_gone') - closed(before, 'client_gone'), CLOSED);
  for (const reason of ['max_lifetime', 'token_expired', 'not_found', 'shutdown', 'write_timeout']) {
    assert.equal(closed(m, reason), closed(before, reason), `no ${reason} ends`);
  }
  for (const next of await scrapeFromEveryChild()) assert.equal(openCount(next), STREAMS - CLOSED);

  await sleep(200);
  const ended = accessLines('/v1/meetings/').filter((l) => / client_gone \d+$/.test(l));
  assert.equal(ended.length, CLOSED, `access-log lines with sse_end client_gone:\n${ended.join('\n')}`);
  for (const l of ended) {
    const events = Number(l.split(' ').pop());
    assert.ok(events >= 2, `connected and status counted in sse_events: ${l}`);
  }
});

test('a stream ended by its lifetime from a timed callback logs sse_end max_lifetime and its events', async () => {
  const before = await scrape();
  const s = await openStream(`${apache.url}/v2/short/p45/events`, { token });
  assert.equal(s.status, 200);
  const lost = await s.next((e) => e.event === 'connectionLost', 5000);
  assert.equal(lost.json.reason, 'max_lifetime');
  await s.done;
  const counted = (e) => s.events.filter((x) => x.event === e).length;
  await waitUntil(() => accessLines('/v2/short/').length === 1, 3000, 'the access-log line');
  const [line] = accessLines('/v2/short/');
  assert.match(line, / 200 max_lifetime \d+$/);
  assert.equal(Number(line.split(' ').pop()), s.events.length, `sse_events is what the client got: ${line}`);
  const m = await scrape();
  assert.equal(closed(m, 'max_lifetime') - closed(before, 'max_lifetime'), 1);
  assert.equal(m.get('mod_sse_events_sent_total{event="connectionLost"}') - before.get('mod_sse_events_sent_total{event="connectionLost"}'), 1);
  assert.ok(m.get('mod_sse_events_sent_total{event="status"}') - before.get('mod_sse_events_sent_total{event="status"}') >= counted('status'));
  assert.ok(m.get('mod_sse_polls_total') > before.get('mod_sse_polls_total'), 'polls counted');
  assert.ok(m.get('mod_sse_poll_duration_seconds_count') > before.get('mod_sse_poll_duration_seconds_count'));
  assert.equal(m.get('mod_sse_poll_duration_seconds_count'), m.get('mod_sse_poll_duration_seconds_bucket{le="+Inf"}'));
  assert.equal(m.get('mod_sse_poll_duration_seconds_count'), m.get('mod_sse_polls_total'));
});

test('a bad token raises the auth-failure counter with its reason, and the 401 counts as a rejection', async () => {
  const before = await scrape();
  const forged = await mintToken({ sub: 'alice', secret: Buffer.from('not the server secret, not at all!!') });
  const expired = await mintToken({ sub: 'alice', expSeconds: -3600 });
  for (const t of [forged, expired]) {
    const s = await openStream(`${apache.url}/v1/meetings/p1/events`, { token: t });
    assert.equal(s.status, 401);
  }
  const none = await openStream(`${apache.url}/v1/meetings/p1/events`);
  assert.equal(none.status, 401);
  const missingDoc = await openStream(`${apache.url}/v1/meetings/nope/events`, { token });
  assert.equal(missingDoc.status, 404);
  const m = await scrape();
  const delta = (k) => m.get(k) - before.get(k);
  assert.equal(delta('mod_sse_auth_failures_total{reason="bad_signature"}'), 1);
  assert.equal(delta('mod_sse_auth_failures_total{reason="expired"}'), 1);
  assert.equal(delta('mod_sse_auth_failures_total{reason="missing"}'), 1);
  assert.equal(delta('mod_sse_stream_rejections_total{code="401"}'), 3);
  assert.equal(delta('mod_sse_stream_rejections_total{code="404"}'), 1);
  assert.equal(delta('mod_sse_streams_opened_total'), 0, 'a refused stream is not an opened one');
});

test('writes are counted by result: saved, conflict (412) and refused (428)', async () => {
  const writes = (m, result) => m.get(`mod_sse_writes_total{result="${result}"}`);
  const before = await scrape();
  const url = `${apache.url}/v1/meetings/p45`;
  const auth = { Authorization: `Bearer ${token}` };
  const first = await fetch(url, { headers: auth });
  assert.equal(first.status, 200);
  const etag = first.headers.get('etag');
  const patch = (ifMatch) => fetch(url, {
    method: 'PATCH',
    headers: { ...auth, 'Content-Type': 'application/merge-patch+json', ...(ifMatch ? { 'If-Match': ifMatch } : {}) },
    body: JSON.stringify({ title: 'counted' }),
  });
  assert.equal((await patch(etag)).status, 200);
  assert.equal((await patch(etag)).status, 412, 'the same If-Match again: the version moved on');
  assert.equal((await patch(null)).status, 428);
  // Counters are summed over both children: any scrape sees all three.
  for (let i = 0; i < 4; i++) {
    const after = await scrape();
    assert.equal(writes(after, 'saved') - writes(before, 'saved'), 1);
    assert.equal(writes(after, 'conflict') - writes(before, 'conflict'), 1);
    assert.equal(writes(after, 'refused') - writes(before, 'refused'), 1);
    assert.equal(writes(after, 'unconfirmed'), writes(before, 'unconfirmed'));
  }
});

test('/server-status has the SSE section: ?auto lines and a per-child table', async () => {
  const auto = await get('/server-status?auto');
  assert.equal(auto.status, 200);
  const m = await scrape();
  for (const key of ['SSEStreamsOpen', 'SSEStreamsOpenSuspended', 'SSEStreamsOpenBlocking', 'SSEStreamsOpenedTotal',
    'SSEStreamsClosedTotal', 'SSEStreamRejectionsTotal', 'SSEPollsTotal', 'SSEStoreQueriesTotal',
    'SSEStoreErrorsTotal', 'SSEEventsSentTotal', 'SSEAuthFailuresTotal', 'SSESharedPollsTotal', 'SSEBatchedIdsTotal']) {
    assert.match(auto.body, new RegExp(`^${key}: \\d+$`, 'm'), key);
  }
  assert.match(auto.body, new RegExp(`^SSEStreamsOpen: ${openCount(m)}$`, 'm'));
  const html = await get('/server-status');
  assert.match(html.body, /<h2>mod_sse<\/h2>/);
  assert.match(html.body, new RegExp(`Streams open: ${openCount(m)} `));
  for (const pid of apache.children()) assert.match(html.body, new RegExp(`<td>${pid}</td>`), `row for child ${pid}`);
});

test('a real Prometheus server scrapes /metrics and reads mod_sse_streams_open back', async (t) => {
  const dir = tmpDir('sse-prometheus-');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mod_sse
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:${apache.port}']
`);
  const prom = spawn('/usr/bin/prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr.on('data', (d) => { log += d; });
  const exited = once(prom, 'exit');
  try {
    const query = async (q) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = await res.json();
      assert.equal(body.status, 'success', JSON.stringify(body));
      return body.data.result;
    };
    let result = [];
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      await sleep(1000);
      try { result = await query('sum(mod_sse_streams_open)'); } catch { result = []; }
      if (result.length && Number(result[0].value[1]) === STREAMS - CLOSED) break;
    }
    assert.equal(result.length, 1, `Prometheus has mod_sse_streams_open:\n${log.slice(-2000)}`);
    assert.equal(Number(result[0].value[1]), STREAMS - CLOSED);
    const up = await query('up{job="mod_sse"}');
    assert.equal(up[0].value[1], '1', 'target up');
    const modes = await query('mod_sse_streams_open');
    assert.deepEqual(modes.map((r) => r.metric.mode).sort(), ['blocking', 'suspended']);
    t.diagnostic(`Prometheus read sum(mod_sse_streams_open) = ${result[0].value[1]}`);
  } finally {
    prom.kill('SIGTERM');
    const timer = setTimeout(() => prom.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a child killed with SIGKILL leaves no open streams behind; its counters stay', async () => {
  const before = await scrape();
  const status = await get('/server-status?auto');
  const perChild = [...status.body.matchAll(/^SSEChild\d+: pid=(\d+) suspended=(\d+) blocking=(\d+)$/mg)]
    .map((m) => ({ pid: Number(m[1]), open: Number(m[2]) + Number(m[3]) }));
  const victim = perChild.find((c) => c.open > 0);
  assert.ok(victim, 'a child holding streams');
  process.kill(victim.pid, 'SIGKILL');
  let m;
  const deadline = Date.now() + 10000;
  do {
    await sleep(250);
    m = await scrape();
  } while (openCount(m) !== STREAMS - CLOSED - victim.open && Date.now() < deadline);
  assert.equal(openCount(m), STREAMS - CLOSED - victim.open, `the killed child's ${victim.open} streams are gone from the gauge`);
  for (const [k, v] of before) {
    if (k.startsWith('mod_sse_streams_open')) continue;
    assert.ok(m.get(k) >= v, `${k} did not go backwards (${v} -> ${m.get(k)})`);
  }
  await waitUntil(() => apache.children().length >= 2, 10000, 'the parent to replace the child');
  for (const s of streams) s.close();
  streams = [];
});

test('totals do not go backwards across a graceful restart', async (t) => {
  // A few streams open, so the restart has something to end with "shutdown".
  streams = await Promise.all(ids.slice(0, 6).map((id) => openStream(`${apache.url}/v1/meetings/${id}/events`, { token })));
  await Promise.all(streams.map((s) => s.next((e) => e.event === 'status')));
  let before;
  for (let i = 0; i < 40; i++) {
    before = await scrape();
    if (openCount(before) === 6) break;
    await sleep(250);
  }
  assert.equal(openCount(before), 6);
  const oldChildren = apache.children();
  const since = accessLog().length;
  apache.graceful();
  await Promise.all(streams.map((s) => s.next((e) => e.event === 'connectionLost', 10000)));
  await waitUntil(() => apache.children().some((pid) => !oldChildren.includes(pid)), 15000, 'a new generation');
  await sleep(500);
  const scrapes = await scrapeFromEveryChild();
  for (const m of scrapes) {
    for (const [k, v] of before) {
      if (k.startsWith('mod_sse_streams_open')) continue;
      assert.ok(m.get(k) >= v, `${k} did not go backwards across graceful (${v} -> ${m.get(k)})`);
    }
    assert.equal(closed(m, 'shutdown') - closed(before, 'shutdown'), 6);
    assert.equal(openCount(m), 0);
  }
  const answered = [...answeredBy('/metrics', since)].filter((pid) => !oldChildren.includes(pid));
  t.diagnostic(`after graceful (old children ${oldChildren.join(', ')}), scrapes answered by new children ${answered.join(', ')}`);
  assert.ok(answered.length >= 1, 'a new-generation child answered');
  streams = [];
});

test('/health/live stays 200 with the store killed while /health/ready is 503', async () => {
  assert.equal((await get('/health/live')).status, 200);
  assert.equal((await get('/health/ready')).status, 200);
  const queries = (await scrape()).get('mod_sse_store_queries_total');
  await store.kill();
  try {
    assert.equal((await get('/health/ready')).status, 503);
    const before = await scrape();
    for (let i = 0; i < 10; i++) {
      const live = await get('/health/live');
      assert.equal(live.status, 200);
      assert.deepEqual(JSON.parse(live.body), { status: 'live' });
    }
    const after = await scrape();
    assert.equal(after.get('mod_sse_store_queries_total'), before.get('mod_sse_store_queries_total'), '/health/live asks the store nothing');
    assert.ok(before.get('mod_sse_store_queries_total') > queries, 'the readiness ping counts as a query');
    assert.ok(after.get('mod_sse_store_errors_total') >= 1, 'the failed ping counts as a store error');
  } finally {
    await store.restart();
  }
});

test("the README's scrape config and alert rules pass promtool", async () => {
  const readme = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  const rules = blocks.find((b) => b.startsWith('groups:'));
  const scrape = blocks.find((b) => b.startsWith('scrape_configs:'));
  assert.ok(rules && scrape, 'README has both blocks');
  assert.match(rules, /mod_sse_streams_opened_total/);
  assert.match(rules, /mod_sse_store_errors_total/);
  const dir = tmpDir('sse-promtool-');
  fs.writeFileSync(path.join(dir, 'rules.yml'), rules);
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `${scrape}rule_files:\n  - rules.yml\n`);
  const child = spawn('/usr/bin/promtool', ['check', 'config', path.join(dir, 'prometheus.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out);
  assert.match(out, /SUCCESS: 2 rules found/);
});

test('blocking mode (mpm_worker): the stream counts as blocking while open, and its end is logged and counted', async () => {
  const worker = await startApache({
    storeUri: store.uri, secretFile, mpm: 'worker', pollInterval: '300ms', keepalive: '1s',
    threadsPerChild: 16, serverLimit: 1, startServers: 1, extra,
  });
  try {
    const scrapeWorker = async () => parse(await (await fetch(`${worker.url}/metrics`)).text());
    // The port opens before the child has logged its mode.
    await waitUntil(() => /\[sse:notice\].*streams run in blocking mode \(one worker thread each/.test(worker.errorLog()),
      5000, 'the notice naming the blocking mode');
    const s = await openStream(`${worker.url}/v1/meetings/p2/events`, { token });
    assert.equal(s.status, 200);
    await s.next((e) => e.event === 'status');
    let m = await scrapeWorker();
    assert.equal(m.get('mod_sse_streams_open{mode="blocking"}'), 1);
    assert.equal(m.get('mod_sse_streams_open{mode="suspended"}'), 0);
    s.close();
    await waitUntil(() => fs.existsSync(path.join(worker.dir, 'access.log'))
      && / client_gone \d+$/m.test(fs.readFileSync(path.join(worker.dir, 'access.log'), 'utf8')), 5000, 'the access-log line');
    m = await scrapeWorker();
    assert.equal(m.get('mod_sse_streams_open{mode="blocking"}'), 0);
    assert.equal(closed(m, 'client_gone'), 1);
  } finally {
    await worker.stop();
  }
});
