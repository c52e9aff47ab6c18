// run-demo.mjs: the demo behind `make run`. Starts mock-store (demo data,
// status simulator) and Debian's apache2 with mod_sse on 127.0.0.1:8080,
// prints a ready link with a demo token, and on Ctrl-C stops both and
// removes Apache's temporary ServerRoot.
import fs from 'node:fs';
import path from 'node:path';
import { startMockStore, startApache, ROOT } from '../tests/lib/harness.mjs';
import { mintHS256 } from './mint-token.mjs';

const PORT = Number(process.env.SSE_DEMO_PORT || 8080);
const secretFile = path.join(ROOT, 'conf/demo/jwt.secret');

// A step every 3 s, m1 starting over once ready, and a 1 s poll: any 10 s of
// m1's stream holds at least two status changes.
const TICK_SECONDS = 3;
const store = await startMockStore({ simulate: `meetings_app.meetings:${TICK_SECONDS}`, extraArgs: ['--loop', 'm1'] });
let apache;
try {
  apache = await startApache({ storeUri: store.uri, port: PORT, secretFile, logLevel: 'warn', pollInterval: '1s' });
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

console.log(`mock-store  ${store.uri}  (pid ${store.pid}, demo data, simulator every ${TICK_SECONDS} s)`);
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
console.log(`The simulator moves every meeting one step each ${TICK_SECONDS} s; m1 starts over once`);
console.log('ready, so the page always has something to show. Ctrl-C stops both.');

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  await apache.stop();
  await store.stop();
  fs.rmSync(apache.dir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
setInterval(() => {}, 1 << 30);
