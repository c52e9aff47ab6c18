// The meeting page over https with HTTP/2, as most browsers reach it:
// Debian's headless Chromium (--ignore-certificate-errors for the
// certificate this test makes with openssl) against Apache with mod_ssl and
// mod_http2 (`Protocols h2 http/1.1`), mod_sse and mock-store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, openPage, BANNER_TEXT } from '../lib/browser.mjs';
import { startMockStore, startApache, storeClient, mintToken, selfSignedCert } from '../lib/harness.mjs';

const DATA = {
  meetings_app: {
    meetings: [{ _id: 'h2m', ownerId: 'alice', title: 'Over HTTP/2', status: 'uploaded', progress: 5, updatedAt: { $date: new Date().toISOString() } }],
  },
};

let store, apache, mongo, meetings, browser, alice;
let apacheDown = false;

before(async () => {
  store = await startMockStore({ data: DATA });
  apache = await startApache({
    storeUri: store.uri, pollInterval: '1s', keepalive: '5s',
    tls: selfSignedCert(), protocols: 'h2 http/1.1', h2: 'H2MinWorkers 4\nH2MaxWorkers 32',
  });
  mongo = await storeClient(store.uri);
  meetings = mongo.db('meetings_app').collection('meetings');
  alice = await mintToken({ sub: 'alice' });
  browser = await launchChromium({ args: ['--ignore-certificate-errors'] });
});

after(async () => {
  if (process.env.SSE_BROWSER_DEBUG && apache) console.log(apache.errorLog().split('\n').slice(-40).join('\n'));
  await browser?.close();
  await mongo?.close();
  await apache?.stop();
  await store?.stop();
});

const setMeeting = (fields) => meetings.updateOne({ _id: 'h2m' }, { $set: { ...fields, updatedAt: new Date() } });
const waitText = (page, sel, expected, timeout = 15000) =>
  page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [sel, expected], { timeout });

test('over https + HTTP/2: live change without reload, banner when Apache stops, REST resync and reopen when it starts', { timeout: 90000 }, async () => {
  const { context, page, log } = await openPage(browser, {
    url: apache.url, pathname: 'meetings.html?id=h2m', token: alice, fastBackoff: true,
  });
  try {
    await waitText(page, '#meeting-status', 'uploaded');
    await page.waitForFunction(() => document.body.dataset.connection === 'live');
    const protocols = await page.evaluate(() => [
      performance.getEntriesByType('navigation')[0].nextHopProtocol,
      ...performance.getEntriesByType('resource').map((e) => e.nextHopProtocol),
    ]);
    assert.ok(protocols.length >= 2 && protocols.every((p) => p === 'h2'), `protocols seen by the page: ${protocols}`);
    await page.evaluate(() => { window.__sameDocument = true; });

    // Live: a change arrives over the open h2 stream, without a reload.
    await setMeeting({ status: 'transcribing', progress: 30 });
    await waitText(page, '#meeting-status', 'transcribing', 5000);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.equal(log.filter((e) => e.kind === 'stream').length, 1, 'the change came over the open stream');
    assert.equal(await page.isVisible('#connection-banner'), false);

    // Apache stops: the banner shows.
    apacheDown = true;
    await apache.stop();
    const stoppedAt = Date.now();
    await page.waitForSelector('#connection-banner', { state: 'visible', timeout: 5000 });
    assert.equal(await page.locator('#connection-banner').textContent(), BANNER_TEXT);

    // A change while it is down; Apache starts: resync over REST, then the stream reopens.
    await setMeeting({ status: 'ready', progress: 100 });
    const version = (await meetings.findOne({ _id: 'h2m' })).updatedAt.toISOString();
    await apache.start();
    apacheDown = false;
    await page.waitForSelector('#connection-banner', { state: 'hidden', timeout: 15000 });
    await waitText(page, '#meeting-status', 'ready', 5000);

    const outage = log.filter((e) => e.at >= stoppedAt);
    const resync = outage.findIndex((e) => e.kind === 'rest' && e.status === 200);
    const reopen = outage.findIndex((e) => e.kind === 'stream');
    assert.ok(resync >= 0 && reopen > resync, `REST resync before the stream reopened: ${outage.map((e) => `${e.kind}:${e.status}`).join(' ')}`);
    assert.equal((await outage[reopen].headers)['last-event-id'], version);
    assert.equal(outage[reopen].status, 200);

    const rest = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => /\/v1\/meetings\/h2m$/.test(new URL(e.name).pathname)).map((e) => e.nextHopProtocol));
    assert.equal(rest.at(-1), 'h2', `the REST resync went over h2 (attempts while down have none): ${rest}`);

    // And the reopened stream is live.
    await setMeeting({ status: 'summarizing', progress: 80 });
    await waitText(page, '#meeting-status', 'summarizing', 5000);
  } finally {
    await context.close();
    if (apacheDown) await apache.start();
  }
});
