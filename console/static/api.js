// The console's API as the pages use it: the session (who, CSRF token),
// POSTs that carry the token, and the way back to the login page when
// the session has ended (logged out, or idle too long).

export let session = null;

export function toLogin(reason) {
  const next = location.pathname + location.search;
  const q = new URLSearchParams({ next });
  if (reason) q.set('why', reason);
  location.replace(`/login.html?${q}`);
}

export async function getSession() {
  const res = await fetch('/api/session', { cache: 'no-store' });
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
  const res = await fetch(path, { cache: 'no-store' });
  if (res.status === 401 && !stay) {
    toLogin('expired');
    throw new Error('logged out');
  }
  return res;
}

// stay: as getJson's (a 401 is the caller's to handle).
export async function post(path, body = {}, stay = false) {
  const res = await fetch(path, {
    method: 'POST',
    cache: 'no-store',
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
