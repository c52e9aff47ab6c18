#!/usr/bin/env node
// mint-token.mjs: signs a demo/test JWT (HS256) with node:crypto alone.
//
//   node ci/mint-token.mjs --secret-file conf/demo/jwt.secret --sub alice \
//        [--ttl 3600] [--aud meetings-api] [--iss demo] [--claim k=v ...]
//
// For development only: production tokens come from your identity provider.
import crypto from 'node:crypto';
import fs from 'node:fs';

export function mintHS256(secret, claims) {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  const sig = crypto.createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${sig}`;
}

const USAGE = 'usage: mint-token.mjs --secret-file FILE --sub SUBJECT [--ttl SECONDS] [--aud AUD] [--iss ISS] [--claim k=v]';

function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const opts = { ttl: 3600, claim: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in { 'secret-file': 1, sub: 1, ttl: 1, aud: 1, iss: 1, claim: 1 })) {
      throw new Error(`unknown option ${argv[i]}`);
    }
    if (key === 'claim') opts.claim.push(argv[i + 1]); else opts[key] = argv[i + 1];
  }
  if (!opts['secret-file'] || !opts.sub) {
    throw new Error(USAGE);
  }
  let secret = fs.readFileSync(opts['secret-file']);
  // mod_sse ignores one trailing newline in a secret file; so do we.
  if (secret.length && secret[secret.length - 1] === 0x0a) secret = secret.subarray(0, -1);
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: opts.sub, iat: now, exp: now + Number(opts.ttl) };
  if (opts.aud) claims.aud = opts.aud;
  if (opts.iss) claims.iss = opts.iss;
  for (const kv of opts.claim) {
    const eq = kv.indexOf('=');
    claims[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  process.stdout.write(`${mintHS256(secret, claims)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try { main(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
}
