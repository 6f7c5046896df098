// The queue page after its session ended (logged out in another tab,
// session_idle without a request, a new password).  The event stream
// says "expired" at once and from then on "waiting": how many alerts
// wait for a person, never which.  The page then says so unmistakably
// (a banner with a link to log in again, the title, the status line)
// and keeps ringing while alerts wait: one more rings and notifies as a
// new alert does on a live page, with "log in again to see it".  It is
// never sent to the login page by itself: a silent redirect is what
// left a night shift without its alarm.

import { t } from './i18n.js';
import * as alarm from './alarm.js';

const box = document.getElementById('expired');
const text = document.getElementById('expired-waiting');
let expired = false;
let count = 0; // alerts waiting as last told; null: some, not how many

export function isExpired() {
  return expired;
}

function waitingText(n) {
  if (n === null) return t('expired.news');
  if (n === 0) return t('expired.none');
  return n === 1 ? t('expired.one') : t('expired.many', { n });
}

// The banner and the title in the page's language (again after a
// language change).
export function show() {
  if (!expired) return;
  const title = `${t('title.expired')} – ${t('app.name')}`;
  const n = count;
  document.title = n === null ? `(!) ${title}` : n > 0 ? `(${n}) ${title}` : title;
  text.textContent = waitingText(n);
  box.hidden = false;
}

// n alerts wait now (null: at least one, as yet uncounted; undefined:
// as many as before).
export function waiting(n) {
  if (n === undefined) n = count;
  const news = n === null || n > (count ?? 0);
  count = n;
  alarm.waiting(n, news);
  show();
}

// The session ended; before: how many the page knew to be waiting.
export function expire(n, before) {
  if (!expired) {
    expired = true;
    count = before;
  }
  waiting(n);
}
