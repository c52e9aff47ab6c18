// h2-client.mjs: SSE streams over HTTP/2 with Node's built-in `http2`
// client (nghttp2, a client nobody here wrote), many streams on one
// session, parsed with eventsource-parser like the harness' HTTP/1.1 reader.
import http2 from 'node:http2';
import fs from 'node:fs';
import { streamParser } from './harness.mjs';

// One HTTP/2 connection: h2 over TLS for https:// URLs (trusting `caFile`),
// h2c with prior knowledge for http:// URLs.
export async function connectH2(url, { caFile } = {}) {
  const opts = url.startsWith('https:') ? { ca: fs.readFileSync(caFile) } : {};
  const session = http2.connect(url, opts);
  session.on('error', () => {});       // each stream reports its own end
  await new Promise((resolve, reject) => {
    session.once('connect', resolve);
    session.once('error', reject);
  });
  return session;
}

// One request on `session`; resolves with { status, headers, body }.
export function h2Get(session, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ...headers });
    let status = 0, head = {}, body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => { status = h[':status']; head = h; });
    req.on('data', (d) => { body += d; });
    req.on('end', () => resolve({ status, headers: head, body }));
    req.on('error', reject);
    req.end();
  });
}

// Opens a stream on `session`. Returns at once (mod_http2 may queue the
// stream before it answers): `response` resolves with the headers, `events`
// fills as events arrive, `close()` resets the stream (RST_STREAM CANCEL).
export function openH2Stream(session, path, { token, lastEventId } = {}) {
  const h = { ':path': path, accept: 'text/event-stream' };
  if (token) h.authorization = `Bearer ${token}`;
  if (lastEventId) h['last-event-id'] = lastEventId;
  const req = session.request(h, { endStream: true });
  const stream = {
    req,
    status: 0,
    headers: null,
    events: [],
    comments: [],
    retry: null,
    ended: false,
    endedBy: null,
    waiters: [],
    close() {
      if (req.closed) return;
      stream.endedBy ||= 'reset';
      req.close(http2.constants.NGHTTP2_CANCEL);
    },
    next(pred = () => true, timeoutMs = 10000, from = 0) {
      const found = stream.events.slice(from).find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { pred, from, resolve, reject };
        waiter.timer = setTimeout(() => {
          stream.waiters.splice(stream.waiters.indexOf(waiter), 1);
          reject(new Error(`no matching event within ${timeoutMs} ms on ${path}; got ${JSON.stringify(stream.events.map((e) => e.event))}`));
        }, timeoutMs);
        stream.waiters.push(waiter);
      });
    },
  };
  stream.response = new Promise((resolve, reject) => {
    req.once('response', (headers) => {
      stream.status = headers[':status'];
      stream.headers = headers;
      resolve(headers);
    });
    req.once('error', reject);
  });
  stream.response.catch(() => {});
  const parser = streamParser(stream);
  req.setEncoding('utf8');
  req.on('data', (text) => parser.feed(text));
  stream.done = new Promise((resolve) => {
    req.on('end', () => { stream.endedBy ||= 'server'; });
    req.on('error', () => { stream.endedBy ||= 'error'; });
    req.on('close', () => {
      // A server that ends the response sends END_STREAM: 'end' came first.
      stream.endedBy ||= 'reset';
      stream.rstCode = req.rstCode;
      stream.ended = true;
      resolve();
    });
  });
  return stream;
}
