// The operators' queue: the console pushes an event when an alert came
// in or changed (Server-Sent Events, /api/events: stream.js), and the
// page then asks for the alerts (/api/alerts) and shows them, most
// urgent first, each with who holds it and a button to take it.  A
// heartbeat comes every 5 s; without one for 10 s the page takes the
// stream for dead, says it is out of date, loads the alerts at once and
// opens a new stream (stream.js); it says so too while a fetch of the
// alerts fails: that fetch is tried again until one succeeds
// (loader.js).  In a flood the
// console lists duress alarms and the alerts waiting for a person first
// and says how many more open alerts wait (more_open), which the page
// says above the queue; the alarm also rings for waiting alerts the list
// left out (waiting_unlisted), and the page says so.
// When the session ends the page stays and keeps ringing (expired.js).
// Alert text is only ever set as text (textContent), never as HTML.
// The position is map.js's, the caller history history.js's.

import { showLocation } from './map.js';
import { showHistory } from './history.js';

import { age, clock, failure, t, tierText, when } from './i18n.js';
import { post } from './api.js';
import { sessionEnded, start } from './header.js';
import { loader } from './loader.js';
import { follow } from './stream.js';
import * as alarm from './alarm.js';
import { duressNote } from './duress.js';
import { relayWords } from './notice.js';
import { expire, isExpired, show as showExpired, waiting } from './expired.js';

const queue = document.getElementById('queue');
const empty = document.getElementById('empty');
const banner = document.getElementById('banner');
const status = document.getElementById('status');
const notice = document.getElementById('notice');
const moreBox = document.getElementById('more');
const unlistedBox = document.getElementById('unlisted');

let alerts = [];
let more = 0; // open alerts the console's bound left out of the list
let unlisted = 0; // of those, the ones waiting for a person
let offline = []; // devices the relay found offline, not back yet
let offset = 0; // console clock minus ours, in seconds
let stream = { down: () => false }; // the event stream, once followed

function row(dl, label, value, cls) {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  if (value instanceof Node) dd.append(value); else dd.textContent = value;
  if (cls) dd.className = cls;
  dl.append(dt, dd);
  return dd;
}

const historyOpen = new Set(); // alert ids whose history is shown

// "Eerdere meldingen": the caller's history, one click away, under the card.
// The button goes in the card's row of actions, the list under the card.
function historyToggle(li, al, actions) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'history-toggle';
  button.textContent = t('history.heading');
  const panel = document.createElement('div');
  panel.id = `history-${al.alert_id}`;
  panel.hidden = true;
  button.setAttribute('aria-controls', panel.id);
  button.setAttribute('aria-expanded', 'false');
  const toggle = (open) => {
    button.setAttribute('aria-expanded', String(open));
    panel.hidden = !open;
    if (open) {
      historyOpen.add(al.alert_id);
      showHistory(panel, al.device_id, { current: al.alert_id, heading: 4 });
    } else {
      historyOpen.delete(al.alert_id);
    }
  };
  button.addEventListener('click', () => toggle(panel.hidden));
  actions.insertBefore(button, actions.querySelector('.card-msg'));
  li.append(panel);
  if (historyOpen.has(al.alert_id)) toggle(true);
}

function unclaimed(al) {
  return al.state === 'open' && !al.owner;
}

async function claim(al, li) {
  const msg = li.querySelector('.card-msg');
  let res;
  let body;
  try {
    res = await post(`/api/alert/${al.alert_id}/claim`);
    body = await res.json().catch(() => ({}));
  } catch (e) {
    msg.textContent = failure(e); // the card stays as it was
    load();
    return;
  }
  if (res.status === 409 && body.owner) msg.textContent = t('msg.claimed_by', { name: body.owner });
  else if (!res.ok) msg.textContent = t('msg.error');
  else notice.textContent = t('msg.claimed');
  await load();
}

function card(al) {
  const li = document.createElement('li');
  li.className = `alert ${al.type}${al.duress ? ' duress' : ''}`;
  li.dataset.alertId = al.alert_id;
  li.dataset.owner = al.owner || '';
  const h = document.createElement('h3');
  const link = document.createElement('a');
  link.href = `/alert.html?id=${encodeURIComponent(al.alert_id)}`;
  const tp = document.createElement('span');
  tp.className = 'type';
  tp.textContent = t(`type.${al.type}`);
  link.append(tp, ` – ${al.device_alias}`);
  h.append(link);
  if (al.drill) { // a rehearsal: said before anything else on the card
    const d = document.createElement('span');
    d.className = 'drill';
    d.textContent = t('value.drill');
    h.prepend(d, ' ');
  }
  li.append(h);
  if (al.duress) li.append(duressNote('duress-note'));
  const dl = document.createElement('dl');
  const ageDd = row(dl, t('field.received'), '');
  ageDd.dataset.created = al.created_at;
  ageDd.className = 'age';
  row(dl, t('field.message'), al.sealed === false ? t('value.content_removed') : al.message == null ? t('value.no_message') : al.message, 'message');
  const where = row(dl, t('field.location'), '');
  where.classList.add('location');
  showLocation(where, al.location, { map: false, now: Date.now() / 1000 + offset });
  row(dl, t('field.state'), t(`state.${al.state}`));
  row(dl, t('field.owner'), al.owner || t('value.nobody'), 'owner');
  row(dl, t('field.tier'), tierText(al.tier), 'tier');
  if (al.acked_by) row(dl, t('field.acked_by'), al.acked_by);
  if (al.ref) row(dl, t('field.ref'), al.ref);
  if (al.stale) row(dl, t('field.warning'), t('value.stale'), 'warn');
  if (al.device_revoked) row(dl, t('field.warning'), t('value.revoked'), 'warn');
  if (al.early) row(dl, t('field.warning'), t('value.early'), 'warn');
  for (const w of relayWords(al)) row(dl, t('field.relay_says'), w, 'warn relay-word');
  li.append(dl);
  const actions = document.createElement('p');
  actions.className = 'actions';
  if (unclaimed(al)) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'claim';
    b.textContent = t('action.claim');
    const what = al.duress ? `${t('value.duress')}, ${t(`type.${al.type}`)}` : t(`type.${al.type}`);
    b.setAttribute('aria-label', `${t('action.claim')}: ${what} – ${al.device_alias}`);
    b.addEventListener('click', () => claim(al, li));
    actions.append(b);
  }
  const msg = document.createElement('span');
  msg.className = 'card-msg';
  msg.setAttribute('role', 'status');
  actions.append(msg);
  li.append(actions);
  historyToggle(li, al, actions);
  return li;
}

// A supervised device that went silent: an item of its own in the queue
// until its device.online comes.
function offlineItem(dev) {
  const li = document.createElement('li');
  li.className = 'alert device-offline';
  li.dataset.deviceId = dev.device_id;
  const p = document.createElement('p');
  p.className = 'offline-text';
  p.textContent = t('device.offline', { alias: dev.device_alias, time: when(dev.last_seen) });
  li.append(p);
  return li;
}

// Offline devices come after the duress alarms and the open alerts of
// the highest priority (panic, missed check-in), before the rest.
function withOffline(items) {
  const urgent = (al) => al.duress || (al.priority === 0 && al.state === 'open');
  let at = alerts.findIndex((al) => !urgent(al));
  if (at < 0) at = alerts.length;
  return [...items.slice(0, at), ...offline.map(offlineItem), ...items.slice(at)];
}

function tick() {
  const now = Date.now() / 1000 + offset;
  for (const dd of queue.querySelectorAll('dd.age')) {
    const s = Math.max(0, Math.floor(now - Date.parse(dd.dataset.created) / 1000));
    dd.textContent = age(s);
  }
  banner.hidden = !alertsLoader.stale() && !stream.down();
}

// More open alerts than the list holds: said in words, never left out
// unseen.
function renderMore() {
  moreBox.hidden = more === 0;
  moreBox.textContent = more === 1 ? t('queue.more_one') : t('queue.more_many', { n: more });
  unlistedBox.hidden = unlisted === 0;
  unlistedBox.textContent = unlisted === 1 ? t('queue.unlisted_one') : t('queue.unlisted_many', { n: unlisted });
}

function render(force) {
  const waiting = alerts.filter(unclaimed);
  const n = waiting.length + unlisted;
  const title = `${t('title.queue')} – ${t('app.name')}`;
  document.title = n > 0 ? `(${n}) ${title}` : title;
  const known = new Map([...queue.children].map((li) => [li.dataset.alertId, li]));
  const items = alerts.map((al) => {
    // all the card shows (tier, warnings, ...) but the age, which
    // tick() keeps
    const key = JSON.stringify({ ...al, age_s: undefined });
    const li = known.get(al.alert_id);
    if (!force && li && li.dataset.key === key) return li;
    const fresh = card(al);
    fresh.dataset.key = key;
    return fresh;
  });
  queue.replaceChildren(...withOffline(items));
  empty.hidden = alerts.length + offline.length > 0;
  renderMore();
  alarm.update(waiting, unlisted);
  tick();
}

// The session ended; n alerts wait (null: one came that this page may
// no longer see; undefined: as many as the page knew).  What the page
// showed is the session's: it goes.
function ended(n) {
  if (isExpired()) {
    waiting(n);
    return;
  }
  const before = alerts.filter(unclaimed).length;
  alertsLoader.stop();
  alerts = [];
  offline = [];
  more = 0;
  unlisted = 0;
  renderMore();
  queue.replaceChildren();
  empty.hidden = true;
  notice.textContent = '';
  status.textContent = t('status.expired');
  sessionEnded();
  expire(n, before);
}

function shownAnswer(body) {
  offset = body.now - Date.now() / 1000;
  alerts = body.alerts;
  offline = body.offline || [];
  more = Number.isInteger(body.more_open) ? body.more_open : 0;
  unlisted = Number.isInteger(body.waiting_unlisted) ? body.waiting_unlisted : 0;
  status.textContent = t('status.updated', { time: clock() });
  render(false);
}

// Tried again by the loader until a later load succeeds.
function failed() {
  status.textContent = t('status.offline');
  tick();
}

const alertsLoader = loader('/api/alerts', {
  answer: shownAnswer,
  failed,
  ended: (news) => ended(news ? null : undefined),
});
const load = (news) => alertsLoader.load(news);

function waitingCount(ev) {
  try {
    const n = JSON.parse(ev.data).waiting;
    return Number.isInteger(n) && n >= 0 ? n : null;
  } catch (e) {
    return null;
  }
}

// The live stream (stream.js); heartbeatMs: /api/session's.
function connect(heartbeatMs) {
  stream = follow({
    heartbeat: () => { alertsLoader.beat(); tick(); },
    alerts: () => load(true),
    open: () => load(false),
    lost: () => load(false),
    expired: (ev) => ended(waitingCount(ev)),
    waiting: (ev) => waiting(waitingCount(ev)),
  }, heartbeatMs);
}

function exportPeriod(ev) {
  ev.preventDefault();
  const from = Date.parse(`${document.getElementById('export-from').value}T00:00:00`) / 1000;
  const to = Date.parse(`${document.getElementById('export-to').value}T00:00:00`) / 1000 + 86400;
  const format = document.getElementById('export-format').value;
  if (Number.isNaN(from) || Number.isNaN(to)) return;
  location.href = `/api/export?from=${from}&to=${to}&format=${format}`;
}

async function main() {
  const s = await start();
  if (!s) return;
  alarm.setInterval_(s.alarm_interval_s);
  document.addEventListener('langchange', () => {
    if (!isExpired()) return render(true);
    status.textContent = t('status.expired');
    return showExpired();
  });
  document.getElementById('export').addEventListener('submit', exportPeriod);
  connect(s.heartbeat_ms);
  setInterval(tick, 1000);
}

main();
