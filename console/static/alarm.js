// The alarm until someone takes it: while any alert is unclaimed (one
// listed, or one the console counts waiting outside its list) the
// sound plays at once and then every alarm_interval_s seconds; it stops
// as soon as none is.  The page shows what the sound does in
// document.body.dataset.alarm ("playing" from the audio element's own
// playing event, "stopped", "blocked" when the browser refuses to play
// without a click: then the "Geluid aanzetten" button shows).  A browser
// notification is shown for a new alert while the tab is hidden, and
// again for one that waits again after it was taken.  Once
// the session has ended the page knows only how many alerts wait
// (waiting()): the sound goes on the same, and a notification says to
// log in again.

import { t } from './i18n.js';

const audio = document.getElementById('alarm');
const soundBtn = document.getElementById('sound-on');
const notifyBtn = document.getElementById('notify-on');
let timer = null;
let intervalMs = 10000;
let plays = 0;
const told = new Set();
let toldUnlisted = 0; // waiting alerts outside the list, last notified

audio.addEventListener('playing', () => {
  plays += 1;
  document.body.dataset.alarm = 'playing';
  document.body.dataset.alarmPlays = String(plays);
});

function ring() {
  audio.currentTime = 0;
  const p = audio.play();
  if (p) p.then(() => { soundBtn.hidden = true; }).catch(() => {
    document.body.dataset.alarm = 'blocked';
    soundBtn.hidden = false;
  });
}

export function setInterval_(seconds) {
  if (seconds > 0) intervalMs = seconds * 1000;
}

function sound(on) {
  if (on && timer === null) {
    ring();
    timer = setInterval(ring, intervalMs);
  } else if (!on && timer !== null) {
    clearInterval(timer);
    timer = null;
    audio.pause();
    audio.currentTime = 0;
    document.body.dataset.alarm = 'stopped';
  }
}

function notify(text, tag) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  new Notification(text, { tag });
  // how many were shown, for whoever checks the page (tests)
  document.body.dataset.notified = String(Number(document.body.dataset.notified || 0) + 1);
}

// unlisted: alerts waiting for a person that the console's bound left
// out of the list; they ring as the listed ones do.
export function update(unclaimed, unlisted = 0) {
  sound(unclaimed.length > 0 || unlisted > 0);
  // a count only: which alerts they are the page does not know
  if (unlisted > toldUnlisted) notify(t('msg.unlisted', { n: unlisted }), 'unlisted');
  toldUnlisted = unlisted;
  // one taken and then waiting again (a duress alarm reopening it, a
  // release) is news again
  const now = new Set(unclaimed.map((al) => al.alert_id));
  for (const id of told) if (!now.has(id)) told.delete(id);
  for (const al of unclaimed) {
    // type and device only: a notification may show on a locked screen
    if (!told.has(al.alert_id)) notify(t('msg.new_alert', { type: t(`type.${al.type}`), alias: al.device_alias }), al.alert_id);
    told.add(al.alert_id);
  }
}

// After the session ended: n alerts wait (null: some, how many is not
// known); news: one more came.
export function waiting(n, news) {
  sound(n === null || n > 0);
  if (news) notify(t('expired.notify'), 'expired');
}

soundBtn.addEventListener('click', () => { if (timer !== null) ring(); else soundBtn.hidden = true; });
if ('Notification' in window && Notification.permission === 'default') {
  notifyBtn.hidden = false;
  notifyBtn.addEventListener('click', async () => {
    await Notification.requestPermission();
    notifyBtn.hidden = true;
  });
}
document.body.dataset.alarm = 'stopped';
