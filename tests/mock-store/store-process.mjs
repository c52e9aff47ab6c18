// store-process.mjs: starts mock-store on a free port for a test and stops it
// by PID. Shared by the Node suites in this folder.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { once } from 'node:events';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const storeBinary = path.join(repoRoot, 'mock-store', 'mock-store');

/** Starts mock-store; resolves with { port, pid, uri, stderr(), exited, stop() }. */
export async function startStore(extraArgs = []) {
  const child = spawn(storeBinary, ['--bind', '127.0.0.1', '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit'); // [code, signal]
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  child.stdout.setEncoding('utf8');
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk) => {
      out += chunk;
      const m = /^mock-store listening on 127\.0\.0\.1:(\d+)\n/m.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mock-store exited (${code}): ${stderr}`)));
    child.once('error', reject);
  });
  return {
    port,
    pid: child.pid,
    uri: `mongodb://127.0.0.1:${port}/?serverSelectionTimeoutMS=2000&heartbeatFrequencyMS=60000`,
    stderr: () => stderr,
    exited,
    /** SIGTERM by PID; resolves with [exitCode, signal] once it is gone. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
      return exited;
    },
  };
}
