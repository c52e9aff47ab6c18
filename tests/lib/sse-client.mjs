// sse-client.mjs: a small stream client that behaves like the frontend's on
// the wire: GET the stream with a bearer token, remember the last event id,
// and when the stream ends or fails, reconnect after a short jittered backoff
// with Last-Event-ID. One plain HTTP connection per attempt (no pooling), so
// an instance that dies takes exactly its own streams with it.
//
// Everything it saw is kept per connection, for the tests to judge.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createParser } from 'eventsource-parser';

export function startReconnectingClient(url, {
  token, lastEventId = null, backoffMs = [100, 300], maxAttempts = 40, onEvent = () => {},
} = {}) {
  const u = new URL(url);
  const client = {
    lastEventId,
    connections: [],     // { instance, status, events: [], openedAt, endedAt, endedBy }
    attempts: 0,
    stopped: false,
    gaveUp: null,
    get current() { return client.connections[client.connections.length - 1]; },
    // All `status` events, in order, over every connection.
    statuses() { return client.connections.flatMap((c) => c.events.filter((e) => e.event === 'status')); },
    stop() {
      client.stopped = true;
      clearTimeout(client.timer);
      client.req?.destroy();
    },
  };

  const reconnect = () => {
    if (client.stopped) return;
    if (client.attempts >= maxAttempts) { client.gaveUp = `after ${client.attempts} attempts`; return; }
    const [lo, hi] = backoffMs;
    client.timer = setTimeout(connect, lo + Math.random() * (hi - lo));
  };

  function connect() {
    if (client.stopped) return;
    client.attempts += 1;
    const conn = { instance: null, status: 0, events: [], openedAt: Date.now(), endedAt: null, endedBy: null, sentLastEventId: client.lastEventId };
    client.connections.push(conn);
    const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
    if (client.lastEventId) headers['Last-Event-ID'] = client.lastEventId;
    let finished = false;
    const finish = (why) => {
      if (finished) return;
      finished = true;
      conn.endedAt = Date.now();
      conn.endedBy = why;
      const lost = conn.events.find((e) => e.event === 'connectionLost');
      if (lost && lost.json && lost.json.reconnect === false) { client.gaveUp = lost.json.reason; return; }
      reconnect();
    };
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent: false });
    client.req = req;
    req.setTimeout(30000, () => req.destroy(new Error('no response in 30 s')));
    req.on('error', (err) => finish(`error: ${err.code || err.message}`));
    req.on('response', (res) => {
      conn.status = res.statusCode;
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => finish(`http ${res.statusCode}`));
        res.on('error', () => finish(`http ${res.statusCode}`));
        return;
      }
      req.setTimeout(0);
      const parser = createParser({
        onEvent(ev) {
          const e = { event: ev.event || 'message', id: ev.id, data: ev.data, at: Date.now() };
          try { e.json = JSON.parse(ev.data); } catch { /* not JSON */ }
          if (ev.id !== undefined) client.lastEventId = ev.id;
          if (e.event === 'connected' && e.json) conn.instance = e.json.instance;
          conn.events.push(e);
          onEvent(e, conn, client);
        },
      });
      res.setEncoding('utf8');
      res.on('data', (text) => parser.feed(text));
      res.on('end', () => finish('end'));
      res.on('error', (err) => finish(`error: ${err.code || err.message}`));
      res.on('close', () => finish('close'));
    });
  }

  connect();
  return client;
}

// Resolves when `cond()` is true; checks every `stepMs`, fails after `timeoutMs`.
export async function waitUntil(cond, timeoutMs, what, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Asserts a fetch() answer is a 401 with mod_sse's RFC 6750 challenge (realm "sse"): for
 * error 'missing_token' exactly `Bearer realm="sse"`, for 'invalid_token' the error with a
 * quoted error_description; `challenge` is a pattern the header must match too; with `error`
 * the JSON body's error is checked. `what` names the case in messages. Returns the challenge.
 */
export async function assertBearer401(res, { error, challenge, what } = {}) {
  const say = (m) => (what ? `${what}: ${m}` : m);
  assert.equal(res.status, 401, say('status'));
  const header = res.headers.get('www-authenticate') || '';
  assert.match(header, /^Bearer realm="sse"/, say('Bearer challenge'));
  if (error === 'missing_token') assert.equal(header, 'Bearer realm="sse"', say('challenge'));
  if (error === 'invalid_token') {
    assert.match(header, /^Bearer realm="sse", error="invalid_token", error_description="[^"]+"$/, say('challenge'));
  }
  if (challenge) assert.match(header, challenge, say('challenge'));
  if (error) assert.equal((await res.json()).error, error, say('body'));
  return header;
}
