// cli.test.mjs: mock-store's command line and process behaviour: the
// "listening" line, clean exit on SIGTERM/SIGINT, --data loading the demo,
// --simulate advancing statuses (and --loop restarting one), bad arguments,
// and hundreds of connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BSON, MongoClient, ObjectId } from 'mongodb';
import { startStore, storeBinary } from './store-process.mjs';

const demoData = new URL('../../conf/demo/meetings.json', import.meta.url).pathname;

test('--port 0 prints "mock-store listening on HOST:PORT" and SIGTERM exits 0', async () => {
  const child = spawn(storeBinary, ['--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout, 'data');
  assert.match(line.toString(), /^mock-store listening on 127\.0\.0\.1:\d+\n$/);
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  const [code, signal] = await exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
});

test('SIGINT also exits cleanly while clients are connected', async () => {
  const store = await startStore(['--quiet']);
  const sockets = await Promise.all(Array.from({ length: 5 }, () => new Promise((resolve) => {
    const s = net.connect(store.port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
  })));
  process.kill(store.pid, 'SIGINT');
  const [code, signal] = await store.exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  sockets.forEach((s) => s.destroy());
});

test('bad arguments and an unreadable --data file fail with a message', () => {
  const badPort = spawnSync(storeBinary, ['--port', 'abc']);
  assert.equal(badPort.status, 2);
  assert.match(badPort.stderr.toString(), /--port/);
  const badSim = spawnSync(storeBinary, ['--simulate', 'nodot:1']);
  assert.equal(badSim.status, 2);
  const missing = spawnSync(storeBinary, ['--port', '0', '--data', '/nonexistent/x.json']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr.toString(), /nonexistent/);
});

test('a --data file with an array _id or a repeated _id is refused, naming the collection', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-bad-data-'));
  try {
    for (const [docs, why] of [[[{ _id: [1, 2] }], /array, regex or undefined/], [[{ _id: 1 }, { _id: 1.0 }], /duplicate _id/]]) {
      const file = path.join(dir, 'data.json');
      fs.writeFileSync(file, JSON.stringify({ d: { c: docs } }));
      const r = spawnSync(storeBinary, ['--port', '0', '--data', file]);
      assert.equal(r.status, 1);
      assert.match(r.stderr.toString(), why);
      assert.match(r.stderr.toString(), /d\.c/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--data loads the demo meetings, with string and ObjectId _ids and dates', async () => {
  const store = await startStore(['--quiet', '--data', demoData]);
  const client = new MongoClient(store.uri);
  try {
    const coll = client.db('meetings_app').collection('meetings');
    const all = await coll.find({}).toArray();
    assert.ok(all.length >= 6 && all.length <= 8, `${all.length} meetings`);
    assert.deepEqual(new Set(all.map((d) => d.ownerId)), new Set(['alice', 'bob']));
    assert.deepEqual(new Set(all.map((d) => d.status)), new Set(['uploaded', 'transcribing', 'summarizing', 'ready']));
    assert.ok(all.some((d) => d._id instanceof ObjectId));
    const m1 = await coll.findOne({ _id: 'm1' });
    assert.ok(m1.updatedAt instanceof Date);
    assert.equal(typeof m1.title, 'string');
    assert.equal(typeof m1.progress, 'number');
  } finally {
    await client.close();
    await store.stop();
  }
});

test('--simulate advances every non-ready meeting one stage per tick, with updatedAt = now', async () => {
  const store = await startStore(['--quiet', '--data', demoData, '--simulate', 'meetings_app.meetings:0.3']);
  const client = new MongoClient(store.uri);
  try {
    const coll = client.db('meetings_app').collection('meetings');
    const start = await coll.findOne({ _id: 'm1' });
    assert.equal(start.status, 'uploaded');
    const seen = [start.status];
    let last = start;
    const deadline = Date.now() + 5000;
    while (last.status !== 'ready' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const doc = await coll.findOne({ _id: 'm1' });
      if (doc.status !== last.status) {
        assert.ok(doc.progress > last.progress, `progress grows: ${last.progress} -> ${doc.progress}`);
        assert.ok(doc.updatedAt > last.updatedAt);
        assert.ok(Math.abs(doc.updatedAt.getTime() - Date.now()) < 2000, 'updatedAt is now');
        seen.push(doc.status);
      }
      last = doc;
    }
    assert.deepEqual(seen, ['uploaded', 'transcribing', 'summarizing', 'ready']);
    assert.equal(last.progress, 100);
    const ready = await coll.findOne({ _id: 'm4' });
    assert.equal(ready.updatedAt.toISOString(), '2026-11-24T16:30:00.000Z', 'ready meetings stay untouched');
  } finally {
    await client.close();
    await store.stop();
  }
});

test('--loop starts that meeting over at uploaded once ready; other ready meetings stay', async () => {
  const store = await startStore(['--quiet', '--data', demoData, '--simulate', 'meetings_app.meetings:0.2', '--loop', 'm1']);
  const client = new MongoClient(store.uri);
  try {
    const coll = client.db('meetings_app').collection('meetings');
    const seen = [];
    const deadline = Date.now() + 6000;
    while (seen.length < 6 && Date.now() < deadline) {
      const doc = await coll.findOne({ _id: 'm1' });
      if (doc.status !== seen[seen.length - 1]) seen.push(doc.status);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(seen, ['uploaded', 'transcribing', 'summarizing', 'ready', 'uploaded', 'transcribing']);
    const ready = await coll.findOne({ _id: 'm4' });
    assert.equal(ready.updatedAt.toISOString(), '2026-11-24T16:30:00.000Z', 'm4 stays ready');
  } finally {
    await client.close();
    await store.stop();
  }
  const alone = spawnSync(storeBinary, ['--loop', 'm1']);
  assert.equal(alone.status, 2);
  assert.match(alone.stderr.toString(), /--loop needs --simulate/);
});

test('serves 300 concurrent connections at once', async () => {
  const store = await startStore(['--quiet']);
  const body = Buffer.from(BSON.serialize({ ping: 1, $db: 'admin' }));
  const msg = Buffer.concat([Buffer.alloc(16), Buffer.alloc(5), body]);
  msg.writeInt32LE(msg.length, 0);
  msg.writeInt32LE(2013, 12);
  try {
    const sockets = await Promise.all(Array.from({ length: 300 }, () => new Promise((resolve, reject) => {
      const s = net.connect(store.port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    })));
    const replies = await Promise.all(sockets.map((s) => new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) resolve(BSON.deserialize(buf.subarray(21)));
      });
      s.on('error', reject);
      s.write(msg);
    })));
    assert.equal(replies.length, 300);
    assert.ok(replies.every((r) => r.ok === 1));
    sockets.forEach((s) => s.destroy());
  } finally {
    await store.stop();
  }
});
