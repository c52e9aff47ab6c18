// The meeting-status page: wires the stream client (stream-client.js) to the DOM, and owns the
// token through token-session.js (sessionStorage["sse.token"], #token=, the paste form, Log out).
// Stream options set from outside the page (a deployment, a test) come from stream-options.js.

import { createStreamClient } from './stream-client.js';
import { pageStreamOptions } from './stream-options.js';
import { createConnectionBanner } from './connection-banner.js';
import {
  getToken, forgetToken, adoptTokenFromFragment, onTokenPasted, fatalMessage,
} from './token-session.js';
import { createFieldWriter } from './optimistic-write.js';

const STEPS = ['uploaded', 'transcribing', 'summarizing', 'ready'];

const FATAL_MESSAGES = {
  unauthorized: 'Your access token is missing, invalid or has expired. Paste a new token to continue.',
  forbidden: 'You do not have access to this meeting.',
  gone: 'This meeting is gone. It may have been deleted, or it is not shared with you.',
  no_content: 'The server has no live updates for this meeting.',
  rejected: 'The server refused the request.',
};

const $ = (id) => document.getElementById(id);
const els = {
  logout: $('logout'),
  banner: $('connection-banner'),
  retryCount: $('connection-retry-count'),
  live: $('connection-live'),
  error: $('connection-error'),
  meeting: $('meeting'),
  meetingId: $('meeting-id'),
  title: $('meeting-title'),
  titleEdit: $('meeting-title-edit'),
  titleForm: $('meeting-title-form'),
  titleInput: $('meeting-title-input'),
  titleCancel: $('meeting-title-cancel'),
  titleState: $('meeting-title-state'),
  status: $('meeting-status'),
  steps: $('meeting-steps'),
  progress: $('meeting-progress'),
  progressText: $('meeting-progress-text'),
  updated: $('meeting-updated'),
  notice: $('meeting-notice'),
  tokenPanel: $('token-panel'),
  tokenForm: $('token-form'),
  tokenInput: $('token-input'),
};

const meetingId = new URLSearchParams(location.search).get('id');
let client = null;
let current = null;      // the document on screen
let titleWriter = null;  // the in-place title edit: saving until the stream confirms it

// ---- rendering ------------------------------------------------------------------------------

function render(doc) {
  current = doc;
  els.meeting.hidden = false;
  els.meeting.classList.remove('is-stopped');
  renderTitle(titleWriter ? titleWriter.display(doc.title) : doc.title);

  const status = typeof doc.status === 'string' ? doc.status : 'unknown';
  els.status.textContent = status;
  els.status.dataset.status = status;

  const at = STEPS.indexOf(status);
  for (const li of els.steps.children) {
    const i = STEPS.indexOf(li.dataset.step);
    li.classList.toggle('is-done', at >= 0 && (i < at || status === 'ready'));
    li.classList.toggle('is-current', i === at);
    if (i === at) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }

  const progress = Number.isFinite(doc.progress) ? Math.min(100, Math.max(0, Math.round(doc.progress))) : 0;
  els.progress.setAttribute('aria-valuenow', String(progress));
  els.progress.style.setProperty('--progress', `${progress}%`);
  els.progressText.textContent = `${progress}%`;
  renderUpdated();
}

function renderTitle(value) {
  const title = typeof value === 'string' && value.trim() ? value : `Meeting ${meetingId}`;
  els.title.textContent = title;
  document.title = `${title} · Meeting status`;
}

// ---- the in-place title edit ----------------------------------------------------------------

function renderTitleView(view) {
  if (current) renderTitle(view.value);
  els.title.dataset.saving = String(view.state === 'saving');
  els.titleState.dataset.state = view.state;
  els.titleState.textContent = view.message;
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus
  els.titleEdit.setAttribute('aria-disabled', String(view.state === 'saving'));
  if (view.message) announce(view.message);
}

function openTitleEditor() {
  if (titleWriter.saving) return; // one save at a time
  els.titleInput.value = els.title.textContent;
  els.titleForm.hidden = false;
  els.titleEdit.hidden = true;
  els.titleInput.focus();
  els.titleInput.select();
}

function closeTitleEditor() {
  els.titleForm.hidden = true;
  els.titleEdit.hidden = false;
  els.titleEdit.focus();
}

function setUpTitleEditor() {
  titleWriter = createFieldWriter({ meetingId, field: 'title', getToken });
  titleWriter.on('change', renderTitleView);
  els.titleEdit.addEventListener('click', openTitleEditor);
  els.titleCancel.addEventListener('click', closeTitleEditor);
  els.titleInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); closeTitleEditor(); }
  });
  els.titleForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = els.titleInput.value.trim();
    closeTitleEditor();
    if (value) titleWriter.edit(value);
  });
}

function describeAge(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `updated ${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `updated ${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `updated ${h} h ago`;
  return `updated ${Math.floor(h / 24)} days ago`;
}

function renderUpdated() {
  const at = current && typeof current.updatedAt === 'string' ? Date.parse(current.updatedAt) : NaN;
  if (Number.isNaN(at)) {
    els.updated.textContent = '';
    els.updated.removeAttribute('datetime');
    return;
  }
  els.updated.dateTime = current.updatedAt;
  els.updated.title = new Date(at).toLocaleString();
  els.updated.textContent = describeAge(Date.now() - at);
}

function announce(text) {
  els.live.textContent = text;
}

const connection = createConnectionBanner({ banner: els.banner, retryCount: els.retryCount, announce });

function showError(text) {
  els.error.textContent = text;
}

function showTokenPanel(show) {
  els.tokenPanel.hidden = !show;
  els.logout.hidden = show || !getToken();
}

function renderConnection(state) {
  connection.render(state);

  if (state.phase === 'live' || state.phase === 'connecting') showError('');
  if (state.phase === 'fatal') renderFatal(state.fatal);
}

function renderFatal(fatal) {
  const { kind } = fatal;
  showError(fatalMessage(FATAL_MESSAGES, fatal));
  els.meeting.classList.add('is-stopped');
  if (kind === 'gone' || !current) els.meeting.hidden = true; // nothing worth keeping on screen
  if (kind === 'unauthorized') {
    forgetToken();
    showTokenPanel(true);
  }
}

function renderNotice(notice) {
  els.notice.hidden = !notice;
  els.notice.textContent = notice
    ? 'The meeting store is not answering right now; this page updates again as soon as it is back.'
    : '';
}

// ---- lifecycle ------------------------------------------------------------------------------

function connect() {
  if (client) client.stop();
  showError('');
  showTokenPanel(false);
  els.meeting.hidden = false;
  client = createStreamClient({
    meetingId,
    getToken,
    ...pageStreamOptions(),
  });
  client.on('document', (doc, { version } = {}) => {
    titleWriter.confirm(doc, version);
    render(doc);
    if (els.titleForm.hidden) els.titleEdit.hidden = false;
  });
  client.on('state', renderConnection);
  client.on('notice', renderNotice);
  client.start();
}

function logOut() {
  if (client) client.stop();
  client = null;
  forgetToken();
  connection.reset();
  showError('');
  els.meeting.hidden = true;
  els.titleEdit.hidden = true;
  els.titleForm.hidden = true;
  showTokenPanel(true);
  announce('Logged out.');
}

function init() {
  adoptTokenFromFragment();
  if (!meetingId) {
    showError('No meeting selected. Open this page as meetings.html?id=<meeting id>.');
    return;
  }
  els.meetingId.textContent = meetingId;

  els.logout.addEventListener('click', logOut);
  setUpTitleEditor();
  onTokenPasted(els.tokenForm, els.tokenInput, connect);

  // Leaving the page closes the stream; coming back from the back/forward cache reopens it.
  window.addEventListener('pagehide', () => { if (client) client.stop(); });
  window.addEventListener('pageshow', (e) => { if (e.persisted && client && getToken()) connect(); });
  setInterval(renderUpdated, 1000);

  if (getToken()) connect();
  else showTokenPanel(true);
}

init();
