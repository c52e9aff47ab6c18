// A short run of every libFuzzer target in tests/fuzz/ (ci/fuzz.sh builds
// each with clang, ASan and UBSan): a crash, a sanitizer report, a leak or a
// target that fails to build fails its test. `make fuzz` runs each for 60 s;
// here FUZZ_SMOKE_SECONDS (default 10) keeps `make test` short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../lib/harness.mjs';

const SECONDS = Number(process.env.FUZZ_SMOKE_SECONDS || 10);
const targets = fs.readdirSync(path.join(ROOT, 'tests/fuzz'))
  .filter((f) => /^fuzz_[a-z0-9_]+\.c$/.test(f))
  .map((f) => f.slice(0, -2))
  .sort();

test('there are fuzz targets to run', () => {
  assert.ok(targets.length >= 4, `targets: ${targets}`);
});

for (const target of targets) {
  test(`${target} runs ${SECONDS} s under ASan+UBSan without a crash`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
    const child = spawn('bash', [path.join(ROOT, 'ci/fuzz.sh'), String(SECONDS), target], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, `ci/fuzz.sh ${SECONDS} ${target} failed:\n${out}`);
    const m = out.match(new RegExp(`${target}: (\\d+) executions`));
    assert.ok(m, `no execution count in:\n${out}`);
    assert.ok(Number(m[1]) >= 1000, `${target} ran only ${m[1]} inputs`);
    t.diagnostic(out.trim().split('\n').pop());
  });
}
