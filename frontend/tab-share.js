// One list stream for every tab of this origin that shows the same list: the tabs elect a leader
// with a Web Lock held for the leader's whole life; the leader runs the stream and relays what it
// hears over a BroadcastChannel; the others only listen. When the leader tab closes, the browser
// releases its lock and the next waiting tab takes over, resuming from the last tag it heard (so
// the server sends no snapshot). Knows nothing of the DOM; the lock and channel are injectable.

/**
 * createSharedList({ key, startStream, getList, onEvent, onState, onNotice, onRole })
 *   key          which list: tabs with the same key share one stream (caller + filter)
 *   startStream  (lastEventId, { event, state, notice }) → { stop() }: opens the stream (leader only)
 *   getList      () → { items, truncated, tag }: what this tab shows, for a tab that joins
 *   onEvent      a list event ({ type: 'snapshot' | 'status' | 'removed', ... }) to apply
 *   onState      (state, { relayed }) the stream client's state ({ phase, attempt, ... }); relayed
 *                is true in a follower (the leader's stream), false for this tab's own stream
 *   onNotice     the server's `error` notice, or null
 *   onRole       'leader' | 'follower'
 */
export function createSharedList({
  key, startStream, getList, onEvent, onState, onNotice = () => {}, onRole = () => {},
  locks = typeof navigator !== 'undefined' ? navigator.locks : undefined,
  Channel = typeof BroadcastChannel !== 'undefined' ? BroadcastChannel : undefined,
}) {
  const name = `sse-list:${key}`;
  const channel = Channel ? new Channel(name) : null;
  const abort = new AbortController();
  let role = null;
  let stream = null;
  let release = null;
  let lastState = null;
  let tag = null;
  let stopped = false;

  const post = (msg) => { if (channel && !stopped) channel.postMessage(msg); };
  const setRole = (r) => { role = r; onRole(r); };

  const relay = {
    event(ev) {
      if (ev.tag) tag = ev.tag;
      onEvent(ev);
      post({ kind: 'event', ev });
    },
    state(s) {
      lastState = s;
      onState(s, { relayed: false });
      post({ kind: 'state', state: s });
    },
    notice(n) {
      onNotice(n);
      post({ kind: 'notice', notice: n });
    },
  };

  function lead() {
    setRole('leader');
    stream = startStream(tag, relay);
    return new Promise((resolve) => { release = resolve; });
  }

  if (channel) {
    channel.onmessage = ({ data }) => {
      if (stopped || !data) return;
      if (role === 'leader') {
        // A tab that just opened: give it the list as this tab holds it.
        if (data.kind === 'hello') {
          const list = getList();
          post({ kind: 'sync', items: list.items, truncated: list.truncated, tag: list.tag, state: lastState });
        }
        return;
      }
      if (data.kind === 'event') {
        if (data.ev.tag) tag = data.ev.tag;
        onEvent(data.ev);
      } else if (data.kind === 'sync') {
        tag = data.tag;
        onEvent({ type: 'snapshot', items: data.items, truncated: data.truncated, tag: data.tag, source: 'tab' });
        if (data.state) { lastState = data.state; onState(data.state, { relayed: true }); }
      } else if (data.kind === 'state') {
        lastState = data.state;
        onState(data.state, { relayed: true });
      } else if (data.kind === 'notice') {
        onNotice(data.notice);
      }
    };
  }

  if (locks && channel) {
    setRole('follower');
    post({ kind: 'hello' });
    locks.request(name, { signal: abort.signal }, () => (stopped ? undefined : lead()))
      .catch(() => { /* aborted by stop() */ });
  } else {
    lead();      // no Web Locks or BroadcastChannel: this tab streams on its own
  }

  return {
    get role() { return role; },
    get tag() { return tag; },
    stop() {
      if (stopped) return;
      stopped = true;
      abort.abort();
      if (stream) stream.stop();
      stream = null;
      if (release) release();
      if (channel) channel.close();
    },
  };
}

/** The part of a JWT that names the caller (its payload's `sub`), without verifying anything:
 *  only to keep the lists of two different people in two tabs apart. */
export function tokenSubject(token) {
  try {
    const part = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(decodeURIComponent(escape(atob(part))));
    return typeof json.sub === 'string' || typeof json.sub === 'number' ? String(json.sub) : '';
  } catch {
    return '';
  }
}
