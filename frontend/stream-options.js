// Stream-client options a deployment (or a browser test, with page.addInitScript) sets before the
// pages' modules run: `window.sseStreamOptions = { backoffMs, respectServerRetry, resourcePath,
// timeField }`. Only those keys, of the right type, are taken; the pages hand them to
// createStreamClient. Kept out of the page code, which knows nothing of who sets them.

export function pageStreamOptions(win = typeof window !== 'undefined' ? window : null) {
  const given = win && win.sseStreamOptions && typeof win.sseStreamOptions === 'object' ? win.sseStreamOptions : {};
  const out = {};
  if (Array.isArray(given.backoffMs) && given.backoffMs.length && given.backoffMs.every((n) => Number.isFinite(n) && n >= 0)) {
    out.backoffMs = given.backoffMs.slice();
  }
  if (typeof given.respectServerRetry === 'boolean') out.respectServerRetry = given.respectServerRetry;
  if (typeof given.resourcePath === 'string' && given.resourcePath.startsWith('/')) out.resourcePath = given.resourcePath;
  if (typeof given.timeField === 'string' && given.timeField) out.timeField = given.timeField;
  return out;
}
