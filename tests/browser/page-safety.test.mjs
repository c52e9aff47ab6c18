// The meeting-status page is safe with hostile data and lets go of the server when the user
// leaves: Debian's headless Chromium (playwright-core) against real Apache + mod_sse +
// mock-store, all started here on 127.0.0.1 and stopped by PID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openPage, startBrowserSuite, stopBrowserSuite } from '../lib/browser.mjs';
import { opcounters } from '../lib/harness.mjs';

const POLL_MS = 500;
const TEST_TIMEOUT = { timeout: 30000 };
const XSS_TITLE = '<img src=x onerror="window.__xss=1">';
const XSS_STATUS = '<svg onload="window.__xss=2">';
const XSS_LIVE_TITLE = '<img src=y onerror="window.__xss=3"><script>window.__xss=4</script>';

const meeting = (id, title, status, ownerId = 'alice') =>
  ({ _id: id, ownerId, title, status, progress: 10, updatedAt: { $date: new Date().toISOString() } });

const DATA = {
  meetings_app: {
    meetings: [
      meeting('xss', XSS_TITLE, 'transcribing'),
      meeting('leave', 'Retro', 'summarizing'),
    ],
  },
};

let store, apache, meetings, browser, alice;

const suite = {};
before(async () => {
  ({ store, apache, meetings, browser, alice } = await startBrowserSuite(suite, { data: DATA, apaches: { apache: { pollInterval: `${POLL_MS}ms`, keepalive: '5s' } } }));
});
after(() => stopBrowserSuite(suite));

// A fresh context on the meeting page, with a log of the page's /v1/ requests (status or failure).
function openMeetingPage(id) {
  return openPage(browser, {
    url: apache.url, pathname: `meetings.html?id=${id}`, token: alice, timeout: 10000,
    context: { viewport: { width: 960, height: 720 } },
  });
}

const waitText = (page, sel, expected, timeout = 10000) =>
  page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [sel, expected], { timeout });

test('HTML in a meeting\'s title and status is shown as text and never runs', TEST_TIMEOUT, async () => {
  await meetings.updateOne({ _id: 'xss' }, { $set: { status: XSS_STATUS, updatedAt: new Date() } });
  const { context, page } = await openMeetingPage('xss');
  try {
    await waitText(page, '#meeting-title', XSS_TITLE);
    await waitText(page, '#meeting-status', XSS_STATUS);
    await page.waitForFunction(() => document.body.dataset.connection === 'live', null, { timeout: 10000 });
    // a broken <img src=x> would fire onerror at once; give it a moment anyway
    await sleep(300);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('img, svg[onload], script:not([src])').count(), 0, 'no element made from the data');
    assert.equal(await page.locator('#meeting-title').innerHTML(), XSS_TITLE.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
    assert.ok((await page.title()).startsWith(XSS_TITLE), 'the document title shows it as text too');

    // the same through a live update over the stream
    await meetings.updateOne({ _id: 'xss' }, { $set: { title: XSS_LIVE_TITLE, updatedAt: new Date() } });
    await waitText(page, '#meeting-title', XSS_LIVE_TITLE, POLL_MS * 6);
    await sleep(300);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('img, svg[onload], script:not([src])').count(), 0);
  } finally {
    await context.close();
  }
});

test('leaving the page (pagehide) aborts the stream and its polling stops within one interval', TEST_TIMEOUT, async () => {
  const { context, page, log } = await openMeetingPage('leave');
  try {
    await waitText(page, '#meeting-status', 'summarizing');
    await page.waitForFunction(() => document.body.dataset.connection === 'live', null, { timeout: 10000 });
    const stream = log.find((e) => e.kind === 'stream');
    assert.ok(stream, 'a stream was opened');
    assert.equal(stream.status, 200);

    // the stream is polled while the page is open
    const q0 = (await opcounters(store.uri)).query;
    await sleep(POLL_MS * 3);
    const q1 = (await opcounters(store.uri)).query;
    assert.ok(q1 - q0 >= 2, `${q1 - q0} finds in ${POLL_MS * 3} ms while the page was open`);

    await page.goto('about:blank');
    const deadline = Date.now() + 5000;
    while (!stream.failure && Date.now() < deadline) await sleep(20);
    assert.equal(stream.failure, 'net::ERR_ABORTED', 'the stream request was aborted');

    await sleep(POLL_MS * 2);   // one interval to notice, plus slack
    const before = (await opcounters(store.uri)).query;
    await sleep(POLL_MS * 6);
    const afterCount = (await opcounters(store.uri)).query;
    assert.equal(afterCount - before, 0, `${afterCount - before} finds after the page was left`);
    assert.equal(log.filter((e) => e.kind === 'stream').length, 1, 'no reconnect after leaving');
  } finally {
    await context.close();
  }
});
