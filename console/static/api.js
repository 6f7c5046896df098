// The console's API as the pages use it: every request bounded in time,
// the session (who, CSRF token), POSTs that carry the token, and the way
// back to the login page when the session has ended (logged out, or idle
// too long).

export let session = null;

// How long any request of the pages waits for its answer, body and all.
// A connection can stop carrying data without ever closing (a NAT or
// firewall that dropped its state, a change of network): without a
// bound a button, or a page, would wait on it for good.  The event
// stream has its own watchdog (stream.js).
export const FETCH_TIMEOUT_MS = 15000;

// A signal that gives a request up after ms.  AbortSignal.timeout is
// missing before Chrome 103, Safari 16 and Firefox 100: there a timer
// of our own aborts it (an AbortError where abort(reason) is missing
// too), rather than every request, login included, throwing.
function timeoutSignal(ms) {
  if (typeof AbortSignal.timeout === 'function') return AbortSignal.timeout(ms);
  const c = new AbortController();
  setTimeout(() => c.abort(new DOMException('the request timed out', 'TimeoutError')), ms);
  return c.signal;
}

// fetch() as every page calls it: uncached, and given up (a
// TimeoutError) after FETCH_TIMEOUT_MS.
export function request(path, init = {}) {
  return fetch(path, { cache: 'no-store', ...init, signal: timeoutSignal(FETCH_TIMEOUT_MS) });
}

// true when a request was given up for taking too long (the pages
// abort nothing else)
export function timedOut(e) {
  return e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError');
}

export function toLogin(reason) {
  const next = location.pathname + location.search;
  const q = new URLSearchParams({ next });
  if (reason) q.set('why', reason);
  location.replace(`/login.html?${q}`);
}

export async function getSession() {
  const res = await request('/api/session');
  if (res.status === 401) {
    toLogin('expired');
    return null;
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  session = await res.json();
  return session;
}

// stay: a 401 is the caller's to handle (the queue page stays, says
// the session ended, and keeps ringing), not a way to the login page.
export async function getJson(path, stay = false) {
  const res = await request(path);
  if (res.status === 401 && !stay) {
    toLogin('expired');
    throw new Error('logged out');
  }
  return res;
}

// stay: as getJson's (a 401 is the caller's to handle).
export async function post(path, body = {}, stay = false) {
  const res = await request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session ? session.csrf : '' },
    body: JSON.stringify(body),
  });
  if (res.status === 401 && !stay) toLogin('expired');
  return res;
}

export async function logout() {
  await post('/api/logout');
  location.replace('/login.html');
}
