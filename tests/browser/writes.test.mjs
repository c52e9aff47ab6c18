// The in-place title edit end to end: headless Chromium against real Apache (sse-update) +
// mock-store. Saving → saved only once the stream delivers the written version; a failing store
// rolls the title back with a reason; a change made elsewhere turns the edit into a 412 and the
// latest title is shown. One Apache polling every second, and one polling every 30 s for the
// conflict, so no poll can slip between the other writer and the page's PATCH.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openPage, startBrowserSuite, stopBrowserSuite } from '../lib/browser.mjs';
import { ROOT } from '../lib/harness.mjs';

const TEST_TIMEOUT = { timeout: 90000 };
const MSG = {
  saving: 'Saving…',
  saved: 'Saved',
  unavailable: 'Not saved — the server is unavailable',
  conflict: 'Changed elsewhere — showing the latest',
};

const meeting = (id, title) => ({ _id: id, ownerId: 'alice', title, status: 'transcribing', progress: 40, updatedAt: { $date: new Date().toISOString() } });
const DATA = { meetings_app: { meetings: [meeting('edit', 'Planning'), meeting('esc', 'Keep me'), meeting('down', 'Before the outage'), meeting('race', 'Original')] } };

let apache, slowApache, mongo, meetings, browser, alice;

const suite = {};
before(async () => {
  ({ apache, slowApache, mongo, meetings, browser, alice } = await startBrowserSuite(suite, { data: DATA, apaches: {
    apache: { pollInterval: '1s', keepalive: '5s' },
    slowApache: { pollInterval: '30s', keepalive: '5s' },
  } }));
});
after(() => stopBrowserSuite(suite));

/** The meeting page in a fresh context, recording live-region announcements, title-state
 * changes (with the time each happened) and every PATCH answer. */
async function openMeetingPage(id, server = apache) {
  const patches = [];
  const { context, page } = await openPage(browser, {
    url: server.url, pathname: `meetings.html?id=${id}`, token: alice,
    context: { viewport: { width: 960, height: 720 }, reducedMotion: 'reduce' },
    init: [() => {
      window.__announcements = [];
      window.__titleStates = [];
      document.addEventListener('DOMContentLoaded', () => {
        const live = document.getElementById('connection-live');
        new MutationObserver(() => window.__announcements.push(live.textContent))
          .observe(live, { childList: true, characterData: true, subtree: true });
        const state = document.getElementById('meeting-title-state');
        const title = document.getElementById('meeting-title');
        new MutationObserver(() => window.__titleStates.push({ state: state.dataset.state, text: state.textContent, title: title.textContent, at: Date.now() }))
          .observe(state, { attributes: true, childList: true, characterData: true, subtree: true });
      });
    }],
    onPage: (page) => page.on('response', (res) => {
      if (res.request().method() === 'PATCH') patches.push({ status: res.status(), etag: res.headers().etag, at: Date.now() });
    }),
  });
  await page.waitForFunction(() => document.body.dataset.connection === 'live');
  await page.locator('#meeting-title-edit').waitFor({ state: 'visible' });
  return { context, page, patches };
}

const titleText = (page) => page.locator('#meeting-title').textContent();
const waitState = (page, state, timeout = 15000) =>
  page.waitForFunction((s) => document.getElementById('meeting-title-state').dataset.state === s, state, { timeout });

/** Edits the title with the keyboard only: focus the button, Enter, type, Enter. */
async function editWithKeyboard(page, value) {
  await page.locator('#meeting-title-edit').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'meeting-title-input', 'the field takes focus');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(value);
  await page.keyboard.press('Enter');
}

test('edit → "Saving…" at once → "Saved" when the stream delivers the version the PATCH answered', TEST_TIMEOUT, async () => {
  const { context, page, patches } = await openMeetingPage('edit');
  try {
    assert.equal(await titleText(page), 'Planning');
    // the field is labelled for screen readers
    assert.equal(await page.locator('#meeting-title-input').evaluate((el) => el.labels[0].textContent), 'Meeting title');
    await editWithKeyboard(page, 'Planning, renamed');
    assert.equal(await titleText(page), 'Planning, renamed', 'the new title shows at once');
    await waitState(page, 'saved');
    assert.equal(await titleText(page), 'Planning, renamed');
    assert.equal(await page.locator('#meeting-title-state').textContent(), MSG.saved);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'meeting-title-edit', 'focus returns to the button');

    const states = await page.evaluate(() => window.__titleStates);
    const saving = states.find((s) => s.state === 'saving');
    const saved = states.find((s) => s.state === 'saved');
    assert.ok(saving && saving.text === MSG.saving && saving.title === 'Planning, renamed', JSON.stringify(states));
    assert.equal(patches.length, 1);
    assert.equal(patches[0].status, 200);
    assert.ok(saved.at >= patches[0].at, 'saved only after the PATCH answered');
    // the stream, not the PATCH, confirmed it: the status event with the PATCH's ETag arrived
    const version = patches[0].etag.slice(1, -1);
    assert.equal((await meetings.findOne({ _id: 'edit' })).updatedAt.toISOString(), version);
    const announced = await page.evaluate(() => window.__announcements);
    assert.ok(announced.includes(MSG.saving) && announced.includes(MSG.saved), JSON.stringify(announced));
    assert.equal((await meetings.findOne({ _id: 'edit' })).title, 'Planning, renamed');
    fs.mkdirSync(path.join(ROOT, 'build/screenshots'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'build/screenshots/screenshot-title-saved.png') });
  } finally {
    await context.close();
  }
});

test('Escape cancels the edit: nothing is sent, the title stays, focus returns to the button', TEST_TIMEOUT, async () => {
  const { context, page, patches } = await openMeetingPage('esc');
  try {
    await page.locator('#meeting-title-edit').click();
    await page.keyboard.type(' and more');
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#meeting-title-form').isVisible(), false);
    assert.equal(await titleText(page), 'Keep me');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'meeting-title-edit');
    await page.waitForTimeout(300);
    assert.equal(patches.length, 0);
  } finally {
    await context.close();
  }
});

test('a failing update (failCommand on update) rolls the title back and says the server is unavailable', TEST_TIMEOUT, async () => {
  const { context, page, patches } = await openMeetingPage('down');
  const admin = mongo.db('admin');
  await admin.command({ configureFailPoint: 'failCommand', mode: 'alwaysOn', data: { failCommands: ['update'], errorCode: 91 } });
  try {
    await editWithKeyboard(page, 'Never stored');
    await waitState(page, 'failed');
    assert.equal(await titleText(page), 'Before the outage', 'rolled back to the last confirmed title');
    assert.equal(await page.locator('#meeting-title-state').textContent(), MSG.unavailable);
    assert.equal(patches[0].status, 503);
    const states = await page.evaluate(() => window.__titleStates);
    assert.ok(states.some((s) => s.state === 'saving' && s.title === 'Never stored'), 'it showed as saving first');
    assert.ok((await page.evaluate(() => window.__announcements)).includes(MSG.unavailable));
    assert.equal((await meetings.findOne({ _id: 'down' })).title, 'Before the outage');
  } finally {
    await admin.command({ configureFailPoint: 'failCommand', mode: 'off' });
    await context.close();
  }
});

test('a change made elsewhere: the edit gets 412 and the page shows the latest title with the reason', TEST_TIMEOUT, async () => {
  const { context, page, patches } = await openMeetingPage('race', slowApache);
  try {
    assert.equal(await titleText(page), 'Original');
    // Another writer moves the document on; this page's stream polls again only in 30 s.
    await meetings.updateOne({ _id: 'race' }, { $set: { title: 'Changed in another tab' }, $currentDate: { updatedAt: true } });
    await editWithKeyboard(page, 'Mine');
    await waitState(page, 'failed');
    assert.equal(patches[0].status, 412);
    assert.equal(await titleText(page), 'Changed in another tab');
    assert.equal(await page.locator('#meeting-title-state').textContent(), MSG.conflict);
    assert.ok((await page.evaluate(() => window.__announcements)).includes(MSG.conflict));
    assert.equal((await meetings.findOne({ _id: 'race' })).title, 'Changed in another tab');
  } finally {
    await context.close();
  }
});
