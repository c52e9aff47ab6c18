// node-driver.test.mjs: the official Node.js `mongodb` driver against
// mock-store: CRUD, $in/$gt with sort and limit, getMore, duplicate _id
// (11000), failCommand, serverStatus opcounters, and $in on _id (answered
// from the _id index) agreeing with the scan through every kind of write.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, ObjectId, Double, Long } from 'mongodb';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStore } from './store-process.mjs';

let store;
let client;
let coll;

const meetings = [
  { _id: 'm1', ownerId: 'alice', status: 'uploaded', progress: 0 },
  { _id: 'm2', ownerId: 'alice', status: 'transcribing', progress: 35 },
  { _id: 'm3', ownerId: 'bob', status: 'summarizing', progress: 72 },
  { _id: 'm4', ownerId: 'bob', status: 'ready', progress: 100 },
  { _id: 'm5', ownerId: 'bob', status: 'uploaded', progress: 5 },
];

before(async () => {
  store = await startStore(['--quiet']);
  client = new MongoClient(store.uri);
  await client.connect();
  coll = client.db('node_suite').collection('meetings');
});

after(async () => {
  await client?.close();
  await store?.stop();
});

beforeEach(async () => {
  await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  await coll.drop();
  await coll.insertMany(meetings);
});

async function opcounters() {
  return (await client.db('admin').command({ serverStatus: 1 })).opcounters;
}

test('findOne by _id with a projection returns only the projected fields', async () => {
  const doc = await coll.findOne({ _id: 'm2' }, { projection: { status: 1, progress: 1 } });
  assert.deepEqual(doc, { _id: 'm2', status: 'transcribing', progress: 35 });
  assert.equal(await coll.findOne({ _id: 'nope' }), null);
});

test('$gt with sort and limit returns the top documents in order', async () => {
  const docs = await coll.find({ progress: { $gt: 10 } }).sort({ progress: -1 }).limit(2).toArray();
  assert.deepEqual(docs.map((d) => d._id), ['m4', 'm3']);
});

test('$in combined with equality and ascending sort', async () => {
  const docs = await coll
    .find({ status: { $in: ['uploaded', 'ready'] }, ownerId: 'bob' })
    .sort({ progress: 1 })
    .toArray();
  assert.deepEqual(docs.map((d) => d._id), ['m5', 'm4']);
});

test('a result larger than batchSize is fetched with getMore', async () => {
  const before = await opcounters();
  const docs = await coll.find({}).batchSize(2).toArray();
  assert.deepEqual(docs.map((d) => d._id), ['m1', 'm2', 'm3', 'm4', 'm5']);
  const afterCounts = await opcounters();
  assert.equal(afterCounts.getmore - before.getmore, 2);
});

test('insertOne without _id gets an ObjectId; insert, update, replace and delete round-trip', async () => {
  const { insertedId } = await coll.insertOne({ title: 'new' });
  assert.ok(insertedId instanceof ObjectId);
  assert.equal((await coll.findOne({ _id: insertedId })).title, 'new');

  const upd = await coll.updateOne({ _id: 'm1' }, { $set: { status: 'transcribing' }, $inc: { progress: 15 } });
  assert.equal(upd.matchedCount, 1);
  assert.equal(upd.modifiedCount, 1);
  assert.deepEqual(await coll.findOne({ _id: 'm1' }, { projection: { _id: 0, status: 1, progress: 1 } }),
    { status: 'transcribing', progress: 15 });

  const many = await coll.updateMany({ ownerId: 'bob' }, { $unset: { progress: '' } });
  assert.equal(many.modifiedCount, 3);
  assert.equal(await coll.estimatedDocumentCount(), 6);

  const ups = await coll.updateOne({ _id: 'm9' }, { $set: { status: 'uploaded' } }, { upsert: true });
  assert.equal(ups.upsertedId, 'm9');
  await coll.replaceOne({ _id: 'm9' }, { status: 'ready', title: 'replaced' });
  assert.deepEqual(await coll.findOne({ _id: 'm9' }), { _id: 'm9', status: 'ready', title: 'replaced' });

  assert.equal((await coll.deleteOne({ _id: 'm9' })).deletedCount, 1);
  assert.equal((await coll.deleteMany({ ownerId: 'bob' })).deletedCount, 3);
  assert.equal(await coll.estimatedDocumentCount(), 3);
});

test('a duplicate _id is rejected with code 11000', async () => {
  await assert.rejects(coll.insertOne({ _id: 'm1' }), (err) => {
    assert.equal(err.code, 11000);
    assert.match(err.message, /E11000 duplicate key/);
    return true;
  });
  await assert.rejects(coll.insertMany([{ _id: 'n1' }, { _id: 'm2' }, { _id: 'n2' }]), (err) => {
    assert.equal(err.code, 11000);
    assert.equal(err.result.insertedCount, 1); // ordered: stops at the duplicate
    return true;
  });
});

test('failCommand with times fails that many finds with the error code, then clears', async () => {
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: { times: 2 },
    data: { failCommands: ['find'], errorCode: 2 },
  });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(coll.findOne({ _id: 'm1' }), (err) => err.code === 2);
  }
  assert.equal((await coll.findOne({ _id: 'm1' }))._id, 'm1');
});

test('failCommand alwaysOn keeps failing until mode off', async () => {
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: 'alwaysOn',
    data: { failCommands: ['insert'], errorCode: 8000 },
  });
  for (let i = 0; i < 3; i++) {
    await assert.rejects(coll.insertOne({ x: i }), (err) => err.code === 8000);
  }
  assert.equal((await coll.findOne({ _id: 'm1' }))._id, 'm1'); // find is not listed
  await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  await coll.insertOne({ x: 1 });
});

test('failCommand blockConnection delays the command by blockTimeMS', async () => {
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: { times: 1 },
    data: { failCommands: ['find'], blockConnection: true, blockTimeMS: 400 },
  });
  const t0 = Date.now();
  assert.equal((await coll.findOne({ _id: 'm3' }))._id, 'm3');
  assert.ok(Date.now() - t0 >= 380, `took ${Date.now() - t0} ms`);
});

test('failCommand closeConnection drops the connection and the driver recovers', async () => {
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: { times: 2 },
    data: { failCommands: ['find'], closeConnection: true },
  });
  // The find and its retryable-read retry both lose their connection.
  await assert.rejects(coll.findOne({ _id: 'm1' }), (err) => err.name === 'MongoNetworkError' || /closed|network/i.test(err.message));
  assert.equal((await coll.findOne({ _id: 'm1' }))._id, 'm1');
});

test('serverStatus opcounters count each find as query and each insert document', async () => {
  const before = await opcounters();
  for (let i = 0; i < 5; i++) await coll.findOne({ _id: 'm1' });
  await coll.insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]);
  await coll.updateOne({ _id: 'm1' }, { $set: { seen: true } });
  await coll.deleteOne({ _id: 'm2' });
  const afterCounts = await opcounters();
  assert.equal(typeof afterCounts.query, 'number');
  assert.equal(afterCounts.query - before.query, 5);
  assert.equal(afterCounts.insert - before.insert, 3);
  assert.equal(afterCounts.update - before.update, 1);
  assert.equal(afterCounts.delete - before.delete, 1);
  assert.ok(afterCounts.command - before.command >= 1); // the second serverStatus itself
});

test('an unknown command answers CommandNotFound (59)', async () => {
  await assert.rejects(client.db('admin').command({ frobnicate: 1 }), (err) => {
    assert.equal(err.code, 59);
    assert.equal(err.codeName, 'CommandNotFound');
    return true;
  });
});

test('countDocuments and a simple aggregate pipeline work', async () => {
  assert.equal(await coll.countDocuments({ ownerId: 'bob' }), 3);
  assert.equal(await coll.countDocuments({ progress: { $gte: 35 } }, { skip: 1, limit: 1 }), 1);
  assert.equal(await coll.countDocuments({ ownerId: 'nobody' }), 0);
  const docs = await coll
    .aggregate([{ $match: { ownerId: 'alice' } }, { $sort: { progress: -1 } }, { $project: { _id: 1 } }])
    .toArray();
  assert.deepEqual(docs, [{ _id: 'm2' }, { _id: 'm1' }]);
  const [counted] = await coll.aggregate([{ $match: { status: 'uploaded' } }, { $count: 'n' }]).toArray();
  assert.deepEqual(counted, { n: 2 });
  await assert.rejects(coll.aggregate([{ $lookup: { from: 'x' } }]).toArray(), (err) => err.code === 40324);
});

// The same filter wrapped in $and makes mock-store scan the collection: the
// _id index must give the same documents in the same (natural) order.
async function findAsScan(filter, options = {}) {
  const viaIndex = await coll.find(filter, options).toArray();
  const viaScan = await coll.find({ $and: [filter] }, options).toArray();
  assert.deepEqual(viaIndex, viaScan);
  return viaIndex;
}

test('$in on _id returns each listed document once, in natural order, through every write', async () => {
  const oid = new ObjectId('6564a1f0c2a4b3d2e1f00009');
  await coll.insertMany([{ _id: 7, k: 'int' }, { _id: oid, k: 'oid' }, { _id: '7', k: 'string' }]);
  const ids = (docs) => docs.map((d) => d.k ?? d._id);

  // mixed types, repeats, ids that do not exist; 7.0 (a double) is the int 7
  const filter = { _id: { $in: ['m4', new Double(7), oid, 'm1', 'm4', 'nope', new ObjectId(), Long.fromNumber(7)] } };
  assert.deepEqual(ids(await findAsScan(filter)), ['m1', 'm4', 'int', 'oid']);
  assert.deepEqual(ids(await findAsScan({ _id: { $in: ['7'] } })), ['string']);
  assert.deepEqual(ids(await findAsScan({ ...filter, ownerId: 'bob' })), ['m4']);
  assert.deepEqual(ids(await findAsScan(filter, { sort: { _id: -1 }, limit: 2 })), ['oid', 'm4']);

  await coll.updateOne({ _id: 'm1' }, { $set: { ownerId: 'bob' } });
  await coll.deleteOne({ _id: 'm4' });
  await coll.updateOne({ _id: 'm9' }, { $set: { ownerId: 'bob' } }, { upsert: true });
  await assert.rejects(coll.updateOne({ _id: 'm1' }, { $set: { _id: 'm8' } }), { code: 66 });
  const after = { _id: { $in: ['m9', 'm8', 'm4', 'm1'] }, ownerId: 'bob' };
  assert.deepEqual(ids(await findAsScan(after)), ['m1', 'm9']);
  await coll.deleteMany({ _id: { $in: ['m1', 'm9'] } });
  assert.deepEqual(await findAsScan(after), []);

  await coll.drop();
  assert.deepEqual(await findAsScan(filter), []);
  await coll.insertOne({ _id: 'm4', k: 'back' });
  assert.deepEqual(ids(await findAsScan(filter)), ['back']);
});

test('$in of 1,000 _ids over 2,000 documents comes back whole across getMore batches', async () => {
  await coll.drop();
  await coll.insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: i, n: i % 5 })));
  const wanted = Array.from({ length: 1000 }, (_, i) => 1998 - 2 * i); // even ids, reversed
  const docs = await findAsScan({ _id: { $in: [...wanted, 5000, 6000] } }, { batchSize: 64 });
  assert.deepEqual(docs.map((d) => d._id), [...wanted].reverse());
  const sorted = await findAsScan({ _id: { $in: wanted } }, { sort: { n: 1, _id: -1 }, projection: { n: 1 } });
  assert.equal(sorted.length, 1000);
  assert.deepEqual(sorted[0], { _id: 1990, n: 0 });
});

test('documents loaded with --data are found through $in on _id', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-data-'));
  const file = path.join(dir, 'data.json');
  fs.writeFileSync(file, JSON.stringify({
    d: { c: [{ _id: 'a', v: 1 }, { _id: { $oid: '6564a1f0c2a4b3d2e1f0000a' }, v: 2 }, { _id: 3, v: 3 }] },
  }));
  const other = await startStore(['--quiet', '--data', file]);
  const c = new MongoClient(other.uri);
  try {
    const loaded = c.db('d').collection('c');
    const docs = await loaded
      .find({ _id: { $in: [new Double(3), 'a', new ObjectId('6564a1f0c2a4b3d2e1f0000a'), 'b'] } })
      .toArray();
    assert.deepEqual(docs.map((d) => d.v), [1, 2, 3]);
  } finally {
    await c.close();
    await other.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('$currentDate with a conditional filter: the version moves on and the old version no longer matches', async () => {
  const t0 = new Date('2026-11-25T09:00:00.000Z');
  await coll.updateOne({ _id: 'm1' }, { $set: { updatedAt: t0 } });
  const first = await coll.updateOne({ _id: 'm1', updatedAt: t0 }, { $set: { title: 'A' }, $currentDate: { updatedAt: true } });
  assert.equal(first.matchedCount, 1);
  const doc = await coll.findOne({ _id: 'm1' });
  assert.ok(doc.updatedAt instanceof Date && doc.updatedAt > t0);
  const second = await coll.updateOne({ _id: 'm1', updatedAt: t0 }, { $set: { title: 'B' }, $currentDate: { updatedAt: { $type: 'date' } } });
  assert.equal(second.matchedCount, 0);
  assert.equal((await coll.findOne({ _id: 'm1' })).title, 'A');
});

test('the write concern a driver sends is counted in opWriteConcernCounters and kept as lastWriteConcern', async () => {
  const status = () => client.db('admin').command({ serverStatus: 1 });
  const before = (await status()).opWriteConcernCounters.update;
  await coll.updateOne({ _id: 'm2' }, { $set: { progress: 36 } }, { writeConcern: { w: 'majority', wtimeoutMS: 1234 } });
  await coll.updateOne({ _id: 'm2' }, { $set: { progress: 37 } }, { writeConcern: { w: 3 } });
  const after = await status();
  assert.equal(Number(after.opWriteConcernCounters.update.wmajority), Number(before.wmajority) + 1);
  assert.equal(Number(after.opWriteConcernCounters.update.wnum['3']), Number(before.wnum['3'] ?? 0) + 1);
  assert.equal(Number(after.lastWriteConcern.w), 3);
});

test('failCommand writeConcernError: the update is applied and the driver reports a write concern error', async () => {
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: { times: 1 },
    data: { failCommands: ['update'], writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out' } },
  });
  await assert.rejects(
    coll.updateOne({ _id: 'm3' }, { $set: { status: 'ready' } }, { writeConcern: { w: 'majority', wtimeoutMS: 100 } }),
    (err) => err.name === 'MongoWriteConcernError' && err.code === 64,
  );
  assert.equal((await coll.findOne({ _id: 'm3' })).status, 'ready');
  const clean = await coll.updateOne({ _id: 'm3' }, { $set: { status: 'summarizing' } });
  assert.equal(clean.modifiedCount, 1);
});
