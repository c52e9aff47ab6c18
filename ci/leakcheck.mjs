// leakcheck.mjs: behind `make leakcheck`. Runs Debian's apache2 in one
// process (-X) under valgrind memcheck with mod_sse, opens and closes
// LEAK_CYCLES (default 1000) streams against mock-store, stops Apache so
// every pool cleanup runs, and reads valgrind's leak records. Exits 1 if any
// "definitely lost" record has a mod_sse frame (the figure that must be 0);
// the process-wide totals are printed too. Suppressions for one-time
// allocations of httpd, libmongoc and OpenSSL, if any are needed, live in
// ci/leakcheck.supp.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, startMockStore, mintToken, tmpDir, freePort, waitForPort, TEST_SECRET, openStream, storeClient } from '../tests/lib/harness.mjs';
import { renderApacheConf } from '../tests/lib/apache-conf.mjs';

const CYCLES = Number(process.env.LEAK_CYCLES || 1000);
const PARALLEL = Number(process.env.LEAK_PARALLEL || 8);
const ids = Array.from({ length: 20 }, (_, i) => `k${i}`);
const data = {
  meetings_app: {
    meetings: ids.map((id, i) => ({ _id: id, ownerId: 'alice', status: 'uploaded', progress: i, title: `leak ${i}`, updatedAt: { $date: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString() } })),
  },
};

const store = await startMockStore({ data });
const dir = tmpDir('sse-leakcheck-');
fs.chmodSync(dir, 0o755);
const secretFile = path.join(dir, 'jwt.secret');
fs.writeFileSync(secretFile, TEST_SECRET);
const port = await freePort();
const confFile = path.join(dir, 'httpd.conf');
fs.writeFileSync(confFile, renderApacheConf({
  root: process.env.LEAK_MODULE_ROOT || ROOT, dir, port, secretFile, docRoot: path.join(ROOT, 'frontend'), storeUri: store.uri,
  pollInterval: '200ms', keepalive: '1s', threadsPerChild: 16, serverLimit: 1, startServers: 1, logLevel: 'warn',
  maxStreamsPerUser: 0,     // closed streams are released at their next tick; cycles outrun that
}));
const vgLog = path.join(dir, 'valgrind.log');
const supp = path.join(ROOT, 'ci/leakcheck.supp');
const vgArgs = ['--tool=memcheck', '--leak-check=full', '--show-leak-kinds=definite,indirect',
  '--errors-for-leak-kinds=definite', '--num-callers=40', '--keep-debuginfo=yes', `--log-file=${vgLog}`, '--trace-children=no'];
if (fs.existsSync(supp)) vgArgs.push(`--suppressions=${supp}`);
console.log(`leakcheck: apache2 -X under valgrind on 127.0.0.1:${port}, ${CYCLES} stream cycles (log ${vgLog})`);
const t0 = Date.now();
const apache = spawn('valgrind', [...vgArgs, '/usr/sbin/apache2', '-X', '-f', confFile], { stdio: ['ignore', 'inherit', 'inherit'] });
await waitForPort(port, 120000);

const token = await mintToken({ sub: 'alice' });
let done = 0, bad = 0, resumed = 0, errorEvents = 0;
// Mostly open/first status/close; every 10th stays for a second (polls and
// keep-alives), every 25th is refused (401 bad token, 404 no document), and
// for a while in the middle every find fails (error events).
async function cycle(n) {
  const id = n % 25 === 2 ? 'missing' : ids[n % ids.length];
  if (n % 25 === 1 || n % 25 === 2) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/meetings/${id}/events`, { headers: { Authorization: `Bearer ${n % 25 === 1 ? token.slice(0, -4) + 'AAAA' : token}` } });
    await res.arrayBuffer();
    if (res.status !== (n % 25 === 1 ? 401 : 404) && res.status !== 503) bad++;
    done++;
    return;
  }
  // Every fourth resumes with the version it already has (no first status).
  const resume = n % 4 === 3;
  const s = await openStream(`http://127.0.0.1:${port}/v1/meetings/${id}/events`, {
    token, lastEventId: resume ? new Date(Date.UTC(2026, 10, 25, 9, 0, 0, n % ids.length)).toISOString() : undefined,
  });
  try {
    if (s.status === 503) return;       // the failing phase, at stream start
    if (s.status !== 200) { bad++; return; }
    if (resume) { await s.next((e) => e.event === 'connected', 30000); resumed++; }
    else await s.next((e) => e.event === 'status', 30000);
    if (n % 10 === 0) await sleep(1000);
  } catch { bad++; } finally { s.close(); done++; errorEvents += s.events.filter((e) => e.event === 'error').length; }
}
let next = 0;
const failing = (async () => {
  while (next < CYCLES / 2) await sleep(50);
  const mongo = await storeClient(store.uri);
  const admin = mongo.db('admin');
  await admin.command({ configureFailPoint: 'failCommand', mode: 'alwaysOn', data: { failCommands: ['find'], errorCode: 91, appName: 'mod_sse' } });
  await sleep(1500);
  await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
  await mongo.close();
})();
await Promise.all(Array.from({ length: PARALLEL }, async () => {
  while (next < CYCLES) {
    const n = next++;
    await cycle(n);
    if (done % 100 === 0) process.stdout.write(`  ${done} cycles\n`);
  }
}));
await failing;
const cyclesMs = Date.now() - t0;
// Let every stream notice its client left, then stop: pool cleanups run.
await sleep(2000);
apache.kill('SIGTERM');
const timer = setTimeout(() => apache.kill('SIGKILL'), 120000);
await once(apache, 'exit');
clearTimeout(timer);
await store.stop();

const log = fs.readFileSync(vgLog, 'utf8');
const summary = (kind) => {
  const m = log.match(new RegExp(`${kind}: ([\\d,]+) bytes in ([\\d,]+) blocks`));
  return m ? `${m[1]} bytes in ${m[2]} blocks` : '0 bytes in 0 blocks';
};
// Loss records: "N bytes in M blocks are definitely lost in loss record ..."
// followed by its stack, up to a blank "==pid== " line.
const records = log.split(/\n==\d+== \n/).filter((r) => /are definitely lost in loss record/.test(r));
const ours = records.filter((r) => /mod_sse\.so|\(sse_[a-z_]+\.c:\d+\)|: sse_/.test(r));
const errors = log.match(/ERROR SUMMARY: (\d+) errors/);
console.log(`leakcheck: ${done} cycles (${resumed} resumed with Last-Event-ID, ${errorEvents} store error events, ${bad} failed) in ${(cyclesMs / 1000).toFixed(0)} s`);
console.log(`  definitely lost (whole process): ${summary('definitely lost')}`);
console.log(`  indirectly lost (whole process): ${summary('indirectly lost')}`);
console.log(`  possibly lost:                   ${summary('possibly lost')}`);
console.log(`  still reachable:                 ${summary('still reachable')}`);
console.log(`  suppressed:                      ${summary('suppressed')}`);
console.log(`  definitely-lost records with a mod_sse frame: ${ours.length}`);
console.log(`  valgrind ${errors ? errors[0] : 'ERROR SUMMARY missing'}`);
for (const r of ours.slice(0, 5)) console.log(r);
if (!/LEAK SUMMARY|All heap blocks were freed/.test(log)) {
  console.log('leakcheck: valgrind wrote no leak summary (did apache2 exit normally?)');
  process.exit(1);
}
process.exit(ours.length === 0 && bad === 0 ? 0 : 1);
