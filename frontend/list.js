// "My meetings" (index.html): every meeting of the caller with its live status and progress,
// from one list stream (stream-client.js in list mode) that the tabs of this origin share
// (tab-share.js). The status chips map to ?status= on the list and its stream; each row links to
// the meeting page. Token handling is token-session.js, shared with the meeting page.
//
// Stream options set from outside the page come from stream-options.js, as on the meeting page.
// `window.__sseListRole` mirrors this tab's role ('leader' or 'follower') for tests and people
// debugging.

import { createStreamClient, applyListEvent, listRows, listFilterQuery } from './stream-client.js';
import { createSharedList, tokenSubject } from './tab-share.js';
import { pageStreamOptions } from './stream-options.js';
import { createConnectionBanner } from './connection-banner.js';
import {
  getToken, forgetToken, adoptTokenFromFragment, onTokenPasted, fatalMessage,
} from './token-session.js';

const STATUSES = ['uploaded', 'transcribing', 'summarizing', 'ready'];
const FATAL_MESSAGES = {
  unauthorized: 'Your access token is missing, invalid or has expired. Paste a new token to continue.',
  forbidden: 'You do not have access to these meetings.',
  gone: 'This list is not available.',
  no_content: 'The server has no live updates for this list.',
  rejected: 'The server refused the request.',
};

const $ = (id) => document.getElementById(id);
const els = {
  logout: $('logout'),
  banner: $('connection-banner'),
  retryCount: $('connection-retry-count'),
  live: $('connection-live'),
  error: $('connection-error'),
  list: $('list'),
  count: $('list-count'),
  chips: [...document.querySelectorAll('#status-filter .chip')],
  rows: $('meeting-list'),
  empty: $('list-empty'),
  truncated: $('list-truncated'),
  notice: $('list-notice'),
  tokenPanel: $('token-panel'),
  tokenForm: $('token-form'),
  tokenInput: $('token-input'),
};

let items = new Map();
let truncated = false;
let tag = null;
let shared = null;
let selected = new Set(
  (new URLSearchParams(location.search).get('status') || '').split(',').filter((s) => STATUSES.includes(s)),
);

// ---- rendering ------------------------------------------------------------------------------

function rowFor(doc) {
  const li = document.createElement('li');
  li.className = 'meeting-row';
  const a = document.createElement('a');
  const id = typeof doc._id === 'string' ? doc._id : String(doc._id);
  a.href = `meetings.html?id=${encodeURIComponent(id)}`;
  const title = document.createElement('span');
  title.className = 'row-title';
  const status = document.createElement('span');
  status.className = 'row-status status-pill';
  const bar = document.createElement('span');
  bar.className = 'row-bar';
  const track = document.createElement('span');
  track.className = 'progress-track';
  track.setAttribute('role', 'progressbar');
  track.setAttribute('aria-valuemin', '0');
  track.setAttribute('aria-valuemax', '100');
  const fill = document.createElement('span');
  fill.className = 'progress-fill';
  fill.style.display = 'block';
  track.append(fill);
  const pct = document.createElement('span');
  pct.className = 'row-progress';
  bar.append(track, pct);
  a.append(title, status, bar);
  li.append(a);
  li.dataset.id = id;
  return li;
}

function fillRow(li, doc) {
  const title = typeof doc.title === 'string' && doc.title.trim() ? doc.title : `Meeting ${li.dataset.id}`;
  const status = typeof doc.status === 'string' ? doc.status : 'unknown';
  const progress = Number.isFinite(doc.progress) ? Math.min(100, Math.max(0, Math.round(doc.progress))) : 0;
  li.dataset.status = status;
  li.querySelector('.row-title').textContent = title;
  const pill = li.querySelector('.row-status');
  pill.textContent = status;
  pill.dataset.status = status;
  const track = li.querySelector('.progress-track');
  track.setAttribute('aria-valuenow', String(progress));
  track.setAttribute('aria-label', `${title}: ${progress}%`);
  li.querySelector('.progress-fill').style.width = `${progress}%`;
  li.querySelector('.row-progress').textContent = `${progress}%`;
}

function render() {
  const rows = listRows(items);
  const existing = new Map([...els.rows.children].map((li) => [li.dataset.id, li]));
  const wanted = [];
  for (const doc of rows) {
    const id = typeof doc._id === 'string' ? doc._id : String(doc._id);
    const li = existing.get(id) || rowFor(doc);
    existing.delete(id);
    fillRow(li, doc);
    wanted.push(li);
  }
  for (const li of existing.values()) li.remove();
  wanted.forEach((li, i) => { if (els.rows.children[i] !== li) els.rows.insertBefore(li, els.rows.children[i] || null); });
  els.empty.hidden = rows.length > 0;
  els.truncated.hidden = !truncated;
  els.count.textContent = `${rows.length} meeting${rows.length === 1 ? '' : 's'}`;
}

function applyEvent(ev) {
  items = applyListEvent(items, ev);
  if (ev.type === 'snapshot') truncated = !!ev.truncated;
  if (ev.tag) tag = ev.tag;
  render();
}

function announce(text) { els.live.textContent = text; }

const connection = createConnectionBanner({ banner: els.banner, retryCount: els.retryCount, announce });
function showError(text) { els.error.textContent = text; }

function showTokenPanel(show) {
  els.tokenPanel.hidden = !show;
  els.logout.hidden = show || !getToken();
}

function renderConnection(state, { relayed = false } = {}) {
  connection.render(state);
  if (state.phase === 'live' || state.phase === 'connecting') showError('');
  if (state.phase === 'fatal') {
    const { kind } = state.fatal;
    showError(fatalMessage(FATAL_MESSAGES, state.fatal));
    // Only this tab's own stream decides about this tab's token: a follower keeps its token
    // and waits, and takes over (with that token) when the leader gives up.
    if (kind === 'unauthorized' && !relayed) {
      forgetToken();
      stop();
      els.list.hidden = true;
      showTokenPanel(true);
    }
  }
}

function renderNotice(notice) {
  els.notice.hidden = !notice;
  els.notice.textContent = notice
    ? 'The meeting store is not answering right now; this list updates again as soon as it is back.'
    : '';
}

function renderChips() {
  for (const chip of els.chips) chip.setAttribute('aria-pressed', String(selected.has(chip.dataset.status)));
}

// ---- lifecycle ------------------------------------------------------------------------------

function stop() {
  if (shared) shared.stop();
  shared = null;
}

function connect() {
  stop();
  showError('');
  showTokenPanel(false);
  els.list.hidden = false;
  items = new Map();
  tag = null;
  render();
  const query = listFilterQuery([...selected]);
  const streamOptions = pageStreamOptions();
  shared = createSharedList({
    key: `${tokenSubject(getToken())}|${query}`,
    getList: () => ({ items: listRows(items), truncated, tag }),
    onEvent: applyEvent,
    onState: renderConnection,
    onNotice: renderNotice,
    onRole: (role) => { window.__sseListRole = role; document.body.dataset.role = role; },
    startStream(lastEventId, relay) {
      const client = createStreamClient({
        getToken,
        list: { path: '/v1/meetings', query },
        lastEventId,
        ...streamOptions,
      });
      client.on('list', relay.event);
      client.on('state', relay.state);
      client.on('notice', relay.notice);
      client.start();
      return client;
    },
  });
}

function setFilter(next) {
  selected = next;
  renderChips();
  const query = listFilterQuery([...selected]);
  history.replaceState(history.state, '', location.pathname + query);
  if (getToken()) connect();
}

function logOut() {
  stop();
  forgetToken();
  connection.reset();
  showError('');
  els.list.hidden = true;
  showTokenPanel(true);
  announce('Logged out.');
}

function init() {
  adoptTokenFromFragment();
  renderChips();
  for (const chip of els.chips) {
    chip.addEventListener('click', () => {
      const next = new Set(selected);
      if (next.has(chip.dataset.status)) next.delete(chip.dataset.status);
      else next.add(chip.dataset.status);
      setFilter(next);
    });
  }
  els.logout.addEventListener('click', logOut);
  onTokenPasted(els.tokenForm, els.tokenInput, connect);
  window.addEventListener('pagehide', stop);
  window.addEventListener('pageshow', (e) => { if (e.persisted && getToken()) connect(); });
  if (getToken()) connect();
  else showTokenPanel(true);
}

init();
