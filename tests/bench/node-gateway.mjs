// node-gateway.mjs: the design mod_sse replaces, as a benchmark baseline. A
// Node.js SSE gateway in the Express style: every connection verifies its
// token once, then runs its own setInterval that polls MongoDB for the
// document and writes `status` when updatedAt changes, plus keep-alives.
// Written with node:http and the official `mongodb` driver only.
//
//   node tests/bench/node-gateway.mjs --port P --store URI --secret-file F [--interval-ms 3000]
//
// Prints "node-gateway listening on 127.0.0.1:P" when ready.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { MongoClient } from 'mongodb';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, v, i, a) => (i % 2 ? acc : [...acc, [v.replace(/^--/, ''), a[i + 1]]]), []));
const intervalMs = Number(args['interval-ms'] || 3000);
const keepaliveMs = 15000;
const secret = fs.readFileSync(args['secret-file']);

function verify(token) {
  const [h, p, sig] = String(token || '').split('.');
  if (!sig) return null;
  const want = crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  if (want.length !== sig.length || !crypto.timingSafeEqual(Buffer.from(want), Buffer.from(sig))) return null;
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  return claims.exp * 1000 > Date.now() ? claims : null;
}

const client = new MongoClient(args.store, { directConnection: true, maxPoolSize: 100 });
await client.connect();
const meetings = client.db('meetings_app').collection('meetings');

const server = http.createServer(async (req, res) => {
  const m = req.url.match(/^\/v1\/meetings\/([A-Za-z0-9_-]{1,128})\/events$/);
  if (!m) { res.writeHead(404).end(); return; }
  const claims = verify((req.headers.authorization || '').replace(/^Bearer /, ''));
  if (!claims) { res.writeHead(401).end(); return; }
  const id = m[1];
  let doc = await meetings.findOne({ _id: id });
  if (!doc || doc.ownerId !== claims.sub) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
  const version = (d) => d.updatedAt.toISOString();
  let last = version(doc);
  let lastWrite = Date.now();
  const send = (text) => { res.write(text); lastWrite = Date.now(); };
  send(`retry: 5000\n\nevent: connected\ndata: ${JSON.stringify({ resource: id, pollInterval: intervalMs })}\n\n`);
  send(`id: ${last}\nevent: status\ndata: ${JSON.stringify(doc)}\n\n`);
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      doc = await meetings.findOne({ _id: id });
      if (doc && version(doc) !== last) {
        last = version(doc);
        send(`id: ${last}\nevent: status\ndata: ${JSON.stringify(doc)}\n\n`);
      }
      else if (Date.now() - lastWrite >= keepaliveMs) {
        send(': ping\n\n');
      }
    } catch { /* store error: try again next tick */ }
    busy = false;
  }, intervalMs);
  req.on('close', () => clearInterval(timer));
});
server.keepAliveTimeout = 5000;
server.headersTimeout = 10000;
server.requestTimeout = 0;
server.listen(Number(args.port), '127.0.0.1', () => {
  console.log(`node-gateway listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', async () => { server.close(); await client.close(true); process.exit(0); });
