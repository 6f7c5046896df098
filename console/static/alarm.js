// The alarm until someone takes it: while any alert is unclaimed the
// sound plays at once and then every alarm_interval_s seconds; it stops
// as soon as none is.  The page shows what the sound does in
// document.body.dataset.alarm ("playing" from the audio element's own
// playing event, "stopped", "blocked" when the browser refuses to play
// without a click: then the "Geluid aanzetten" button shows).  A browser
// notification is shown for a new alert while the tab is hidden.

import { t } from './i18n.js';

const audio = document.getElementById('alarm');
const soundBtn = document.getElementById('sound-on');
const notifyBtn = document.getElementById('notify-on');
let timer = null;
let intervalMs = 10000;
let plays = 0;
const told = new Set();

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

export function update(unclaimed) {
  if (unclaimed.length > 0 && timer === null) {
    ring();
    timer = setInterval(ring, intervalMs);
  } else if (unclaimed.length === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
    audio.pause();
    audio.currentTime = 0;
    document.body.dataset.alarm = 'stopped';
  }
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    for (const al of unclaimed) {
      if (told.has(al.alert_id)) continue;
      // type and device only: a notification may show on a locked screen
      new Notification(t('msg.new_alert', { type: t(`type.${al.type}`), alias: al.device_alias }), { tag: al.alert_id });
      // how many were shown, for whoever checks the page (tests)
      document.body.dataset.notified = String(Number(document.body.dataset.notified || 0) + 1);
    }
  }
  for (const al of unclaimed) told.add(al.alert_id);
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
