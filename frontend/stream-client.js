// The live meeting stream: fetch() + ReadableStream (so it can send `Authorization: Bearer`),
// event-stream parsing, and the reconnect policy the README's "Frontend" section describes. It knows nothing
// of the DOM: the page listens to 'document' (or, for the caller's list, 'list'), 'state' and
// 'notice'. The list's state (a keyed map from snapshot/status/removed) is pure functions below. Clock, random, fetch and the
// network (online/offline) are injected so the unit tests can drive every path.

import { createEventStreamDecoder } from './event-stream-parser.js';

export const DEFAULT_BACKOFF_MS = [5000, 10000, 15000, 30000];
export const DEFAULT_KEEPALIVE_MS = 15000; // until `connected` says otherwise
export const STALL_FACTOR = 2.5;
export const RESYNC_TIMEOUT_MS = 10000;
const MAX_RETRY_AFTER_MS = 3600 * 1000;

/** Why live updates stopped for good; the page turns `kind` into a message and an action. */
const FATAL_BY_STATUS = {
  204: 'no_content',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'gone',
  410: 'gone',
};
const RETRIABLE_4XX = new Set([408, 425, 429]);

/** How much longer than its step an attempt may wait, at most: spreads the reconnects of every
 *  client that lost the same server, so they do not all come back at one instant. */
export const BACKOFF_JITTER = 0.2;

/**
 * The wait before reconnection attempt `attempt` (1-based): the schedule's step for that attempt
 * (the last step repeats), or the server's `retry:` (`floorMs`) when that is larger, plus up to
 * BACKOFF_JITTER of it at random; never below a `Retry-After`. So with `retry: 5000`: 5-6 s,
 * 10-12 s, 15-18 s, then 30-36 s. `random() = 1` gives exactly the step (tests use that).
 */
export function backoffDelay(attempt, { scheduleMs = DEFAULT_BACKOFF_MS, floorMs = 0, retryAfterMs = 0, random = Math.random } = {}) {
  const step = scheduleMs[Math.min(Math.max(attempt, 1), scheduleMs.length) - 1];
  const base = Math.max(step, floorMs, 0);
  const jittered = Math.round(base * (1 + BACKOFF_JITTER * (1 - random())));
  return Math.max(jittered, retryAfterMs);
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date; 0 when absent or bad. */
export function parseRetryAfter(value, nowMs) {
  if (value == null || value === '') return 0;
  const text = String(value).trim();
  let ms = 0;
  if (/^[0-9]+$/.test(text)) ms = parseInt(text, 10) * 1000;
  else {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** The version inside an ETag: `"v"` or `W/"v"` → `v`. */
function versionFromEtag(etag) {
  if (!etag) return null;
  const m = /^(?:W\/)?"(.*)"$/.exec(etag.trim());
  return m ? m[1] : null;
}

export const DEFAULT_RESOURCE_PATH = '/v1/meetings/';
export const DEFAULT_TIME_FIELD = 'updatedAt';

/** A document's age for "stale" checks: its `timeField` (an ISO-8601 string, updatedAt by
 *  default) as epoch ms, or null when it has none. */
export function documentTime(doc, timeField = DEFAULT_TIME_FIELD) {
  const v = doc ? doc[timeField] : undefined;
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? null : t;
}

class HttpStatusError extends Error {
  constructor(status, message, retryAfterMs) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * createStreamClient({ meetingId, getToken, ... }) → { on, start, stop, state }
 *
 * Events:
 *   'document' (doc, { source: 'stream' | 'rest', version })  a document newer than or as new as
 *                                                              the last one (stale ones are dropped)
 *   'state'    ({ phase, attempt, delayMs, reason, fatal })    phase: 'connecting' | 'live' |
 *              'retrying' | 'offline' | 'fatal' | 'stopped'; `fatal` = { kind, status, message }
 *   'notice'   ({ code, message, retryInMs } | null)           the server's `error` event (the
 *                                                              stream stays open); null clears it
 *   'list'     ({ type: 'snapshot', items, truncated, tag } | { type: 'status', doc, tag } |
 *               { type: 'removed', id, tag })                  with `list`, instead of 'document'
 *
 * With `list: { path: '/v1/meetings', query: '?status=ready' }` the client follows the caller's
 * collection: the REST resync is GET path+query (its ETag the set's tag), the stream
 * path/events+query. `lastEventId` resumes from a tag (or version) the page already shows.
 * `resourcePath` (default '/v1/meetings/') is where one document lives, before its id;
 * `timeField` (default 'updatedAt') the field whose time tells a stale document.
 */
export function createStreamClient({
  meetingId,
  getToken,
  baseUrl = '',
  fetch: fetchImpl = (...args) => globalThis.fetch(...args),
  clock = { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id) },
  random = Math.random,
  network = typeof window !== 'undefined' ? window : null,
  isOnline = () => (typeof navigator === 'undefined' || navigator.onLine !== false),
  backoffMs = DEFAULT_BACKOFF_MS,
  respectServerRetry = true,
  list = null,
  lastEventId: initialLastEventId = null,
  resourcePath = DEFAULT_RESOURCE_PATH,
  timeField = DEFAULT_TIME_FIELD,
}) {
  const listeners = { document: [], state: [], notice: [], list: [] };
  const base = baseUrl.replace(/\/$/, '');
  const resourceUrl = list
    ? `${base}${list.path}${list.query || ''}`
    : `${base}${resourcePath}${encodeURIComponent(meetingId)}`;
  const streamUrl = list ? `${base}${list.path}/events${list.query || ''}` : `${resourceUrl}/events`;

  let state = { phase: 'stopped', attempt: 0 };
  let generation = 0;        // bumps on every connection and on stop(): late callbacks of an old one are ignored
  let controller = null;     // aborts the current fetch (stream or resync)
  let retryTimer = null;
  let stallTimer = null;
  let attempt = 0;           // reconnection attempts since the stream was last live
  let serverRetryMs = 0;     // the latest `retry:` field
  let lastEventId = initialLastEventId; // sent as Last-Event-ID
  let newestTime = null;     // timeField of the newest rendered document
  let keepaliveMs = DEFAULT_KEEPALIVE_MS;
  let noticeShown = false;

  function emit(type, ...args) {
    for (const fn of listeners[type]) fn(...args);
  }

  function setState(next) {
    state = { attempt, ...next };
    emit('state', state);
  }

  function on(type, fn) {
    listeners[type].push(fn);
    return () => { listeners[type] = listeners[type].filter((f) => f !== fn); };
  }

  function authHeaders() {
    const token = getToken();
    if (!token) return null;
    return { Authorization: `Bearer ${token}` };
  }

  /** Renders `doc` unless it is older than what is on screen. */
  function offerDocument(doc, source, version) {
    const t = documentTime(doc, timeField);
    if (t !== null && newestTime !== null && t < newestTime) return false;
    if (t !== null) newestTime = t;
    emit('document', doc, { source, version });
    return true;
  }

  function clearTimers() {
    if (retryTimer !== null) clock.clearTimeout(retryTimer);
    if (stallTimer !== null) clock.clearTimeout(stallTimer);
    retryTimer = null;
    stallTimer = null;
  }

  function abortCurrent() {
    if (controller) controller.abort();
    controller = null;
  }

  function start() {
    stop({ silent: true });
    attempt = 0;
    if (network) {
      network.addEventListener('online', handleOnline);
      network.addEventListener('offline', handleOffline);
    }
    connect();
  }

  function stop({ silent = false } = {}) {
    generation += 1;
    clearTimers();
    abortCurrent();
    if (network) {
      network.removeEventListener('online', handleOnline);
      network.removeEventListener('offline', handleOffline);
    }
    if (!silent && state.phase !== 'stopped') setState({ phase: 'stopped' });
  }

  function fail(kind, status, message) {
    generation += 1;
    clearTimers();
    abortCurrent();
    setState({ phase: 'fatal', fatal: { kind, status, message } });
  }

  /** One attempt: after a drop, resync over REST first, then (re)open the stream. */
  async function connect() {
    const gen = ++generation;
    if (!authHeaders()) {
      fail('unauthorized', 401, 'No access token.');
      return;
    }
    try {
      if (attempt > 0) {
        setState({ phase: 'retrying', step: 'resyncing' });
        await resync(gen);
        if (gen !== generation) return;
      } else {
        setState({ phase: 'connecting' });
      }
      await openStream(gen);
      if (gen !== generation) return;
      scheduleRetry('stream ended', 0);
    } catch (err) {
      if (gen !== generation) return;
      const status = err instanceof HttpStatusError ? err.status : 0;
      const fatalKind = FATAL_BY_STATUS[status] || (status >= 400 && status < 500 && !RETRIABLE_4XX.has(status) ? 'rejected' : null);
      if (fatalKind) fail(fatalKind, status, err.message);
      else scheduleRetry(err.message || 'network error', err.retryAfterMs || 0);
    }
  }

  async function checkResponse(res) {
    if (res.status === 200) return;
    let message = '';
    try {
      const body = await res.json();
      message = body && (body.message || body.error) ? String(body.message || body.error) : '';
    } catch { /* not JSON: keep the status line */ }
    throw new HttpStatusError(res.status, message || `HTTP ${res.status}`, parseRetryAfter(res.headers.get('Retry-After'), clock.now()));
  }

  async function resync(gen) {
    controller = new AbortController();
    const ctl = controller;
    const timer = clock.setTimeout(() => ctl.abort(), RESYNC_TIMEOUT_MS);
    try {
      const res = await fetchImpl(resourceUrl, {
        headers: { ...authHeaders(), Accept: 'application/json' },
        cache: 'no-store',
        signal: ctl.signal,
      });
      await checkResponse(res);
      const doc = await res.json();
      if (gen !== generation) return;
      const version = versionFromEtag(res.headers.get('ETag'));
      if (list) {
        // The page now holds this set: the stream resumes from its tag, with no snapshot.
        emit('list', { type: 'snapshot', items: doc.items || [], truncated: !!doc.truncated, tag: version, source: 'rest' });
        if (version !== null) lastEventId = version;
        return;
      }
      // The page now shows this version: resume the stream from it, so the server does not
      // resend it (and a status older than it is dropped by offerDocument).
      if (offerDocument(doc, 'rest', version) && version !== null) lastEventId = version;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  function armStallTimer(gen) {
    if (stallTimer !== null) clock.clearTimeout(stallTimer);
    stallTimer = clock.setTimeout(() => {
      stallTimer = null;
      if (gen !== generation) return;
      abortCurrent();
      scheduleRetry('stalled', 0);
    }, STALL_FACTOR * keepaliveMs);
  }

  async function openStream(gen) {
    controller = new AbortController();
    const ctl = controller;
    const headers = { ...authHeaders(), Accept: 'text/event-stream' };
    if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
    keepaliveMs = DEFAULT_KEEPALIVE_MS;
    armStallTimer(gen); // also bounds a server that never answers
    const res = await fetchImpl(streamUrl, { headers, cache: 'no-store', signal: ctl.signal });
    if (gen !== generation) return;
    await checkResponse(res);
    const type = res.headers.get('Content-Type') || '';
    if (!/^text\/event-stream\b/i.test(type)) throw new Error(`unexpected Content-Type ${type}`);

    let lost = null; // connectionLost data, once received
    const decoder = createEventStreamDecoder({
      lastEventId: lastEventId ?? '',
      onRetry: (ms) => { serverRetryMs = ms; },
      onEvent: (ev) => { if (gen === generation && !lost) lost = handleEvent(ev, gen); },
    });
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (gen !== generation) return;
        if (done) break;
        armStallTimer(gen);
        decoder.push(value);
        if (decoder.lastEventId !== '') lastEventId = decoder.lastEventId;
        if (lost) break;
      }
    } finally {
      if (stallTimer !== null) { clock.clearTimeout(stallTimer); stallTimer = null; }
      reader.cancel().catch(() => {});
    }
    if (gen !== generation || !lost) return; // a clean end: connect() schedules the retry
    if (lost.reason === 'token_expired') throw new HttpStatusError(401, 'The access token expired.');
    if (lost.reason === 'not_found') throw new HttpStatusError(404, 'The meeting was deleted.');
    if (lost.reconnect === false) throw new HttpStatusError(410, `The server ended live updates (${lost.reason}).`);
    throw new Error(`connection lost: ${lost.reason}`);
  }

  /** Returns the connectionLost payload when the stream must end, else null. */
  function handleEvent(ev, gen) {
    let payload = null;
    try { payload = ev.data === '' ? null : JSON.parse(ev.data); } catch { payload = null; }
    switch (ev.type) {
      case 'connected':
        if (payload && Number.isFinite(payload.keepalive) && payload.keepalive > 0) {
          keepaliveMs = payload.keepalive;
          armStallTimer(gen);
        }
        attempt = 0;
        setState({ phase: 'live' });
        return null;
      case 'status':
        if (!payload) return null;
        if (state.phase !== 'live') { attempt = 0; setState({ phase: 'live' }); }
        if (noticeShown) { noticeShown = false; emit('notice', null); }
        if (list) emit('list', { type: 'status', doc: payload, tag: ev.lastEventId || null });
        else offerDocument(payload, 'stream', ev.lastEventId || null);
        return null;
      case 'snapshot':
        if (!list || !payload || !Array.isArray(payload.items)) return null;
        if (noticeShown) { noticeShown = false; emit('notice', null); }
        emit('list', { type: 'snapshot', items: payload.items, truncated: !!payload.truncated, tag: ev.lastEventId || null, source: 'stream' });
        return null;
      case 'removed':
        if (!list || !payload || payload._id === undefined) return null;
        emit('list', { type: 'removed', id: payload._id, tag: ev.lastEventId || null });
        return null;
      case 'error':
        noticeShown = true;
        emit('notice', payload || { code: 'error', message: ev.data });
        return null;
      case 'connectionLost':
        return payload || { reason: 'unknown', reconnect: true };
      default:
        return null;
    }
  }

  function scheduleRetry(reason, retryAfterMs) {
    generation += 1;
    clearTimers();
    abortCurrent();
    if (noticeShown) { noticeShown = false; emit('notice', null); }
    attempt += 1;
    if (!isOnline()) {
      setState({ phase: 'offline', reason });
      return;
    }
    const delayMs = backoffDelay(attempt, {
      scheduleMs: backoffMs,
      floorMs: respectServerRetry ? serverRetryMs : 0,
      retryAfterMs,
      random,
    });
    setState({ phase: 'retrying', step: 'waiting', reason, delayMs });
    retryTimer = clock.setTimeout(() => { retryTimer = null; connect(); }, delayMs);
  }

  function handleOnline() {
    if (state.phase === 'offline' || (state.phase === 'retrying' && retryTimer !== null)) {
      clearTimers();
      connect();
    }
  }

  function handleOffline() {
    if (state.phase === 'retrying' && retryTimer !== null) {
      clearTimers();
      setState({ phase: 'offline', reason: state.reason });
    }
  }

  return {
    on,
    start,
    stop: () => stop(),
    get state() { return state; },
    get lastEventId() { return lastEventId; },
  };
}

// ---- the caller's list: pure state --------------------------------------------------------

/** A list item's key: its `_id` (string, or the hex of an ObjectId as the server renders it). */
export const listKey = (id) => (typeof id === 'string' ? id : JSON.stringify(id));

/**
 * The list after one 'list' event, as a new Map (key → document); `items` is never mutated.
 * snapshot replaces everything, status adds or replaces one document, removed drops one.
 */
export function applyListEvent(items, ev) {
  if (!ev) return items;
  if (ev.type === 'snapshot') {
    const next = new Map();
    for (const doc of ev.items || []) if (doc && doc._id !== undefined) next.set(listKey(doc._id), doc);
    return next;
  }
  const next = new Map(items);
  if (ev.type === 'status' && ev.doc && ev.doc._id !== undefined) next.set(listKey(ev.doc._id), ev.doc);
  else if (ev.type === 'removed') next.delete(listKey(ev.id));
  return next;
}

/** The rows in the server's order: newest `timeField` (updatedAt) first, then by id. */
export function listRows(items, timeField = DEFAULT_TIME_FIELD) {
  return [...items.values()].sort((a, b) => {
    const ta = documentTime(a, timeField) ?? -Infinity;
    const tb = documentTime(b, timeField) ?? -Infinity;
    if (ta !== tb) return tb - ta;
    const ka = listKey(a._id);
    const kb = listKey(b._id);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** The query for a status filter: '' for none, else '?status=a,b' (each value encoded, so a
 *  comma inside a value stays part of it). Order and repeats do not matter. */
export function listFilterQuery(statuses) {
  const values = [...new Set(statuses || [])].filter((v) => typeof v === 'string' && v !== '').sort();
  return values.length ? `?status=${values.map(encodeURIComponent).join(',')}` : '';
}
