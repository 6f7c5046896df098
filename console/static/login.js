// The login page: name and password to POST /api/login (JSON, same
// origin); the console answers with a session cookie (HttpOnly, so this
// script never sees it) and the page goes where the operator was.

import { request } from './api.js';
import { failure, setup, t } from './i18n.js';

const form = document.getElementById('login');
const msg = document.getElementById('login-msg');
const params = new URLSearchParams(location.search);

// Only a page on this console: never another site.
function next() {
  // Parsed as the browser will (tabs and newlines dropped, backslashes
  // as slashes), and given on as a whole address on this origin: its
  // path alone could start with "//" ("/.//elsewhere.example/" parses
  // to that), which the browser would take for another host.
  try {
    const u = new URL(params.get('next') || '/', location.origin);
    return u.origin === location.origin ? u.href : '/';
  } catch {
    return '/';
  }
}

// Logged in with this browser while others are locked out of the
// account by wrong passwords: the operator is told before going on.
function lockedForOthers() {
  msg.textContent = t('login.locked_others');
  form.hidden = true;
  const go = document.createElement('a');
  go.href = next();
  go.id = 'login-continue';
  go.textContent = t('action.continue');
  msg.after(go);
  go.focus();
}

async function submit(ev) {
  ev.preventDefault();
  msg.textContent = '';
  let res;
  try {
    res = await request('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: form.name.value, password: form.password.value }),
    });
  } catch (e) {
    res = null;
    msg.textContent = failure(e);
  }
  form.password.value = '';
  if (!res) {
    form.password.focus();
    return;
  }
  if (res.ok) {
    const body = await res.json().catch(() => ({}));
    if (body.locked_for_others) lockedForOthers();
    else location.replace(next());
    return;
  }
  // 401 is every refusal alike (a wrong name, a wrong password, an
  // account locked for other browsers): the text names them all
  const key = { 401: 'login.bad', 429: 'login.wait', 503: 'login.busy' }[res.status] || 'msg.error';
  msg.textContent = t(key);
  form.password.focus();
}

async function main() {
  await setup('');
  document.title = `${t('title.login')} – ${t('app.name')}`;
  if (params.get('why') === 'expired') msg.textContent = t('login.expired');
  form.addEventListener('submit', submit);
}

main();
