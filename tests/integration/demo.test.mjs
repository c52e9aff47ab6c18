// `make run`'s demo (ci/run-demo.mjs): meeting m1 keeps moving, so a 10 s
// stream shows at least two status changes, and Ctrl-C (SIGINT) stops
// everything and leaves no temporary directory behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, freePort, openStream } from '../lib/harness.mjs';

test('the demo: a 10 s curl of m1 sees at least two status changes; Ctrl-C removes its temp directory', async () => {
  const port = await freePort();
  const demo = spawn('node', ['ci/run-demo.mjs'], { cwd: ROOT, env: { ...process.env, SSE_DEMO_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  demo.stdout.on('data', (d) => { out += d; });
  demo.stderr.on('data', (d) => { out += d; });
  const exited = once(demo, 'exit');
  try {
    const deadline = Date.now() + 20000;
    let m;
    while (!(m = out.match(/curl -N -H "Authorization: Bearer ([^"]+)" (\S+)/))) {
      assert.ok(demo.exitCode === null && Date.now() < deadline, `the demo printed no curl line:\n${out}`);
      await sleep(100);
    }
    const serverRoot = out.match(/error log (\/\S+)\/error\.log/)[1];
    assert.ok(fs.existsSync(serverRoot));

    const stream = await openStream(m[2], { token: m[1] });
    assert.equal(stream.status, 200);
    await sleep(10000);
    stream.close();
    const statuses = stream.events.filter((e) => e.event === 'status').map((e) => e.json.status);
    const changes = statuses.filter((s, i) => i > 0 && s !== statuses[i - 1]).length;
    assert.ok(changes >= 2, `at least two status changes in 10 s: ${statuses.join(' -> ')}`);

    demo.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0, out);
    assert.ok(!fs.existsSync(serverRoot), `${serverRoot} is removed`);
  } finally {
    if (demo.exitCode === null) { demo.kill('SIGKILL'); await exited; }
  }
});
