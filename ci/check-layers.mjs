#!/usr/bin/env node
// ci/check-layers.mjs [dir]: checks that the #include "sse_*.h" graph of mod_sse/*.c and *.h has no
// circle and no arrow that runs up: a file includes only files of its own layer or below, and the
// files of one layer include each other without a circle. Prints the layers (bottom to top) and
// exits 1 on a violation, or when a file is in no layer (a new file must be placed).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Bottom to top. A module is a .c and its .h (sse_jwt_keys.c and sse_jwt_internal.h are sse_jwt's).
export const LAYERS = [
  ['pure', 'sse_b64url sse_jwt sse_jwt_keys sse_jwt_internal sse_json sse_event sse_duration sse_patch ' +
           'sse_collection_set sse_heap sse_etag sse_store_breaker sse_share'],
  ['config', 'sse_config sse_update_conf sse_config_check'],
  ['query', 'sse_query'],
  ['process', 'sse_metrics sse_limits sse_conn'],
  ['io', 'sse_http sse_store sse_sched'],
  ['request', 'sse_auth sse_resolve'],
  ['handlers', 'sse_stream sse_rest sse_status sse_collection sse_update'],
  ['glue', 'mod_sse'],
].map(([name, files]) => ({ name, files: files.split(' ') }));

// Files that belong to another file's module: no circle is counted between them.
const MODULE_OF = {
  sse_jwt_keys: 'sse_jwt', sse_jwt_internal: 'sse_jwt',
  sse_update_conf: 'sse_config', sse_config_check: 'sse_config',
};
const moduleOf = (stem) => MODULE_OF[stem] || stem;

export function checkLayers(dir) {
  const layerOf = new Map();
  LAYERS.forEach((l, i) => l.files.forEach((f) => layerOf.set(f, i)));
  const problems = [];
  const edges = new Map();          // module -> Set of the modules it includes
  const files = fs.readdirSync(dir).filter((f) => /\.(c|h)$/.test(f));
  for (const f of files) {
    const stem = f.replace(/\.(c|h)$/, '');
    if (!layerOf.has(stem)) problems.push(`${f}: in no layer (add it to ci/check-layers.mjs)`);
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of text.matchAll(/^\s*#\s*include\s+"([^"]+)\.h"/gm)) {
      const to = m[1];
      if (moduleOf(to) !== moduleOf(stem)) {
        if (!edges.has(moduleOf(stem))) edges.set(moduleOf(stem), new Set());
        edges.get(moduleOf(stem)).add(moduleOf(to));
      }
      if (!layerOf.has(to)) {
        if (files.includes(`${to}.h`)) problems.push(`${f} includes ${to}.h, which is in no layer`);
        continue;
      }
      if (layerOf.has(stem) && layerOf.get(to) > layerOf.get(stem)) {
        problems.push(`${f} (${LAYERS[layerOf.get(stem)].name}) includes ${to}.h ` +
                      `(${LAYERS[layerOf.get(to)].name}): an arrow up`);
      }
    }
  }
  // Circles: depth-first search over the stems.
  const state = new Map();          // stem -> 1 on the stack, 2 done
  const stack = [];
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const to of edges.get(n) || []) {
      if (state.get(to) === 1) problems.push(`a circle: ${[...stack.slice(stack.indexOf(to)), to].join(' -> ')}`);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of edges.keys()) if (!state.has(n)) visit(n);
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'mod_sse');
  LAYERS.forEach((l, i) => console.log(`${i} ${l.name.padEnd(9)} ${l.files.join(' ')}`));
  const problems = checkLayers(dir);
  for (const p of problems) console.log(`LAYERS: ${p}`);
  console.log(problems.length ? `${problems.length} problem(s)` : 'no circle, no arrow up');
  process.exit(problems.length ? 1 : 0);
}
