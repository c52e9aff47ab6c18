// "My meetings" (frontend/index.html) end to end: Debian's headless Chromium (playwright-core)
// against real Apache + mod_sse + mock-store. The list updates live from one stream; the banner
// and the REST resync work; tabs of one browser share one stream, counted at the server (Apache's
// mod_log_forensic writes a line when a request starts, so open streams are counted too); when the
// leader tab closes, another tab's stream takes over and the list keeps updating.
//
// Screenshots go to build/screenshots/; with UPDATE_SCREENSHOTS=1 also to docs/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { useFastBackoff, screenshot, BANNER_TEXT, startBrowserSuite, stopBrowserSuite } from '../lib/browser.mjs';
import { tmpDir } from '../lib/harness.mjs';

const TEST_TIMEOUT = { timeout: 90000 };

const minutesAgo = (n) => ({ $date: new Date(Date.now() - n * 60000).toISOString() });
const meeting = (id, title, status, progress, age, ownerId = 'alice') =>
  ({ _id: id, ownerId, title, status, progress, updatedAt: minutesAgo(age) });

const DATA = {
  meetings_app: {
    meetings: [
      meeting('m1', 'Quarterly planning — product & design', 'transcribing', 40, 1),
      meeting('m2', 'Design review: onboarding flow', 'summarizing', 72, 2),
      meeting('m3', 'Customer call with Northwind', 'uploaded', 5, 3),
      meeting('m4', 'Weekly team sync', 'ready', 100, 4),
      meeting('m5', 'Hiring panel debrief', 'ready', 100, 5),
      meeting('x1', '<img src=x onerror="window.__xss=1">', '<svg onload="window.__xss=2">', 10, 60),
      meeting('b1', 'Bob only: budget', 'uploaded', 0, 0, 'bob'),
    ],
  },
};

let apache, meetings, browser, alice, forensicLog;

const suite = {};
before(async () => {
  forensicLog = path.join(tmpDir('sse-forensic-'), 'forensic.log');
  fs.chmodSync(path.dirname(forensicLog), 0o777);
  ({ apache, meetings, browser, alice } = await startBrowserSuite(suite, { data: DATA, apaches: { apache: {
    pollInterval: '500ms', keepalive: '5s',
    extra: `LoadModule log_forensic_module /usr/lib/apache2/modules/mod_log_forensic.so\nForensicLog "${forensicLog}"`,
  } } }));
});
after(() => stopBrowserSuite(suite));

/** Stream requests the server has seen start (mod_log_forensic's "+id|GET ... " lines). */
function streamRequestsAtServer() {
  let text = '';
  try { text = fs.readFileSync(forensicLog, 'utf8'); } catch { return 0; }
  return text.split('\n').filter((l) => l.startsWith('+') && /\|GET \/v1\/meetings\/events[ ?]/.test(l)).length;
}

async function openTab(context, query = '') {
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${apache.url}/${query}#token=${encodeURIComponent(alice)}`);
  return page;
}

async function newContext() {
  const context = await browser.newContext({ viewport: { width: 960, height: 760 }, deviceScaleFactor: 1, reducedMotion: 'reduce' });
  await useFastBackoff(context);
  return context;
}

const rowIds = (page) => page.$$eval('#meeting-list .meeting-row', (lis) => lis.map((li) => li.dataset.id));
const rowStatus = (page, id) => page.$eval(`#meeting-list .meeting-row[data-id="${id}"] .row-status`, (e) => e.textContent).catch(() => null);
async function waitRowStatus(page, id, status, timeout = 8000) {
  await page.waitForFunction(([i, s]) => {
    const el = document.querySelector(`#meeting-list .meeting-row[data-id="${i}"] .row-status`);
    return el && el.textContent === s;
  }, [id, status], { timeout });
}

test('the list shows the caller\'s meetings, newest first, each linking to its page, and updates live', TEST_TIMEOUT, async () => {
  const context = await newContext();
  try {
    const page = await openTab(context);
    await page.waitForFunction(() => document.querySelectorAll('#meeting-list .meeting-row').length === 6);
    assert.deepEqual(await rowIds(page), ['m1', 'm2', 'm3', 'm4', 'm5', 'x1']);
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'hostile titles are text, never markup');
    assert.equal(await page.locator('#meeting-list img, #meeting-list svg').count(), 0);
    assert.equal(await page.$eval('#meeting-list .meeting-row[data-id="m1"] a', (a) => a.getAttribute('href')), 'meetings.html?id=m1');
    assert.equal(await page.locator('text=Bob only').count(), 0);
    assert.equal(page.url().includes('token='), false, 'the token left the address bar');
    // The picture for the README leaves out the hostile row (the next render would bring it back).
    await page.evaluate(() => document.querySelector('#meeting-list .meeting-row[data-id="x1"]').remove());
    await screenshot(page, 'list');

    await meetings.updateOne({ _id: 'm3' }, { $set: { status: 'transcribing', progress: 15, updatedAt: new Date() } });
    await waitRowStatus(page, 'm3', 'transcribing');
    assert.equal((await rowIds(page))[0], 'm3', 'the changed meeting moves to the top');
    await meetings.insertOne({ _id: 'm6', ownerId: 'alice', title: 'Fresh upload', status: 'uploaded', progress: 0, updatedAt: new Date() });
    await waitRowStatus(page, 'm6', 'uploaded');
    await meetings.deleteOne({ _id: 'm6' });
    await page.waitForFunction(() => !document.querySelector('#meeting-list .meeting-row[data-id="m6"]'));

    // A status chip narrows the list at the server (?status=).
    await page.click('#status-filter .chip[data-status="ready"]');
    await page.waitForFunction(() => document.querySelectorAll('#meeting-list .meeting-row').length === 2);
    assert.deepEqual((await rowIds(page)).sort(), ['m4', 'm5']);
    assert.match(page.url(), /\?status=ready$/);
    await meetings.updateOne({ _id: 'm1' }, { $set: { status: 'ready', progress: 100, updatedAt: new Date() } });
    await waitRowStatus(page, 'm1', 'ready');
    await meetings.updateOne({ _id: 'm1' }, { $set: { status: 'summarizing', progress: 80, updatedAt: new Date() } });
    await page.waitForFunction(() => !document.querySelector('#meeting-list .meeting-row[data-id="m1"]'));
  } finally { await context.close(); }
});

test('a dropped list stream shows the banner, resyncs over REST, then reopens with the tag', TEST_TIMEOUT, async () => {
  const context = await newContext();
  try {
    const page = await openTab(context);
    const requests = [];
    page.on('request', async (req) => {
      const u = new URL(req.url());
      if (u.pathname.startsWith('/v1/')) requests.push({ path: u.pathname, headers: await req.allHeaders() });
    });
    await page.waitForFunction(() => document.body.dataset.connection === 'live');
    await apache.stop();
    await page.waitForSelector('#connection-banner:not([hidden])');
    assert.equal(await page.textContent('#connection-banner'), BANNER_TEXT);
    await page.waitForFunction(() => /Reconnection attempt \d+/.test(document.getElementById('connection-retry-count').textContent));
    await meetings.updateOne({ _id: 'm2' }, { $set: { status: 'ready', progress: 100, updatedAt: new Date() } });
    await apache.start();
    await page.waitForSelector('#connection-banner', { state: 'hidden', timeout: 15000 });
    await waitRowStatus(page, 'm2', 'ready');
    const resync = requests.findIndex((r) => r.path === '/v1/meetings');
    assert.ok(resync >= 0, 'the list was fetched over REST');
    const reopen = requests.slice(resync).find((r) => r.path === '/v1/meetings/events');
    assert.ok(reopen, 'the stream reopened after the resync');
    assert.match(reopen.headers['last-event-id'] || '', /^c[0-9a-f]{32}$/, 'with the set tag as Last-Event-ID');
  } finally { await context.close(); }
});

test('four tabs share one stream; when the leader closes another tab takes over and the list keeps updating', TEST_TIMEOUT, async () => {
  const context = await newContext();
  try {
    const before = streamRequestsAtServer();
    const tabs = [];
    for (let i = 0; i < 4; i++) {
      tabs.push(await openTab(context));
      await tabs[i].waitForFunction(() => document.querySelectorAll('#meeting-list .meeting-row').length > 0);
    }
    await sleep(1500);
    assert.equal(streamRequestsAtServer() - before, 1, 'one stream request at the server for four tabs');
    const roles = await Promise.all(tabs.map((t) => t.evaluate(() => window.__sseListRole)));
    assert.deepEqual([...roles].sort(), ['follower', 'follower', 'follower', 'leader']);

    await meetings.updateOne({ _id: 'm4' }, { $set: { status: 'summarizing', progress: 90, updatedAt: new Date() } });
    for (const t of tabs) await waitRowStatus(t, 'm4', 'summarizing');

    const leader = tabs[roles.indexOf('leader')];
    const rest = tabs.filter((t) => t !== leader);
    await leader.close();
    const t0 = Date.now();
    await Promise.race(rest.map((t) => t.waitForFunction(() => window.__sseListRole === 'leader', null, { timeout: 5000 })));
    const tookOver = Date.now() - t0;
    assert.ok(tookOver < 3000, `a new leader within ${tookOver} ms`);
    await sleep(800);
    assert.equal(streamRequestsAtServer() - before, 2, 'the new leader opened exactly one stream');
    const newRoles = await Promise.all(rest.map((t) => t.evaluate(() => window.__sseListRole)));
    assert.equal(newRoles.filter((r) => r === 'leader').length, 1);

    await meetings.updateOne({ _id: 'm4' }, { $set: { status: 'ready', progress: 100, updatedAt: new Date() } });
    for (const t of rest) await waitRowStatus(t, 'm4', 'ready');
    // Each remaining tab shows the same list as the REST answer.
    const res = await fetch(`${apache.url}/v1/meetings`, { headers: { Authorization: `Bearer ${alice}` } });
    const want = (await res.json()).items.map((d) => d._id);
    for (const t of rest) assert.deepEqual(await rowIds(t), want);
  } finally { await context.close(); }
});
