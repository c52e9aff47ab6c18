// run-demo.mjs: the demo behind `make run`. Starts mock-store (demo data,
// status simulator) and Debian's apache2 with mod_sse on 127.0.0.1:8080,
// prints a ready link with a demo token, and stops both on Ctrl-C.
import fs from 'node:fs';
import path from 'node:path';
import { startMockStore, startApache, storeClient, ROOT } from '../tests/lib/harness.mjs';
import { mintHS256 } from './mint-token.mjs';

const PORT = Number(process.env.SSE_DEMO_PORT || 8080);
const secretFile = path.join(ROOT, 'conf/demo/jwt.secret');

const store = await startMockStore({ simulate: 'meetings_app.meetings:5' });
let apache;
try {
  apache = await startApache({ storeUri: store.uri, port: PORT, secretFile, logLevel: 'warn' });
} catch (e) {
  await store.stop();
  console.error(`could not start Apache on 127.0.0.1:${PORT}: ${e.message.split('\n')[0]}`);
  console.error('is something else on that port? try SSE_DEMO_PORT=8081 make run');
  process.exit(1);
}

const secret = fs.readFileSync(secretFile);
const now = Math.floor(Date.now() / 1000);
const token = (sub) => mintHS256(secret, { sub, iat: now, exp: now + 8 * 3600 });
const alice = token('alice');

console.log(`mock-store  ${store.uri}  (pid ${store.pid}, demo data, simulator every 5 s)`);
console.log(`apache2     ${apache.url}  (pid ${apache.pid}, error log ${apache.errorLogPath})`);
console.log('');
console.log('Open the live meeting page (token for user "alice", valid 8 h):');
console.log(`  ${apache.url}/meetings.html?id=m1#token=${alice}`);
console.log('All of alice\'s meetings, live, on one stream ("My meetings"):');
console.log(`  ${apache.url}/#token=${alice}`);
console.log('');
console.log('Or watch the raw stream:');
console.log(`  curl -N -H "Authorization: Bearer ${alice}" ${apache.url}/v1/meetings/m1/events`);
console.log(`  curl -N -H "Authorization: Bearer ${alice}" ${apache.url}/v1/meetings/events`);
console.log('');
console.log('The simulator moves every meeting one step each 5 s; m1 starts over every 45 s');
console.log('so the page keeps something to show. Ctrl-C stops both.');

// Keep the demo alive: once m1 is done, put it back at the start.
const mongo = await storeClient(store.uri);
const restartTimer = setInterval(() => {
  mongo.db('meetings_app').collection('meetings')
    .updateOne({ _id: 'm1' }, { $set: { status: 'uploaded', progress: 0, updatedAt: new Date() } })
    .catch(() => {});
}, 45000);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  clearInterval(restartTimer);
  await mongo.close().catch(() => {});
  await apache.stop();
  await store.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
setInterval(() => {}, 1 << 30);
