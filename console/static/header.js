// The top bar both pages share: who is logged in, the language choice
// (kept for the operator), and logging out; and what a page shows only
// while its session lasts.

import { apply, lang, setup, t } from './i18n.js';
import { getSession, logout, post } from './api.js';

export async function start() {
  const s = await getSession();
  if (!s) return null;
  await setup(s.lang);
  document.getElementById('who').textContent = t('user.logged_in', { name: s.name });
  const sel = document.getElementById('lang');
  sel.value = lang;
  sel.addEventListener('change', async () => {
    const res = await post('/api/lang', { lang: sel.value });
    if (res.ok) {
      s.lang = sel.value;
      await setup(sel.value);
      document.getElementById('who').textContent = t('user.logged_in', { name: s.name });
      document.dispatchEvent(new Event('langchange'));
    }
  });
  document.getElementById('logout').addEventListener('click', logout);
  apply();
  return s;
}

// The session ended (the page's banner says so): who was logged in, the
// "Uitloggen" button and whatever else needs a session (marked
// data-needs-session: the export form, an alert's actions) go, since
// they could only send the operator to the login page now.
export function sessionEnded() {
  document.getElementById('who').textContent = '';
  document.getElementById('logout').hidden = true;
  for (const el of document.querySelectorAll('[data-needs-session]')) el.hidden = true;
}
