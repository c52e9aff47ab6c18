// The meeting-status page end to end: Debian's headless Chromium (driven by playwright-core)
// against real Apache + mod_sse + mock-store, all started here on 127.0.0.1.
//
// Screenshots go to build/screenshots/; with UPDATE_SCREENSHOTS=1 also to docs/ (the README's
// pictures), so an ordinary `make test` leaves the work tree clean.
//
// Most tests set `window.sseStreamOptions` (see frontend/stream-options.js) so a reconnect
// takes well under a second instead of 5 s; "the first reconnect waits the real 5 s" does not.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openPage, screenshot, BANNER_TEXT, startBrowserSuite, stopBrowserSuite } from '../lib/browser.mjs';
import { mintToken } from '../lib/harness.mjs';

const TEST_TIMEOUT = { timeout: 90000 };

const now = () => new Date();
const meeting = (id, title, status, progress, ownerId = 'alice') =>
  ({ _id: id, ownerId, title, status, progress, updatedAt: { $date: now().toISOString() } });

const DATA = {
  meetings_app: {
    meetings: [
      meeting('m1', 'Quarterly planning — product & design', 'transcribing', 40),
      meeting('outage', 'Customer interview: onboarding', 'transcribing', 35),
      meeting('five', 'Standup', 'uploaded', 5),
      meeting('leave', 'Retro', 'summarizing', 80),
      meeting('phone', 'Board meeting with a rather long title that wraps on a phone', 'summarizing', 65),
      meeting('bobs', 'Bob only', 'uploaded', 0, 'bob'),
    ],
  },
};

let apache, meetings, browser, alice;
let apacheDown = false;

async function stopApache() { apacheDown = true; await apache.stop(); }
async function startApacheAgain() { await apache.start(); apacheDown = false; }

const suite = {};
before(async () => {
  ({ apache, meetings, browser, alice } = await startBrowserSuite(suite, {
    data: DATA, apaches: { apache: { pollInterval: '1s', keepalive: '5s' } },
  }));
});

after(async () => {
  if (process.env.SSE_BROWSER_DEBUG && apache) console.log(apache.errorLog().split('\n').slice(-60).join('\n'));
  await stopBrowserSuite(suite);
});

/**
 * A fresh browser context on the meeting page, with a log of every /v1/ request (in order, with
 * its headers, response status or failure) and a record of what the live region announced.
 */
function openMeetingPage(id, { token = alice, fastBackoff = true, viewport = { width: 960, height: 720 } } = {}) {
  return openPage(browser, {
    url: apache.url, pathname: `meetings.html?id=${id}`, token, fastBackoff,
    // reduced motion: the progress bar is drawn at its value at once, for steady screenshots
    context: { viewport, deviceScaleFactor: 1, reducedMotion: 'reduce' },
    init: [() => {
      window.__announcements = [];
      window.__focusMoves = 0;
      window.__bannerShown = [];  // performance.now() each time the banner appears
      window.__fetches = [];      // performance.now() and URL of each fetch() the page makes
      const realFetch = window.fetch;
      window.fetch = (input, init) => {
        window.__fetches.push({ url: String(input), at: performance.now() });
        return realFetch(input, init);
      };
      document.addEventListener('DOMContentLoaded', () => {
        const live = document.getElementById('connection-live');
        new MutationObserver(() => window.__announcements.push(live.textContent))
          .observe(live, { childList: true, characterData: true, subtree: true });
        const banner = document.getElementById('connection-banner');
        new MutationObserver(() => { if (!banner.hidden) window.__bannerShown.push(performance.now()); })
          .observe(banner, { attributes: true, attributeFilter: ['hidden'] });
        document.addEventListener('focusin', () => { window.__focusMoves += 1; });
      });
    }],
    onPage: (page) => { if (process.env.SSE_BROWSER_DEBUG) page.on('console', (m) => console.log(`[${id}] ${m.text()}`)); },
  });
}

const text = (page, sel) => page.locator(sel).textContent();
const waitText = (page, sel, expected, timeout = 15000) =>
  page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [sel, expected], { timeout });
const waitPhase = (page, phase, timeout = 15000) =>
  page.waitForFunction((p) => document.body.dataset.connection === p, phase, { timeout });

async function setMeeting(id, fields) {
  await meetings.updateOne({ _id: id }, { $set: { ...fields, updatedAt: now() } });
}

// ---- live ---------------------------------------------------------------------------------

test('the live status shows and changes without a reload; the stream carries the bearer header', TEST_TIMEOUT, async () => {
  const { context, page, log } = await openMeetingPage('m1');
  try {
    await waitText(page, '#meeting-status', 'transcribing');
    await waitPhase(page, 'live');
    await page.evaluate(() => { window.__sameDocument = true; });

    // the #token= fragment moved to sessionStorage and left the address bar
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sse.token')), alice);

    assert.equal(await text(page, '#meeting-title'), 'Quarterly planning — product & design');
    assert.match(await page.title(), /^Quarterly planning/);
    assert.equal(await page.getAttribute('#meeting-steps li[data-step="transcribing"]', 'aria-current'), 'step');
    assert.equal(await page.getAttribute('#meeting-progress', 'aria-valuenow'), '40');
    assert.match(await text(page, '#meeting-updated'), /^updated \d+ s ago$/);
    assert.equal(await page.isVisible('#connection-banner'), false);

    const stream = log.find((e) => e.kind === 'stream');
    assert.ok(stream, 'a stream request was made');
    assert.equal((await stream.headers).authorization, `Bearer ${alice}`);
    assert.equal(stream.status, 200);

    await setMeeting('m1', { status: 'summarizing', progress: 70 });
    await waitText(page, '#meeting-status', 'summarizing', 10000);
    assert.equal(await page.getAttribute('#meeting-progress', 'aria-valuenow'), '70');
    assert.equal(await page.getAttribute('#meeting-steps li[data-step="summarizing"]', 'aria-current'), 'step');
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.equal(log.filter((e) => e.kind === 'stream').length, 1, 'the change came over the open stream');

    await sleep(1200); // "updated 1 s ago" rather than "0 s" in the picture
    await screenshot(page, 'live');
  } finally {
    await context.close();
  }
});

test('the page fits a phone screen without sideways scrolling', TEST_TIMEOUT, async () => {
  const { context, page } = await openMeetingPage('phone', { viewport: { width: 375, height: 720 } });
  try {
    await waitText(page, '#meeting-status', 'summarizing');
    const { scrollWidth, clientWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
    }));
    assert.ok(scrollWidth <= clientWidth, `page is ${scrollWidth}px wide on a ${clientWidth}px screen`);
    await screenshot(page, 'phone');
  } finally {
    await context.close();
  }
});

// ---- outage -------------------------------------------------------------------------------

test('Apache down: banner and retry count; back up: REST resync before the stream reopens with Last-Event-ID', TEST_TIMEOUT, async () => {
  const { context, page, log } = await openMeetingPage('outage');
  try {
    await waitText(page, '#meeting-status', 'transcribing');
    await waitPhase(page, 'live');

    await stopApache();
    const stoppedAt = Date.now();
    await page.waitForSelector('#connection-banner', { state: 'visible', timeout: 5000 });
    assert.ok(Date.now() - stoppedAt < 5000, 'banner within a few seconds');
    assert.equal(await text(page, '#connection-banner'), BANNER_TEXT);
    await page.waitForFunction(() => /^Reconnection attempt [2-9]\d*\.\.\.$/.test(
      document.getElementById('connection-retry-count').textContent), null, { timeout: 10000 });
    assert.equal(await page.isVisible('#connection-retry-count'), true);
    await screenshot(page, 'banner');

    // a change made while Apache is down
    await setMeeting('outage', { status: 'ready', progress: 100 });
    const changed = await meetings.findOne({ _id: 'outage' });
    const changedVersion = changed.updatedAt.toISOString();

    await startApacheAgain();
    await page.waitForSelector('#connection-banner', { state: 'hidden', timeout: 15000 });
    await waitText(page, '#meeting-status', 'ready', 5000);
    assert.equal(await page.isVisible('#connection-retry-count'), false);

    // order: no stream request during the outage until a REST GET succeeded
    const outage = log.filter((e) => e.at >= stoppedAt);
    const firstResync = outage.findIndex((e) => e.kind === 'rest' && e.status === 200);
    const reopen = outage.findIndex((e) => e.kind === 'stream');
    assert.ok(firstResync >= 0, 'a REST resync happened');
    assert.ok(reopen > firstResync, `REST resync (#${firstResync}) before the stream reopened (#${reopen}): ${outage.map((e) => `${e.kind}:${e.status ?? e.failure}`).join(' ')}`);
    assert.ok(outage.slice(0, firstResync).every((e) => e.kind === 'rest'), 'only REST attempts while Apache was down');
    assert.equal(outage[firstResync].responseHeaders.etag, `"${changedVersion}"`);

    // the reopened stream resumed from the version the resync rendered
    const reopenHeaders = await outage[reopen].headers;
    assert.equal(reopenHeaders['last-event-id'], changedVersion);
    assert.equal(reopenHeaders.authorization, `Bearer ${alice}`);
    assert.equal(outage[reopen].status, 200);

    // announced once for the whole outage, although several attempts were made; focus untouched
    const said = await page.evaluate(() => window.__announcements);
    assert.equal(said.filter((t) => t === BANNER_TEXT).length, 1, `announcements: ${JSON.stringify(said)}`);
    assert.equal(said.at(-1), 'Live updates restored.');
    assert.equal(await page.evaluate(() => window.__focusMoves), 0);
    assert.equal(await page.getAttribute('#connection-live', 'role'), 'status');
  } finally {
    await context.close();
    if (apacheDown) await startApacheAgain();
  }
});

test('the first reconnect waits the real 5 s (no test backoff)', TEST_TIMEOUT, async () => {
  const { context, page, log } = await openMeetingPage('five', { fastBackoff: false });
  try {
    await waitPhase(page, 'live');
    await stopApache();
    await page.waitForSelector('#connection-banner', { state: 'visible', timeout: 5000 });
    assert.equal(await text(page, '#connection-retry-count'), 'Reconnection attempt 1...');
    // both times from the page's own clock: when the banner appeared, when the resync started
    const timing = await page.waitForFunction(() => {
      const shown = window.__bannerShown[0];
      const resync = window.__fetches.find((f) => f.at > shown && !f.url.endsWith('/events'));
      return resync && { waited: resync.at - shown, url: resync.url };
    }, null, { timeout: 9000, polling: 50 }).then((h) => h.jsonValue());
    assert.match(timing.url, /\/v1\/meetings\/five$/);
    // 5 s plus up to 20% jitter, with slack for Chromium's timers on a busy machine.
    assert.ok(timing.waited >= 4950 && timing.waited <= 6600, `first retry after ${Math.round(timing.waited)} ms`);
    assert.ok(log.some((e) => e.kind === 'rest'), 'the resync request went out');

    await startApacheAgain();
    await page.waitForSelector('#connection-banner', { state: 'hidden', timeout: 20000 });
    await waitPhase(page, 'live', 5000);
  } finally {
    await context.close();
    if (apacheDown) await startApacheAgain();
  }
});

// ---- fatal --------------------------------------------------------------------------------

test('an expired token: a clear message, no retry loop, and a pasted token resumes', TEST_TIMEOUT, async () => {
  const expired = await mintToken({ sub: 'alice', expSeconds: -3600 });
  const { context, page, log } = await openMeetingPage('m1', { token: expired });
  try {
    await waitPhase(page, 'fatal');
    assert.match(await text(page, '#connection-error'), /expired/);
    assert.equal(await page.getAttribute('#connection-error', 'role'), 'alert');
    await sleep(3000); // ten fast backoff periods
    assert.equal(log.length, 1, `requests: ${log.map((e) => `${e.kind}:${e.status}`).join(' ')}`);
    assert.equal(log[0].status, 401);
    assert.equal(await page.isVisible('#connection-banner'), false);
    assert.equal(await page.isVisible('#token-form'), true);

    await page.fill('#token-input', alice);
    await page.click('#token-form button[type="submit"]');
    await waitPhase(page, 'live');
    assert.equal(await text(page, '#connection-error'), '');
  } finally {
    await context.close();
  }
});

test('someone else\'s meeting: "this meeting is gone", no retry loop', TEST_TIMEOUT, async () => {
  const { context, page, log } = await openMeetingPage('bobs');
  try {
    await waitPhase(page, 'fatal');
    assert.match(await text(page, '#connection-error'), /^This meeting is gone/);
    await sleep(3000);
    assert.equal(log.length, 1);
    assert.equal(log[0].status, 404);
    assert.equal(await page.isVisible('#connection-banner'), false);
    assert.equal(await page.isVisible('#meeting'), false);
  } finally {
    await context.close();
  }
});

// ---- leaving ------------------------------------------------------------------------------

test('Log out aborts the stream, forgets the token and asks for a new one', TEST_TIMEOUT, async () => {
  const { context, page, log } = await openMeetingPage('leave');
  try {
    await waitText(page, '#meeting-status', 'summarizing');
    await waitPhase(page, 'live');
    const stream = log.find((e) => e.kind === 'stream');
    await page.click('#logout');
    const deadline = Date.now() + 5000;
    while (!stream.failure && Date.now() < deadline) await sleep(20);
    assert.equal(stream.failure, 'net::ERR_ABORTED');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sse.token')), null);
    assert.equal(await page.isVisible('#token-form'), true);
    await sleep(1500);
    assert.equal(log.length, 1, 'no reconnect after logout');
    assert.equal(await page.isVisible('#connection-banner'), false);
  } finally {
    await context.close();
  }
});
