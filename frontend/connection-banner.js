// connection-banner.js: the reconnect banner, its retry count and what the
// live region says about the connection, for every page with a stream. The
// page keeps what is its own (errors, a fatal end, its token panel).
export const BANNER_TEXT = 'Live updates disconnected, retrying...';

export function createConnectionBanner({ banner, retryCount, announce }) {
  let inOutage = false;     // the live region speaks once per outage

  function render(state) {
    document.body.dataset.connection = state.phase;
    const disconnected = state.phase === 'retrying' || state.phase === 'offline';
    banner.hidden = !disconnected;
    retryCount.hidden = !disconnected;
    if (state.phase === 'retrying') retryCount.textContent = `Reconnection attempt ${state.attempt}...`;
    if (state.phase === 'offline') retryCount.textContent = 'You are offline. Reconnecting when the network is back...';

    if (disconnected && !inOutage) {
      inOutage = true;
      announce(BANNER_TEXT);
    } else if (state.phase === 'live') {
      if (inOutage) announce('Live updates restored.');
      inOutage = false;
    } else if (!disconnected) {
      // An outage that ended without coming back live (fatal, stopped): empty the live region so
      // the same words are announced again if a later outage begins.
      if (inOutage) announce('');
      inOutage = false;
    }
  }

  // Logged out: nothing shows, and the next outage is announced afresh.
  function reset() {
    banner.hidden = true;
    retryCount.hidden = true;
    inOutage = false;
    document.body.dataset.connection = 'stopped';
  }

  return { render, reset };
}
