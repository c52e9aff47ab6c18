// The Debian admin's path, on this machine's own apache2 (so it runs as root,
// as CI does): `make deb` and what the packages hold; `make install` /
// `make uninstall`; then ci/debian-recipe.sh, the README's recipe word for
// word, installs the packages and serves one stream through the system
// Apache (its apache2.conf, mods-enabled/, conf-enabled/, on a test port),
// and its remove half purges everything again. The system is put back as it
// was before and after, even when a step fails.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, childPids, freePort, tmpDir, waitForPort } from '../lib/harness.mjs';

// What an admin's shell has: not the variables of the `make test` that runs
// this suite (under them make prints "Entering directory" lines).
const ADMIN_ENV = Object.fromEntries(Object.entries(process.env)
  .filter(([k]) => !['MAKELEVEL', 'MAKEFLAGS', 'MFLAGS', 'MAKEOVERRIDES'].includes(k)));

const isRoot = process.getuid && process.getuid() === 0;
const ETC = '/etc/apache2';
const PKGS = ['libapache2-mod-sse', 'mod-sse-tools'];
const version = run('dpkg-parsechangelog', ['-l', 'debian/changelog', '-S', 'Version']).trim();
const arch = run('dpkg-architecture', ['-q', 'DEB_HOST_ARCH']).trim();
const deb = (pkg) => path.join(ROOT, 'build', `${pkg}_${version}_${arch}.deb`);

// Everything the package, `make install` or the recipe may leave behind.
const INSTALLED = [
  '/usr/lib/apache2/modules/mod_sse.so',
  `${ETC}/mods-available/sse.load`, `${ETC}/mods-available/sse.conf`,
  `${ETC}/mods-enabled/sse.load`, `${ETC}/mods-enabled/sse.conf`,
  `${ETC}/conf-available/mod-sse-meetings.conf`, `${ETC}/conf-enabled/mod-sse-meetings.conf`,
  `${ETC}/sse`, '/usr/lib/mod-sse', '/usr/share/mod-sse', '/usr/bin/mod-sse-token',
];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: ADMIN_ENV, ...opts });
  const output = `${r.stdout || ''}${r.stderr || ''}`;
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${output}`);
  }
  return opts.allowFail ? { status: r.status, output } : output;
}

// a2enmod/a2enconf remember what an admin enabled or disabled.
const STATE = '/var/lib/apache2';
const markers = () => ['module', 'conf'].flatMap((kind) => {
  const name = kind === 'module' ? 'sse' : 'mod-sse-meetings';
  let dirs = [];
  try { dirs = fs.readdirSync(path.join(STATE, kind)); } catch { /* no state yet */ }
  return dirs.map((d) => path.join(STATE, kind, d, name)).filter(exists);
});

const exists = (p) => { try { fs.lstatSync(p); return true; } catch { return false; } };
const leftovers = () => [...INSTALLED.filter(exists), ...markers()];

function packageState(pkg) {
  const r = run('dpkg-query', ['-W', '-f=${Status}', pkg], { allowFail: true });
  return r.status === 0 ? r.output : 'not-known';
}

// ------------------------------------------------------------ the lock
// Two checkouts running this suite at once would install over each other.
const LOCK = '/run/lock/mod-sse-debian-test';
async function lock() {
  const deadline = Date.now() + 180000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(`${LOCK}/pid`, String(process.pid));
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let holder = 0;
      try { holder = Number(fs.readFileSync(`${LOCK}/pid`, 'utf8')); } catch { /* being written */ }
      let alive = false;
      try { if (holder) { process.kill(holder, 0); alive = true; } } catch { /* gone */ }
      if (holder && !alive) { fs.rmSync(LOCK, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`${LOCK} held by pid ${holder} for 3 minutes`);
      await sleep(500);
    }
  }
}
const unlock = () => fs.rmSync(LOCK, { recursive: true, force: true });

// ------------------------------------------------------------ restoring the system
const started = new Set(); // PIDs this file started (the recipe, its curl and mock-store)
let sysApache = null;

async function stopPid(pid, timeoutMs = 10000) {
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { process.kill(pid, 0); } catch { return; }
    // A zombie child of ours counts as gone.
    try { if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return; } catch { return; }
    if (Date.now() > deadline) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } return; }
    await sleep(50);
  }
}

async function restore() {
  for (const pid of started) await stopPid(pid);
  started.clear();
  if (sysApache) await sysApache.stop();
  sysApache = null;
  const present = PKGS.filter((p) => !packageState(p).includes('not-installed') && packageState(p) !== 'not-known');
  if (present.length) run('dpkg', ['--purge', ...present]);
  for (const link of [`${ETC}/mods-enabled/sse.load`, `${ETC}/mods-enabled/sse.conf`, `${ETC}/conf-enabled/mod-sse-meetings.conf`]) {
    fs.rmSync(link, { force: true });
  }
  for (const p of [...INSTALLED, ...markers(), '/usr/lib/apache2/modules/mod_sse.la', `${ETC}/mods-available/sse.conf.dist`]) {
    fs.rmSync(p, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------ the system Apache
// Debian's apache2.conf as it is, with its envvars, but listening on a test
// port instead of ports.conf's :80 and logging to a temporary directory. Its
// PidFile is the system one, so the recipe's `apachectl graceful` reloads it.
async function startSystemApache() {
  const envText = run('bash', ['-c', `. ${ETC}/envvars && env -0`]);
  const env = Object.fromEntries(envText.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const pidFile = env.APACHE_PID_FILE;
  if (exists(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    let alive = false;
    try { process.kill(pid, 0); alive = true; } catch { /* stale */ }
    if (alive) throw new Error(`a system apache2 runs already (pid ${pid}, ${pidFile}); this test needs it stopped`);
    fs.rmSync(pidFile, { force: true });
  }
  const dir = tmpDir('sse-sysapache-');
  env.APACHE_LOG_DIR = dir;
  for (const d of [env.APACHE_RUN_DIR, env.APACHE_LOCK_DIR]) fs.mkdirSync(d, { recursive: true });
  const port = await freePort();
  const conf = fs.readFileSync(`${ETC}/apache2.conf`, 'utf8');
  assert.match(conf, /^Include ports\.conf$/m, 'apache2.conf includes ports.conf');
  const confFile = path.join(dir, 'apache2.conf');
  fs.writeFileSync(confFile, conf.replace(/^Include ports\.conf$/m, `Listen 127.0.0.1:${port}`));
  const child = spawn('/usr/sbin/apache2', ['-d', ETC, '-f', confFile, '-DFOREGROUND'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const died = once(child, 'exit').then(([code]) => { throw new Error(`apache2 exited ${code}: ${output}`); });
  await Promise.race([waitForPort(port, 15000), died]);
  died.catch(() => {});
  return {
    port, child,
    errorLog: () => { try { return fs.readFileSync(path.join(dir, 'error.log'), 'utf8'); } catch { return ''; } },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(pidFile, { force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The part of ci/debian-recipe.sh between "# >>> name" and "# <<< name".
function recipeBlock(name) {
  const text = fs.readFileSync(path.join(ROOT, 'ci/debian-recipe.sh'), 'utf8');
  const m = text.match(new RegExp(`^# >>> ${name}\\n([\\s\\S]*?)^# <<< ${name}$`, 'm'));
  assert.ok(m, `ci/debian-recipe.sh has a ${name} block`);
  return m[1];
}

async function portFree(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

describe('the Debian package and recipe', { skip: !isRoot && 'needs root (CI runs as root)' }, () => {
  before(async () => { await lock(); await restore(); });
  after(async () => { try { await restore(); } finally { unlock(); } });

  test('make deb builds both packages with the module, conffiles, runtime Depends, and a clean lintian', () => {
    const statusBefore = run('git', ['status', '--porcelain']);
    const out = run('make', ['-s', 'deb']);
    assert.equal(run('git', ['status', '--porcelain']), statusBefore, 'make deb leaves the tree as it was');
    assert.doesNotMatch(out, /^[EW]: /m, `lintian reports no error or warning:\n${out}`);

    const mod = deb('libapache2-mod-sse');
    const files = run('dpkg-deb', ['--contents', mod]);
    for (const f of ['./usr/lib/apache2/modules/mod_sse.so', './etc/apache2/mods-available/sse.load',
      './etc/apache2/mods-available/sse.conf', './usr/share/doc/libapache2-mod-sse/copyright']) {
      assert.ok(files.split('\n').some((l) => l.endsWith(` ${f}`)), `${f} in ${path.basename(mod)}:\n${files}`);
    }
    assert.equal(run('dpkg-deb', ['--info', mod, 'conffiles']).trim().split('\n').sort().join('\n'),
      '/etc/apache2/mods-available/sse.conf\n/etc/apache2/mods-available/sse.load');
    const depends = run('dpkg-deb', ['--field', mod, 'Depends']);
    for (const d of ['apache2-api-20120211', 'libmongoc-1.0-0', 'libbson-1.0-0', 'libjansson4', 'libssl3']) {
      assert.match(depends, new RegExp(`(^|, )${d.replace(/[.]/g, '\\.')}( |,|$)`), `Depends has ${d}: ${depends}`);
    }
    assert.match(run('dpkg-deb', ['--info', mod, 'postinst']), /apache2_invoke enmod/, 'postinst enables the module (dh_apache2)');

    const tools = deb('mod-sse-tools');
    const toolFiles = run('dpkg-deb', ['--contents', tools]);
    for (const f of ['./usr/lib/mod-sse/mock-store', './usr/bin/mod-sse-token', './usr/share/mod-sse/mint-token.mjs',
      './usr/share/mod-sse/demo/meetings.json', './usr/share/man/man1/mod-sse-token.1.gz']) {
      assert.ok(toolFiles.split('\n').some((l) => l.endsWith(` ${f}`)), `${f} in ${path.basename(tools)}:\n${toolFiles}`);
    }
    assert.match(run('dpkg-deb', ['--field', tools, 'Depends']), /nodejs/);
  });

  test('make install puts mod_sse where a2enmod and apachectl -t find it, quietly; make uninstall removes it all', () => {
    run('make', ['-s', 'module']);
    const out = run('make', ['install']);
    assert.doesNotMatch(out, /libtool|Libraries have been installed/, `no libtool noise:\n${out}`);
    assert.equal(out.trim().split('\n').length, 2, `two lines, what and how to enable:\n${out}`);
    for (const f of ['/usr/lib/apache2/modules/mod_sse.so', `${ETC}/mods-available/sse.load`, `${ETC}/mods-available/sse.conf`]) {
      assert.ok(exists(f), `${f} installed`);
    }
    run('a2enmod', ['-q', 'sse']);
    assert.match(run('apachectl', ['-t']), /Syntax OK/);
    assert.match(run('apache2ctl', ['-M']), /sse_module \(shared\)/);
    assert.match(run('apache2ctl', ['-L']), /SSEJWTAudience/, 'apache2ctl -L lists the directives');

    run('make', ['uninstall']);
    assert.deepEqual(leftovers(), [], 'make uninstall leaves nothing');
    assert.match(run('apachectl', ['-t']), /Syntax OK/, 'Apache still starts after make uninstall');
  });

  test('the README recipe installs the packages, serves a stream through the system Apache, and its remove half purges everything', async (t) => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const name of ['install', 'remove']) {
      assert.ok(readme.includes('```sh\n' + recipeBlock(name) + '```\n'), `README shows the recipe's ${name} block word for word`);
    }
    for (const pkg of PKGS) assert.ok(exists(deb(pkg)), `${deb(pkg)} was built by the first test`);
    assert.ok(await portFree(27017), 'the recipe\'s trial mock-store needs 127.0.0.1:27017 free');

    sysApache = await startSystemApache();
    const url = `http://127.0.0.1:${sysApache.port}`;
    const recipe = spawn('bash', ['ci/debian-recipe.sh'], { cwd: ROOT, env: { ...process.env, SSE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(recipe.pid);
    let out = '';
    recipe.stdout.on('data', (d) => { out += d; });
    recipe.stderr.on('data', (d) => { out += d; });
    const recipeExit = once(recipe, 'exit');

    // The stream's first status event, from curl -N on stdout.
    const deadline = Date.now() + 90000;
    let status = null;
    while (!status) {
      for (const pid of childPids(recipe.pid)) started.add(pid); // curl, mock-store
      const m = out.match(/^event: status\ndata: (.*)$/m);
      if (m) status = JSON.parse(m[1]);
      else if (recipe.exitCode !== null) assert.fail(`the recipe ended before a status event:\n${out}\n${sysApache.errorLog()}`);
      else if (Date.now() > deadline) assert.fail(`no status event within 90 s:\n${out}\n${sysApache.errorLog()}`);
      else await sleep(100);
    }
    assert.equal(status._id, 'm1');
    assert.ok(['uploaded', 'transcribing', 'summarizing', 'ready'].includes(status.status), JSON.stringify(status));
    assert.match(out, /^event: connected$/m);
    assert.match(out, /Syntax OK/, 'apachectl -t passed');
    for (const pid of childPids(recipe.pid)) await stopPid(pid); // curl -N (Ctrl-C) and mock-store
    await recipeExit;
    started.clear();

    for (const pkg of PKGS) assert.match(packageState(pkg), /install ok installed/, pkg);
    assert.ok(fs.lstatSync(`${ETC}/mods-enabled/sse.load`).isSymbolicLink(), 'a2enmod sse');
    assert.ok(fs.lstatSync(`${ETC}/conf-enabled/mod-sse-meetings.conf`).isSymbolicLink(), 'a2enconf mod-sse-meetings');
    const secret = fs.statSync(`${ETC}/sse/jwt.secret`);
    assert.equal(secret.size, 48);
    assert.equal(secret.mode & 0o777, 0o640);
    assert.equal(secret.uid, 0);
    assert.equal(secret.gid, Number(run('getent', ['group', 'www-data']).split(':')[2]));
    const noToken = await fetch(`${url}/v1/meetings/m1/events`);
    assert.equal(noToken.status, 401, 'without a token: 401');

    await t.test('remove', async () => {
      const removed = run('bash', ['ci/debian-recipe.sh', 'remove']);
      assert.deepEqual(leftovers(), [], `nothing of the package or recipe is left:\n${removed}`);
      for (const pkg of PKGS) assert.doesNotMatch(packageState(pkg), /installed/, pkg);
      // The graceful restart went through: Apache serves on without mod_sse.
      await sleep(1000);
      assert.equal(sysApache.child.exitCode, null, `apache2 still runs:\n${sysApache.errorLog()}`);
      const after = await fetch(`${url}/v1/meetings/m1/events`);
      assert.notEqual(after.status, 200);
      assert.match(run('apachectl', ['-t']), /Syntax OK/);
    });
  });
});
