// frontend/event-stream-parser.js against the WHATWG event-stream rules: each vector has the
// events the standard prescribes, is fed whole, split at every position and one byte at a time,
// and is run through the npm `eventsource-parser` package as a reference implementation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createParser } from 'eventsource-parser';
import { createEventStreamParser, createEventStreamDecoder } from '../../frontend/event-stream-parser.js';

/** Runs text chunks through our parser; returns events, retries and comments. */
function parseChunks(chunks, options = {}) {
  const out = { events: [], retries: [], comments: [] };
  const parser = createEventStreamParser({
    ...options,
    onEvent: (e) => out.events.push(e),
    onRetry: (ms) => out.retries.push(ms),
    onComment: (c) => out.comments.push(c),
  });
  for (const c of chunks) parser.feed(c);
  out.lastEventId = parser.lastEventId;
  return out;
}

/** Bytes through our decoder (what stream-client.js uses), split at the given byte offsets. */
function ourPipeline(bytes, cuts) {
  const events = [];
  const retries = [];
  const d = createEventStreamDecoder({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) });
  for (const part of splitBytes(bytes, cuts)) d.push(part);
  return { events, retries, lastEventId: d.lastEventId };
}

/** The same bytes through TextDecoder + eventsource-parser. */
function referencePipeline(bytes, cuts) {
  const events = [];
  const retries = [];
  const decoder = new TextDecoder();
  const parser = createParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) });
  for (const part of splitBytes(bytes, cuts)) parser.feed(decoder.decode(part, { stream: true }));
  return { events, retries };
}

function splitBytes(bytes, cuts) {
  const parts = [];
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    parts.push(bytes.subarray(from, at));
    from = at;
  }
  return parts;
}

const ev = (data, type = 'message', lastEventId = '') => ({ type, data, lastEventId });

// [name, input, expected events, expected retries]
const VECTORS = [
  ['one event with LF endings', 'data: hello\n\n', [ev('hello')]],
  ['CRLF line endings', 'event: status\r\ndata: a\r\n\r\n', [ev('a', 'status')]],
  ['CR line endings', 'data: a\rdata: b\r\r', [ev('a\nb')]],
  ['mixed CR, LF and CRLF', 'data: 1\rdata: 2\ndata: 3\r\n\r\ndata: 4\n\r', [ev('1\n2\n3'), ev('4')]],
  ['one leading BOM is removed', '\uFEFFdata: bom\n\n', [ev('bom')]],
  ['only one BOM is removed: a second one makes an unknown field', '\uFEFF\uFEFFdata: x\n\ndata: y\n\n', [ev('y')]],
  ['only one leading space is removed from the value', 'data:  two spaces\ndata:none\n\n', [ev(' two spaces\nnone')]],
  ['multi-line data is joined with LF', 'data: line 1\ndata: line 2\ndata:\ndata\n\n', [ev('line 1\nline 2\n\n')]],
  ['an empty data field dispatches an empty event', 'data\n\n', [ev('')]],
  ['event type applies to its block only', 'event: a\ndata: 1\n\ndata: 2\n\n', [ev('1', 'a'), ev('2')]],
  ['comments are ignored', ': ping\n:another\ndata: x\n: mid\n\n', [ev('x')]],
  ['a block without data dispatches nothing', 'event: status\n\nretry: 10\n\n', [], [10]],
  ['unknown fields are ignored', 'foo: bar\ndata: x\nDATA: y\n\n', [ev('x')]],
  ['the id persists across later events', 'id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n', [ev('a', 'message', '1'), ev('b', 'message', '1'), ev('c', 'message', '2')]],
  ['an id containing NULL is ignored', 'id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n', [ev('a', 'message', '1'), ev('b', 'message', '1')]],
  ['an empty id resets the last event id', 'id: 7\ndata: a\n\nid\ndata: b\n\n', [ev('a', 'message', '7'), ev('b')]],
  ['retry accepts ASCII digits only', 'retry: 5000\nretry: 12a\nretry: -1\nretry: 1.5\nretry:\nretry: 3000\n\n', [], [5000, 3000]],
  ['an unterminated last event is discarded', 'data: done\n\ndata: partial\n', [ev('done')]],
  ['an unterminated last line is discarded', 'data: done\n\ndata: partial', [ev('done')]],
  ['a field name without colon takes an empty value', 'data\nevent\n\n', [ev('')]],
  ['the colon in a value is kept', 'data: a: b\n\n', [ev('a: b')]],
  ['UTF-8 text is decoded', 'data: café ☕ 会议\n\n', [ev('café ☕ 会议')]],
  ['the real mod_sse stream', 'retry: 5000\n\nevent: connected\ndata: {"resource":"m1","keepalive":15000}\n\nid: 2026-11-25T09:00:03.120Z\nevent: status\ndata: {"_id":"m1","status":"transcribing"}\n\n: ping\n\n',
    [ev('{"resource":"m1","keepalive":15000}', 'connected'), ev('{"_id":"m1","status":"transcribing"}', 'status', '2026-11-25T09:00:03.120Z')], [5000]],
];

for (const [name, input, expected, retries = []] of VECTORS) {
  test(`parser: ${name}`, () => {
    const whole = parseChunks([input]);
    assert.deepEqual(whole.events, expected);
    assert.deepEqual(whole.retries, retries);
    // every split into two chunks, and one character at a time, gives the same result
    for (let i = 0; i <= input.length; i++) {
      assert.deepEqual(parseChunks([input.slice(0, i), input.slice(i)]).events, expected, `split at ${i}`);
    }
    assert.deepEqual(parseChunks([...input]).events, expected, 'char by char');
  });

  test(`parser agrees with eventsource-parser: ${name}`, () => {
    // eventsource-parser holds back a CR at the very end until it sees whether a LF follows;
    // a trailing comment line lets it finish (and changes no events).
    const bytes = new TextEncoder().encode(input.endsWith('\r') ? `${input}: end\n` : input);
    const cutSets = [[], [...bytes.keys()].slice(1)]; // whole, and byte by byte (splits UTF-8 and CRLF)
    for (let i = 1; i < bytes.length; i++) cutSets.push([i]);
    for (const cuts of cutSets) {
      const ours = ourPipeline(bytes, cuts);
      const ref = referencePipeline(bytes, cuts);
      assert.equal(ours.events.length, ref.events.length, `event count, cuts ${cuts.length}`);
      ours.events.forEach((e, k) => {
        assert.equal(e.data, ref.events[k].data);
        assert.equal(e.type, ref.events[k].event ?? 'message');
        // eventsource-parser reports the id only for the block that set it (it does not
        // persist it), so compare where it has one.
        if (ref.events[k].id !== undefined) assert.equal(e.lastEventId, ref.events[k].id);
      });
      assert.deepEqual(ours.retries, ref.retries);
    }
  });
}

test('parser: CRLF split across chunks is one line ending, not two', () => {
  const out = parseChunks(['data: a\r', '\ndata: b\r', '\n\r', '\n']);
  assert.deepEqual(out.events, [ev('a\nb')]);
});

test('parser: a CR at the end of a chunk ends the line at once (no wait for the next chunk)', () => {
  const out = parseChunks(['data: a\r\r']);
  assert.deepEqual(out.events, [ev('a')]);
});

test('parser: a BOM is only removed at the very start of the stream', () => {
  const out = parseChunks(['data: a\n\n', '\uFEFFdata: b\n\n']);
  assert.deepEqual(out.events, [ev('a')]);
});

test('parser: empty chunks before the BOM do not hide it', () => {
  const out = parseChunks(['', '\uFEFF', 'data: a\n\n']);
  assert.deepEqual(out.events, [ev('a')]);
});

test('parser: comments are reported without the colon and one space', () => {
  assert.deepEqual(parseChunks([': ping\n:x\n']).comments, ['ping', 'x']);
});

test('parser: the last event id is committed by a blank line even without data', () => {
  const out = parseChunks(['id: 5\n\n']);
  assert.equal(out.lastEventId, '5');
  assert.equal(parseChunks(['id: 6\n']).lastEventId, '', 'not committed before the blank line');
});

test('parser: starts from a given last event id (a resumed stream)', () => {
  const out = parseChunks(['data: a\n\n'], { lastEventId: 'v9' });
  assert.deepEqual(out.events, [ev('a', 'message', 'v9')]);
});

test('decoder: a UTF-8 character split across network chunks is decoded whole', () => {
  const bytes = new TextEncoder().encode('data: é\n\n');
  const out = ourPipeline(bytes, [7]); // between the two bytes of é
  assert.deepEqual(out.events, [ev('é')]);
});
