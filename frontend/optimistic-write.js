// optimistic-write.js: one field of one document, edited optimistically. The new value shows at
// once as "saving"; it is "saved" only when the live stream delivers the version the PATCH
// answered (the stream, not the PATCH response, is the source of truth); any failure rolls back
// to the last value the stream (or REST) confirmed, with a message that says why. No DOM here:
// the page renders what `view` says.

export const MESSAGES = {
  saving: 'Saving…',
  saved: 'Saved',
  conflict: 'Changed elsewhere — showing the latest',
  unavailable: 'Not saved — the server is unavailable',
  unconfirmed: 'Not saved — the server could not confirm it; showing what it has',
  invalid: 'Not saved — the server refused this value',
  gone: 'Not saved — this meeting is gone or not yours',
  unauthorized: 'Not saved — your access token is no longer valid',
  timeout: 'Not confirmed by live updates — showing the last confirmed value',
};

export const CONFIRM_TIMEOUT_MS = 15000;

/** The opaque version inside an ETag header ('"v"' or 'W/"v"'), or null. */
export function versionFromEtag(etag) {
  const m = /^(?:W\/)?"([^"]*)"$/.exec((etag || '').trim());
  return m ? m[1] : null;
}

/** What a failed PATCH answer means for the user: a key of MESSAGES. */
export function failureKind(status, body) {
  if (status === 412) return 'conflict';
  if (status === 503 && body && body.error === 'write_unconfirmed') return 'unconfirmed';
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'gone';
  if (status === 400 || status === 413 || status === 415 || status === 422) return 'invalid';
  return 'unavailable'; // 5xx, 428 from a proxy that dropped If-Match, network errors
}

/**
 * createFieldWriter({ meetingId, field, getToken, ... }) → { confirm, edit, display, view, on }
 *
 *   confirm(doc, version)  every document the page shows (stream or REST), with its version
 *   edit(value)            starts a save; resolves when the PATCH answered (not when saved)
 *   display(confirmedValue) the value to show: the pending one while saving, else the confirmed one
 *   view                   { state: 'idle' | 'saving' | 'saved' | 'failed', value, message }
 *   on('change', fn)       fn(view) after every change of view
 */
export function createFieldWriter({
  meetingId,
  field,
  getToken,
  baseUrl = '',
  fetch: fetchImpl = (...args) => globalThis.fetch(...args),
  clock = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id) },
  confirmTimeoutMs = CONFIRM_TIMEOUT_MS,
}) {
  const url = `${baseUrl.replace(/\/$/, '')}/v1/meetings/${encodeURIComponent(meetingId)}`;
  const listeners = [];
  let confirmedValue;        // the field as the stream (or REST) last delivered it
  let confirmedVersion = null;
  let pending = null;        // { value, base, awaited, timer } while saving
  let overdue = null;        // the version a timed-out save still waits for: it may come late
  let view = { state: 'idle', value: undefined, message: '' };

  function setView(next) {
    view = { ...next };
    for (const fn of listeners) fn(view);
  }

  function settle(state, message, value = confirmedValue) {
    if (pending && pending.timer !== null) clock.clearTimeout(pending.timer);
    pending = null;
    setView({ state, value, message });
  }

  /** A version the stream delivered: is it the one we wait for, or one past it? */
  function checkPending(doc, version) {
    if (!pending || !pending.answered) return;
    if (pending.awaited !== null && version === pending.awaited) {
      settle('saved', MESSAGES.saved);
    } else if (version !== pending.base) {
      // A later version than ours came first (two writes within one poll interval): ours was
      // stored, but what the store holds now is what counts.
      if (doc[field] === pending.value) settle('saved', MESSAGES.saved);
      else settle('failed', MESSAGES.conflict);
    }
  }

  function confirm(doc, version) {
    if (!doc || typeof doc !== 'object') return;
    confirmedValue = doc[field];
    confirmedVersion = version ?? confirmedVersion;
    if (pending) checkPending(doc, version ?? null);
    else if (overdue !== null && version === overdue) {
      overdue = null;
      setView({ state: 'saved', value: confirmedValue, message: MESSAGES.saved });
    } else if (view.state === 'idle') setView({ state: 'idle', value: confirmedValue, message: '' });
  }

  async function edit(value) {
    if (pending) return { started: false, reason: 'busy' };
    if (value === confirmedValue) return { started: false, reason: 'unchanged' };
    const base = confirmedVersion;
    overdue = null;
    pending = { value, base, awaited: null, answered: false, timer: null };
    setView({ state: 'saving', value, message: MESSAGES.saving });
    let res;
    let body = null;
    try {
      const headers = { 'Content-Type': 'application/merge-patch+json', Accept: 'application/json' };
      const token = getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (base !== null) headers['If-Match'] = `"${base}"`;
      res = await fetchImpl(url, { method: 'PATCH', headers, body: JSON.stringify({ [field]: value }), cache: 'no-store' });
      try { body = await res.json(); } catch { body = null; }
    } catch {
      settle('failed', MESSAGES.unavailable);
      return { started: true, status: 0 };
    }
    if (res.status === 200 || res.status === 204) {
      const awaited = versionFromEtag(res.headers.get('ETag'));
      if (!pending) return { started: true, status: res.status };
      pending.awaited = awaited;
      pending.answered = true;
      if (awaited !== null && confirmedVersion === awaited) {
        settle('saved', MESSAGES.saved);
      } else {
        pending.timer = clock.setTimeout(() => {
          if (pending) { pending.timer = null; overdue = pending.awaited; settle('failed', MESSAGES.timeout); }
        }, confirmTimeoutMs);
      }
      return { started: true, status: res.status, version: awaited };
    }
    const kind = failureKind(res.status, body);
    if (kind === 'conflict' && body && typeof body === 'object' && field in body) {
      // The 412 answer carries the current document: show it now, the stream will agree.
      confirmedValue = body[field];
      confirmedVersion = versionFromEtag(res.headers.get('ETag')) ?? confirmedVersion;
    }
    settle('failed', MESSAGES[kind]);
    return { started: true, status: res.status };
  }

  return {
    confirm,
    edit,
    display: (value) => (pending ? pending.value : value),
    get view() { return view; },
    get saving() { return pending !== null; },
    on(type, fn) { if (type === 'change') listeners.push(fn); },
  };
}
