// harness.mjs: starts the real parts a test needs (mock-store, Debian's
// apache2 with mod_sse, HAProxy) on 127.0.0.1, each from the test itself and
// each stopped by its PID; mints tokens with `jose` (a library we did not
// write); and reads SSE streams with `eventsource-parser`.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { MongoClient } from 'mongodb';
import { createParser } from 'eventsource-parser';
import { renderApacheConf } from './apache-conf.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MOCK_STORE = path.join(ROOT, 'mock-store/mock-store');
export const MODULE = path.join(ROOT, 'mod_sse/mod_sse.so');
export const demoDataPath = path.join(ROOT, 'conf/demo/meetings.json');

// One HMAC secret per test process; every Apache the harness starts trusts it.
export const TEST_SECRET = Buffer.from('mod_sse test secret, not for production use!!');

const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

export function tmpDir(prefix = 'sse-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

export async function waitForPort(port, timeoutMs = 10000, host = '127.0.0.1') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, host);
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child, signal = 'SIGTERM', timeoutMs = 10000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  try { process.kill(child.pid, signal); } catch { return; }
  const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
  await exited;
  clearTimeout(timer);
}

// ------------------------------------------------------------------ mock-store

export async function startMockStore({ data = demoDataPath, simulate, port = 0, extraArgs = [] } = {}) {
  let dataFile = data;
  if (data && typeof data === 'object') {
    dataFile = path.join(tmpDir('sse-data-'), 'data.json');
    fs.writeFileSync(dataFile, JSON.stringify(data));
  }
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--quiet'];
  if (dataFile) args.push('--data', dataFile);
  if (simulate) args.push('--simulate', simulate);
  args.push(...extraArgs);

  const start = async (onPort) => {
    const child = track(spawn(MOCK_STORE, args.map((a, i) => (args[i - 1] === '--port' ? String(onPort) : a)),
      { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const chosen = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`mock-store did not start: ${stderr}`)), 10000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/mock-store listening on [\d.]+:(\d+)/);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`mock-store exited ${code}: ${stderr}`)); });
    });
    return { child, chosen };
  };

  let { child, chosen } = await start(port);
  const store = {
    port: chosen,
    get pid() { return child.pid; },
    uri: `mongodb://127.0.0.1:${chosen}`,
    // Stops it by PID; `restart()` brings it back on the same port (data reset).
    async stop() { await stopChild(child); },
    async kill() { await stopChild(child, 'SIGKILL'); },
    async restart() { ({ child } = await start(chosen)); },
  };
  return store;
}

export async function storeClient(uri) {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000, directConnection: true });
  await client.connect();
  return client;
}

// Store-side query counters, as mongod reports them.
export async function opcounters(uri) {
  const client = await storeClient(uri);
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    const c = status.opcounters;
    return { query: Number(c.query), command: Number(c.command), update: Number(c.update) };
  } finally {
    await client.close();
  }
}

// ------------------------------------------------------------------ Apache

// Starts Debian's apache2 in the foreground with a generated config.
// `opts` go to renderApacheConf (storeUri, pollInterval, keepalive, leeway,
// maxLifetime, mpm, locationExtra, extra, timeout, threadsPerChild...).
export async function startApache(opts = {}) {
  const dir = tmpDir('sse-apache-');
  fs.chmodSync(dir, 0o755);
  const port = opts.port || await freePort();
  const secretFile = opts.secretFile || path.join(dir, "jwt.secret");
  if (!opts.secretFile) fs.writeFileSync(secretFile, TEST_SECRET);
  const confFile = path.join(dir, 'httpd.conf');
  const conf = renderApacheConf({ root: ROOT, dir, port, secretFile, docRoot: servableDocRoot(dir), ...opts });
  fs.writeFileSync(confFile, conf);
  const errorLogPath = path.join(dir, 'error.log');

  let child = null;
  const apache = {
    port, dir, confFile, errorLogPath,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    get pid() { return child && child.pid; },
    errorLog() { try { return fs.readFileSync(errorLogPath, 'utf8'); } catch { return ''; } },
    async start() {
      child = track(spawn('/usr/sbin/apache2', ['-f', confFile, '-DFOREGROUND'], { stdio: ['ignore', 'pipe', 'pipe'] }));
      apache.lastStartOutput = () => output;
      let output = '';
      child.stdout.on('data', (d) => { output += d; });
      child.stderr.on('data', (d) => { output += d; });
      const modeLines = () => (apache.errorLog().match(/mod_sse: child \d+: streams run/g) || []).length;
      const modesBefore = modeLines();
      const died = once(child, 'exit').then(([code]) => { throw new Error(`apache2 exited ${code}: ${output}\n${apache.errorLog()}`); });
      await Promise.race([waitForPort(port, 15000), died]);
      died.catch(() => {});
      // The parent listens before it forks: wait (briefly) until a child has
      // started and logged its mode, so tests see children and mode lines.
      for (const until = Date.now() + 5000; modeLines() === modesBefore && Date.now() < until;) await sleep(20);
    },
    // SIGTERM: stop now. SIGWINCH: graceful stop. SIGUSR1: graceful restart.
    async stop() { if (child) await stopChild(child, 'SIGTERM', 15000); },
    async gracefulStop() { if (child) await stopChild(child, 'SIGWINCH', 30000); },
    graceful() { process.kill(child.pid, 'SIGUSR1'); },
    async kill() {
      if (!child) return;
      // SIGKILL the parent and every child of it: an instance that dies at once.
      const kids = childPids(child.pid);
      await stopChild(child, 'SIGKILL');
      for (const pid of kids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    },
    children() { return child ? childPids(child.pid) : []; },
  };
  try {
    await apache.start();
  } catch (e) {
    // freePort() gives the port back before Apache binds it; if something
    // took it meanwhile, try once more on a new one (unless it was asked for).
    if (opts.port || !/Address already in use/.test(e.message)) throw e;
    return startApache({ ...opts, port: await freePort() });
  }
  return apache;
}

// Apache's children run as www-data when the tests run as root. If the
// checkout sits where www-data cannot reach (a 0700 home directory), serve a
// copy of frontend/ from the instance's own world-readable directory.
function servableDocRoot(dir) {
  const docRoot = path.join(ROOT, 'frontend');
  if (!(process.getuid && process.getuid() === 0)) return docRoot;
  let reachable = true;
  for (let p = docRoot; p !== path.dirname(p); p = path.dirname(p)) {
    if ((fs.statSync(p).mode & 0o005) !== 0o005) { reachable = false; break; }
  }
  if (reachable) return docRoot;
  const copy = path.join(dir, 'frontend');
  fs.cpSync(docRoot, copy, { recursive: true });
  fs.chmodSync(copy, 0o755);
  return copy;
}

export function childPids(ppid) {
  const out = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(entry));
    } catch { /* raced with exit */ }
  }
  return out;
}

// `apachectl -t` equivalent on a config text; returns { code, output }.
export async function configTest(confText) {
  const dir = tmpDir('sse-conftest-');
  const file = path.join(dir, 'httpd.conf');
  fs.writeFileSync(file, confText);
  const child = spawn('/usr/sbin/apache2', ['-t', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const [code] = await once(child, 'exit');
  return { code, output };
}

// A throw-away self-signed certificate for 127.0.0.1 and localhost, made
// with the openssl command line; returns { certFile, keyFile } (readable by
// Apache's children).
export function selfSignedCert() {
  const dir = tmpDir('sse-cert-');
  fs.chmodSync(dir, 0o755);
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req -x509 failed: ${r.stderr}`);
  fs.chmodSync(keyFile, 0o644);
  return { certFile, keyFile };
}

// The test HMAC secret in a file every Apache child can read.
export function testSecretFile() {
  const dir = tmpDir('sse-secret-');
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, 'secret');
  fs.writeFileSync(file, TEST_SECRET);
  return file;
}

// ------------------------------------------------------------------ tokens

export async function mintToken({ sub = 'alice', expSeconds = 3600, claims = {}, secret = TEST_SECRET, alg = 'HS256', header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub, ...claims })
    .setProtectedHeader({ alg, typ: 'JWT', ...header })
    .setIssuedAt(now)
    .setExpirationTime(now + expSeconds)
    .sign(secret);
}

// ------------------------------------------------------------------ SSE client

// Opens a stream the way the frontend does (fetch + bearer header) and parses
// it with eventsource-parser. `events` fills as they arrive.
// The parser that fills a stream record (events with their arrival time,
// comments, retry) and wakes the waiters of its next(); shared by the HTTP/1.1
// reader here and the HTTP/2 one in h2-client.mjs.
export function streamParser(stream) {
  return createParser({
    onEvent(ev) {
      const e = { event: ev.event || 'message', id: ev.id, data: ev.data, at: Date.now() };
      try { e.json = JSON.parse(ev.data); } catch { /* not JSON */ }
      stream.events.push(e);
      for (const w of [...stream.waiters]) {
        if (stream.events.indexOf(e) >= w.from && w.pred(e)) {
          clearTimeout(w.timer);
          stream.waiters.splice(stream.waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    },
    onComment(c) { stream.comments.push({ text: c, at: Date.now() }); },
    onRetry(ms) { stream.retry = ms; },
  });
}

export async function openStream(url, { token, lastEventId, headers = {} } = {}) {
  const controller = new AbortController();
  const h = { Accept: 'text/event-stream', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (lastEventId) h['Last-Event-ID'] = lastEventId;
  const res = await fetch(url, { headers: h, signal: controller.signal });
  const stream = {
    status: res.status,
    headers: res.headers,
    events: [],
    comments: [],
    retry: null,
    raw: '',
    ended: false,
    waiters: [],
    close() { controller.abort(); },
    // Resolves with the first event (after index `from`) matching `pred`.
    next(pred = () => true, timeoutMs = 10000, from = 0) {
      const found = stream.events.slice(from).find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { pred, from, resolve, reject };
        waiter.timer = setTimeout(() => {
          stream.waiters.splice(stream.waiters.indexOf(waiter), 1);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(stream.events.map((e) => e.event))}`));
        }, timeoutMs);
        stream.waiters.push(waiter);
      });
    },
    // Resolves when the server ends the stream.
    done: null,
  };
  if (res.status !== 200 || !res.body) {
    stream.body = await res.text();
    stream.ended = true;
    stream.endedBy = 'server';
    stream.done = Promise.resolve();
    stream.closedByServerWithin = async () => true;
    return stream;
  }
  const parser = streamParser(stream);
  const decoder = new TextDecoder();
  stream.done = (async () => {
    try {
      for await (const chunk of res.body) {
        const text = decoder.decode(chunk, { stream: true });
        stream.raw += text;
        parser.feed(text);
      }
      stream.endedBy = 'server';        // a clean end of the response
    } catch {
      stream.endedBy = 'error';         // aborted by us, or reset
    }
    stream.ended = true;
  })();
  // Resolves true when the server ended the response within `ms`.
  stream.closedByServerWithin = async (ms) => {
    let timer;
    const inTime = await Promise.race([
      stream.done.then(() => true),
      new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
    ]);
    clearTimeout(timer);
    return inTime && stream.endedBy === 'server';
  };
  return stream;
}
