// The bearer token both pages use: kept in sessionStorage["sse.token"] (this tab only, gone with
// it), taken from the demo link's #token= fragment (then removed from the address bar), or pasted
// into the token form; plus the text of a fatal stream state. One copy, so the meeting page and
// the list cannot drift apart in how they keep, adopt or forget a token.

const TOKEN_KEY = 'sse.token';

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// #token=… in the address: keep it, and take it out of the URL (and so out of the history).
export function adoptTokenFromFragment() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(history.state, '', location.pathname + location.search);
}

// The paste form: a token, with or without "Bearer ", is kept and `onToken()` runs.
export function onTokenPasted(form, input, onToken) {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim().replace(/^Bearer\s+/i, '');
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = '';
    onToken();
  });
}

// What a fatal state says: the page's message for its kind (else the 'rejected' one), with the
// HTTP status when the server refused for another reason.
export function fatalMessage(messages, { kind, status }) {
  const base = messages[kind] || messages.rejected;
  return kind === 'rejected' ? `${base} (HTTP ${status})` : base;
}
