// h2_load.mjs: the benchmark's load client for HTTP/2 (h2c, prior
// knowledge) with Node's built-in http2 client: N streams over
// ceil(N / per-conn) connections, stream i watching document <prefix>(i % K).
// It writes the same stats file as sse_load.c (load.<pid>.json in
// --stats-dir, every second): counters and a 1 ms latency histogram of
// change -> client, measured against the event id (the document's
// updatedAt, which the benchmark sets to the moment it writes).
//
// mod_http2 2.0 starts at most 6 requests at once on a new connection and
// raises that only as requests on it complete (see README, Sizing), so each
// connection first makes a few short requests, as a page load would.
//
//   node h2_load.mjs --port P --streams N --docs K --token-file F --stats-dir D
//                    [--per-conn 80] [--doc-prefix b]
import http2 from 'node:http2';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const port = Number(args.port);
const total = Number(args.streams);
const docs = Number(args.docs || 100);
const perConn = Number(args['per-conn'] || 80);
const prefix = args['doc-prefix'] || 'b';
const token = fs.readFileSync(args['token-file'], 'utf8').trim();
const statsDir = args['stats-dir'];
const HIST_MS = 60000;

const st = { connected: 0, failed: 0, closed: 0, statuses: 0, changes: 0, lost: 0, hist: new Uint32Array(HIST_MS) };
const sessions = [];

function writeStats() {
  const hist = [];
  st.hist.forEach((n, ms) => { if (n) hist.push([ms, n]); });
  const file = path.join(statsDir, `load.${process.pid}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, ...st, hist }));
  fs.renameSync(`${file}.tmp`, file);
}

function openStream(session, doc) {
  const opened = Date.now();
  const req = session.request({ ':path': `/v1/meetings/${prefix}${doc}/events`, authorization: `Bearer ${token}` });
  let buf = '';
  req.setEncoding('utf8');
  req.on('response', (h) => { if (h[':status'] === 200) st.connected++; else st.failed++; });
  req.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('id: ')) {
        const t = Date.parse(line.slice(4));
        st.statuses++;
        if (t > opened) {
          st.changes++;
          st.hist[Math.min(HIST_MS - 1, Math.max(0, Date.now() - t))]++;
        }
      }
      else if (line === 'event: connectionLost') st.lost++;
    }
  });
  req.on('error', () => {});
  req.on('close', () => { st.closed++; });
}

async function connection(first, count) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  sessions.push(session);
  session.on('error', () => {});
  for (let i = 0; i < 24; i++) {
    await new Promise((resolve) => {
      const r = session.request({ ':path': '/health/ready' });
      r.resume();
      r.on('close', resolve);
      r.end();
    });
    await sleep(120);
  }
  for (let i = 0; i < count; i++) openStream(session, (first + i) % docs);
}

const timer = setInterval(writeStats, 1000);
process.on('SIGTERM', () => {
  clearInterval(timer);
  writeStats();
  for (const s of sessions) s.destroy();
  process.exit(0);
});
const conns = [];
for (let first = 0; first < total; first += perConn) conns.push(connection(first, Math.min(perConn, total - first)));
await Promise.all(conns);
writeStats();
