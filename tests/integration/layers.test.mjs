// The module's layers (ci/check-layers.mjs): the include graph of mod_sse/ has no circle and no
// arrow that runs up, and the checker does catch both when they are planted in a copy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLayers } from '../../ci/check-layers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = path.join(ROOT, 'mod_sse');

function copyOfSources() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sse-layers-'));
  for (const f of fs.readdirSync(SRC).filter((n) => /\.(c|h)$/.test(n))) {
    fs.copyFileSync(path.join(SRC, f), path.join(dir, f));
  }
  return dir;
}

test('mod_sse/ has no include circle and no arrow up', () => {
  assert.deepEqual(checkLayers(SRC), []);
});

test('the checker finds a planted arrow up, a planted circle and an unplaced file', () => {
  const dir = copyOfSources();
  try {
    // sse_config.c (config) including sse_stream.h (handlers): up.
    fs.appendFileSync(path.join(dir, 'sse_config.c'), '\n#include "sse_stream.h"\n');
    // sse_stream.c <-> sse_collection.c: a circle inside one layer.
    fs.appendFileSync(path.join(dir, 'sse_stream.c'), '\n#include "sse_collection.h"\n');
    fs.writeFileSync(path.join(dir, 'sse_new.c'), '#include "sse_config.h"\n');
    const problems = checkLayers(dir);
    assert.ok(problems.some((p) => /sse_config\.c \(config\) includes sse_stream\.h \(handlers\)/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /circle: .*sse_stream -> sse_collection -> sse_stream|circle: .*sse_collection -> sse_stream -> sse_collection/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /sse_new\.c: in no layer/.test(p)), problems.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
