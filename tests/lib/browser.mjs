// Debian's headless Chromium for the browser suites (driven by playwright-core): launching it,
// opening a page of the frontend with a token in a fresh context, logging the page's /v1/
// requests, and screenshots. Written once so every browser suite starts the browser the same way.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, startMockStore, startApache, storeClient, mintToken } from './harness.mjs';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/** Reconnect delays for window.sseStreamOptions: well under a second instead of 5 s. */
export const FAST_BACKOFF = [300, 600, 900, 1500];
export const BANNER_TEXT = 'Live updates disconnected, retrying...';

/** Debian's Chromium, headless; `args` are added to CHROMIUM_ARGS. */
export function launchChromium({ args = [] } = {}) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...args], timeout: 30000 });
}

/** What a browser suite runs against, started into `suite` (so that stopBrowserSuite() stops
 * whatever came up, even when a later step failed): mock-store with `data`, one Apache per entry
 * of `apaches` (startApache options, on that store), the store's meetings collection, alice's
 * token and Chromium. */
export async function startBrowserSuite(suite, { data, apaches }) {
  suite.store = await startMockStore({ data });
  suite.apaches = [];
  for (const [name, opts] of Object.entries(apaches)) {
    suite[name] = await startApache({ storeUri: suite.store.uri, ...opts });
    suite.apaches.push(suite[name]);
  }
  suite.mongo = await storeClient(suite.store.uri);
  suite.meetings = suite.mongo.db('meetings_app').collection('meetings');
  suite.alice = await mintToken({ sub: 'alice' });
  suite.browser = await launchChromium();
  return suite;
}

export async function stopBrowserSuite(suite) {
  await suite.browser?.close();
  await suite.mongo?.close();
  for (const a of suite.apaches || []) await a.stop();
  await suite.store?.stop();
}

/** Sets window.sseStreamOptions (frontend/stream-options.js) on a page or a context before the
 * page's scripts run, so a reconnect waits FAST_BACKOFF and not the server's retry. */
export function useFastBackoff(pageOrContext, backoffMs = FAST_BACKOFF) {
  return pageOrContext.addInitScript((ms) => { window.sseStreamOptions = { backoffMs: ms, respectServerRetry: false }; }, backoffMs);
}

/**
 * A log of every /v1/ request the page makes, in order: { at, kind ('stream' or 'rest'), path,
 * headers (a promise of all request headers), status, responseHeaders, failure }.
 */
export function logV1Requests(page) {
  const log = [];
  const byRequest = new Map();
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (!url.pathname.startsWith('/v1/')) return;
    const entry = { at: Date.now(), kind: url.pathname.endsWith('/events') ? 'stream' : 'rest', path: url.pathname, status: null, failure: null };
    entry.headers = req.allHeaders().catch(() => req.headers());
    byRequest.set(req, entry);
    log.push(entry);
  });
  page.on('response', (res) => {
    const entry = byRequest.get(res.request());
    if (entry) { entry.status = res.status(); entry.responseHeaders = res.headers(); }
  });
  page.on('requestfailed', (req) => {
    const entry = byRequest.get(req);
    if (entry) entry.failure = req.failure()?.errorText || 'failed';
  });
  return log;
}

/**
 * Opens `${url}/${pathname}` in a fresh context of `browser`, with `#token=` when a token is
 * given. `context` is the context's options, `timeout` the page's default timeout, `fastBackoff`
 * sets FAST_BACKOFF, `init` (functions) run in the page before its scripts, in order, and
 * `onPage(page)` is called before the page loads (for listeners). Returns { context, page, log } with log as logV1Requests gives it.
 */
export async function openPage(browser, { url, pathname = '', token, context: contextOptions = {},
  timeout = 15000, fastBackoff = false, init = [], onPage }) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  if (fastBackoff) await useFastBackoff(page);
  for (const script of init) await page.addInitScript(script);
  if (onPage) onPage(page);
  const log = logV1Requests(page);
  const fragment = token ? `#token=${encodeURIComponent(token)}` : '';
  await page.goto(`${url}/${pathname}${fragment}`);
  return { context, page, log };
}

/** Saves a screenshot to build/screenshots/; with UPDATE_SCREENSHOTS=1 also to docs/. */
export async function screenshot(page, name) {
  const dirs = [path.join(ROOT, 'build/screenshots')];
  if (process.env.UPDATE_SCREENSHOTS === '1') dirs.push(path.join(ROOT, 'docs'));
  for (const dir of dirs) {
    fs.mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, `screenshot-${name}.png`) });
  }
}
