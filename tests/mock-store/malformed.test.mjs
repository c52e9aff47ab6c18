// malformed.test.mjs: mock-store drops a connection that sends a malformed
// message (bad length, truncated or invalid BSON, unknown opcode or section,
// over 48 MiB) with one log line, and keeps serving everyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BSON, MongoClient } from 'mongodb';
import { startStore } from './store-process.mjs';

let store;
let client;

before(async () => {
  store = await startStore(); // not --quiet: the log lines are checked
  client = new MongoClient(store.uri);
  await client.connect();
  await client.db('raw').collection('c').insertOne({ _id: 'k', v: 1 });
});

after(async () => {
  await client?.close();
  await store?.stop();
});

const OP_MSG = 2013;
const OP_QUERY = 2004;

function header(length, opcode, requestId = 1) {
  const b = Buffer.alloc(16);
  b.writeInt32LE(length, 0);
  b.writeInt32LE(requestId, 4);
  b.writeInt32LE(0, 8);
  b.writeInt32LE(opcode, 12);
  return b;
}

function opMsg(body, { flags = 0, requestId = 1 } = {}) {
  const payload = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from([0]), body]);
  payload.writeUInt32LE(flags, 0);
  return Buffer.concat([header(16 + payload.length, OP_MSG, requestId), payload]);
}

const bson = (doc) => Buffer.from(BSON.serialize(doc));

/** Sends bytes on a fresh socket; resolves with what came back once the server closes it. */
function sendExpectingClose(bytes, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(store.port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('server kept the connection open'));
    }, timeoutMs);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {}); // a reset counts as closed
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** One raw OP_MSG round trip on a new connection; resolves with the reply document. */
function rawCommand(doc, { writeInPieces = false } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(store.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('connect', async () => {
      const msg = opMsg(bson(doc));
      if (!writeInPieces) return sock.write(msg);
      for (const byte of msg) {
        sock.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
        sock.destroy();
        resolve(BSON.deserialize(buf.subarray(21, buf.readInt32LE(0))));
      }
    });
    sock.on('error', reject);
  });
}

async function storeStillServes() {
  const reply = await rawCommand({ find: 'c', filter: { _id: 'k' }, $db: 'raw' });
  assert.equal(reply.ok, 1);
  assert.deepEqual(reply.cursor.firstBatch, [{ _id: 'k', v: 1 }]);
}

/** stderr lines after the first `from`, waiting briefly for the pipe to deliver them. */
async function logLinesSince(from) {
  const lines = () => store.stderr().split('\n').filter(Boolean).slice(from);
  for (let i = 0; i < 50 && lines().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 50)); // a second line, if any, would show up now
  return lines();
}

const ping = bson({ ping: 1, $db: 'admin' });

const malformed = {
  'a length below the 16-byte header': header(8, OP_MSG),
  'a negative length': header(-5, OP_MSG),
  'a declared length over 48 MiB': header(49 * 1024 * 1024, OP_MSG),
  'an unknown opcode': Buffer.concat([header(16 + 4, 9999), Buffer.alloc(4)]),
  'an OP_COMPRESSED message (compression is never offered)': Buffer.concat([header(16 + 9, 2012), Buffer.alloc(9)]),
  'a length that cuts the BSON body short': (() => {
    const m = opMsg(ping);
    m.writeInt32LE(m.length - 3, 0);
    return m.subarray(0, m.length - 3);
  })(),
  'a BSON body whose own length runs past the message': (() => {
    const body = Buffer.from(ping);
    body.writeInt32LE(body.length + 40, 0);
    return opMsg(body);
  })(),
  'invalid BSON (an unknown element type)': (() => {
    const body = Buffer.from(ping);
    body[4] = 0x55;
    return opMsg(body);
  })(),
  'invalid BSON (a string length past the document)': (() => {
    const body = bson({ find: 'c', $db: 'raw' });
    body.writeInt32LE(1000, 4 + 1 + 5); // the int32 length of "c"
    return opMsg(body);
  })(),
  'invalid BSON (an embedded document with a broken terminator)': (() => {
    const body = bson({ insert: 'c', documents: [{ k: 1 }], $db: 'raw' });
    const at = body.indexOf(Buffer.from([0x10, 0x6b, 0x00, 0x01, 0, 0, 0, 0x00])); // "k": 1 and its terminator
    body[at + 7] = 0xc0;
    return opMsg(body);
  })(),
  'BSON nested deeper than 128 levels': (() => {
    let doc = { leaf: 1 };
    for (let i = 0; i < 200; i++) doc = { d: doc };
    return opMsg(bson({ find: 'c', filter: doc, $db: 'raw' }));
  })(),
  'an OP_MSG with an unknown section kind': (() => {
    const m = opMsg(ping);
    m[20] = 7;
    return m;
  })(),
  'an OP_MSG with no body section': Buffer.concat([header(20, OP_MSG), Buffer.alloc(4)]),
  'an OP_MSG with unknown required flag bits': opMsg(ping, { flags: 0x4 }),
  'an OP_MSG kind-1 sequence with a bad size': (() => {
    const seq = Buffer.concat([Buffer.from([1]), Buffer.from([0xff, 0xff, 0, 0]), Buffer.from('documents\0')]);
    const payload = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), ping, seq]);
    return Buffer.concat([header(16 + payload.length, OP_MSG), payload]);
  })(),
  'an OP_QUERY whose namespace is not terminated': Buffer.concat([header(16 + 4 + 6, OP_QUERY), Buffer.alloc(4), Buffer.from('admin.')]),
  'random bytes': Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
};

for (const [name, bytes] of Object.entries(malformed)) {
  test(`${name} closes only that connection`, async () => {
    const logBefore = store.stderr().split('\n').filter(Boolean).length;
    const reply = await sendExpectingClose(bytes);
    assert.equal(reply.length, 0, 'no reply to a malformed message');
    await storeStillServes();
    const newLines = await logLinesSince(logBefore);
    assert.equal(newLines.length, 1, `one log line, got: ${JSON.stringify(newLines)}`);
    assert.match(newLines[0], /^mock-store: closing connection \d+ from 127\.0\.0\.1:\d+: /);
  });
}

test('an open client keeps working while bad connections come and go', async () => {
  await Promise.all(Object.values(malformed).map((b) => sendExpectingClose(b)));
  const doc = await client.db('raw').collection('c').findOne({ _id: 'k' });
  assert.deepEqual(doc, { _id: 'k', v: 1 });
});

test('a valid message delivered one byte at a time is answered', async () => {
  const reply = await rawCommand({ ping: 1, $db: 'admin' }, { writeInPieces: true });
  assert.equal(reply.ok, 1);
});

test('a command without $db is refused with an error reply, not a dropped connection', async () => {
  const reply = await rawCommand({ ping: 1 });
  assert.equal(reply.ok, 0);
});
