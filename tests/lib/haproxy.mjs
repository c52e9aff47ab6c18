// haproxy.mjs: Debian's haproxy in front of Apache instances, the way a
// deployment runs mod_sse: round robin, a health check on /health/ready, and
// timeouts long enough for streams. Started by the test on 127.0.0.1 and
// stopped by its PID.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, tmpDir, waitForPort } from './harness.mjs';

export const HAPROXY = '/usr/sbin/haproxy';

// `backends`: [{ name, port }]. `checkMs`: health-check interval (fall and
// rise 2, so a dead instance leaves the rotation within ~2 intervals).
export function renderHaproxyConf({ port, backends, checkMs = 300, tunnel = '1h', clientTimeout = '60s', maxconn = 4000 }) {
  const servers = backends.map((b) => `    server ${b.name} 127.0.0.1:${b.port} check`).join('\n');
  return `# Generated for a test; see tests/lib/haproxy.mjs
global
    maxconn ${maxconn}
    log stderr format short local0 notice

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client ${clientTimeout}
    timeout server ${clientTimeout}
    timeout tunnel ${tunnel}
    timeout http-request 5s
    timeout queue 5s
    # A connection refused by a dead instance is retried on the other one.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend sse
    bind 127.0.0.1:${port}
    default_backend apaches

backend apaches
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter ${checkMs}ms fastinter ${checkMs}ms downinter ${checkMs}ms fall 2 rise 2
${servers}
`;
}

export async function startHaproxy({ backends, port, ...opts }) {
  const dir = tmpDir('sse-haproxy-');
  const listen = port || await freePort();
  const confFile = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(confFile, renderHaproxyConf({ port: listen, backends, ...opts }));

  // -db: stay in the foreground, so the PID we hold is the one that serves.
  const child = spawn(HAPROXY, ['-db', '-f', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const killOnExit = () => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.on('exit', killOnExit);
  const died = once(child, 'exit').then(([code]) => { throw new Error(`haproxy exited ${code}: ${log}`); });
  await Promise.race([waitForPort(listen, 10000), died]);
  died.catch(() => {});

  return {
    port: listen,
    pid: child.pid,
    url: `http://127.0.0.1:${listen}`,
    confFile,
    log() { return log; },
    // What haproxy last logged about a backend: 'UP', 'DOWN' or null.
    serverState(name) {
      const all = [...log.matchAll(new RegExp(`apaches/${name} is (UP|DOWN)`, 'g'))];
      return all.length ? all[all.length - 1][1] : null;
    },
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      try { process.kill(child.pid, 'SIGTERM'); } catch { return; }
      const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
