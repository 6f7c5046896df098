// The top bar both pages share: who is logged in, the language choice,
// and logging out; and what a page shows only while its session lasts.
// The language switch is this browser's (i18n.js): it changes the page
// at once, with or without a session, and never leads to the login
// page; while the session lasts it is kept as the operator's too.

import { apply, failure, lang, remember, setup, t } from './i18n.js';
import { getSession, logout, post } from './api.js';

let live = true; // the session lasts, as far as the page knows

function showWho(s) {
  if (live) document.getElementById('who').textContent = t('user.logged_in', { name: s.name });
}

async function choose(s, l) {
  remember(l);
  await setup(l);
  showWho(s);
  document.dispatchEvent(new Event('langchange'));
  // a 401 (the session ended meanwhile) is the page's to say, from its
  // event stream or next load: the choice stands in this browser
  try {
    if (live && (await post('/api/lang', { lang: l }, true)).ok) s.lang = l;
  } catch (e) {
    // not kept as the operator's this time: the next choice tries again
  }
}

// A request of the top bar that failed, in the page's notice line.
function say(e) {
  document.getElementById('notice').textContent = failure(e);
}

export async function start() {
  let s;
  try {
    s = await getSession();
  } catch (e) {
    // no session to say it in: the browser's language, then the text
    await setup('').then(() => say(e), () => say(e));
    return null;
  }
  if (!s) return null;
  await setup(s.lang);
  showWho(s);
  const sel = document.getElementById('lang');
  sel.value = lang;
  sel.addEventListener('change', () => choose(s, sel.value));
  document.getElementById('logout').addEventListener('click', () => logout().catch(say));
  apply();
  return s;
}

// The session ended (the page's banner says so): who was logged in, the
// "Uitloggen" button and whatever else needs a session (marked
// data-needs-session: the export form, an alert's actions) go, since
// they could only send the operator to the login page now.
export function sessionEnded() {
  live = false;
  document.getElementById('who').textContent = '';
  document.getElementById('logout').hidden = true;
  for (const el of document.querySelectorAll('[data-needs-session]')) el.hidden = true;
}
