// The text/event-stream parser of the WHATWG HTML standard (9.2.6 "Interpreting an event stream"),
// hand-written because Apache serves frontend/ as plain files with no bundler. The unit tests run
// the same inputs through the npm `eventsource-parser` package as a reference.

const LF = 10;
const CR = 13;
const BOM = 0xfeff;
const LINE_END = /[\r\n]/g;

/**
 * Parses decoded text fed in arbitrary chunks and calls
 *   onEvent({ type, data, lastEventId })   for every dispatched event ("message" when unnamed),
 *   onRetry(ms)                            for a valid `retry:` field,
 *   onComment(text)                        for a comment line (": ping" gives "ping").
 * `lastEventId` is the stream's last event ID string: it survives across events and is only
 * changed by an `id:` field when its event block is dispatched (a blank line), as in EventSource.
 */
export function createEventStreamParser({
  onEvent = () => {},
  onRetry = () => {},
  onComment = () => {},
  lastEventId = '',
} = {}) {
  let started = false;      // the one leading BOM is only looked for in the first character
  let skipLeadingLF = false; // the previous chunk ended in CR: a LF starting this one is its CRLF pair
  let partialLine = '';
  let dataBuffer = '';
  let eventTypeBuffer = '';
  let lastEventIdBuffer = lastEventId;
  const parser = { feed, lastEventId };

  function feed(chunk) {
    if (chunk === '') return;
    if (!started) {
      started = true;
      if (chunk.charCodeAt(0) === BOM) chunk = chunk.slice(1);
      if (chunk === '') return;
    }
    let pos = 0;
    if (skipLeadingLF) {
      skipLeadingLF = false;
      if (chunk.charCodeAt(0) === LF) pos = 1;
    }
    LINE_END.lastIndex = pos;
    let match;
    while ((match = LINE_END.exec(chunk)) !== null) {
      const end = match.index;
      const line = partialLine + chunk.slice(pos, end);
      partialLine = '';
      pos = end + 1;
      if (chunk.charCodeAt(end) === CR) {
        if (pos === chunk.length) skipLeadingLF = true;
        else if (chunk.charCodeAt(pos) === LF) pos += 1;
      }
      LINE_END.lastIndex = pos;
      processLine(line);
    }
    partialLine += chunk.slice(pos);
  }

  function processLine(line) {
    if (line === '') {
      dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) {
      onComment(line.charCodeAt(1) === 32 ? line.slice(2) : line.slice(1));
      return;
    }
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
    }
    switch (field) {
      case 'event':
        eventTypeBuffer = value;
        break;
      case 'data':
        dataBuffer += value + '\n';
        break;
      case 'id':
        if (!value.includes('\0')) lastEventIdBuffer = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) onRetry(parseInt(value, 10));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  function dispatch() {
    // The last event ID is committed on every blank line, even for a block without data.
    parser.lastEventId = lastEventIdBuffer;
    if (dataBuffer === '') {
      eventTypeBuffer = '';
      return;
    }
    const event = {
      type: eventTypeBuffer === '' ? 'message' : eventTypeBuffer,
      data: dataBuffer.slice(0, -1),
      lastEventId: lastEventIdBuffer,
    };
    dataBuffer = '';
    eventTypeBuffer = '';
    onEvent(event);
  }

  // An unterminated last block is simply never dispatched: there is no "end" step.
  return parser;
}

/**
 * Bytes to events: UTF-8 decoding that keeps a leading BOM for the parser to drop (so exactly
 * one is removed) and that carries multi-byte characters split across chunks.
 */
export function createEventStreamDecoder(callbacks) {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const parser = createEventStreamParser(callbacks);
  return {
    push(bytes) {
      parser.feed(decoder.decode(bytes, { stream: true }));
    },
    get lastEventId() {
      return parser.lastEventId;
    },
  };
}
