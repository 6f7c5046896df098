// One alert's page: its details (opened by the console on request), who
// holds it, the actions (claim, release, acknowledge to the sender, a
// note, closing with an outcome), exports, and its timeline.  It follows
// the console's event stream, so what another operator does shows here,
// and a later position of the caller moves the map (map.js).  Below it,
// the caller's earlier alerts (history.js).
// It loads as the queue does (loader.js, stream.js): a failed load is
// tried again, with the banner up until one succeeds, and an ended
// session is said on the page (its banner, a link to log in again),
// which then shows nothing of the alert, never a silent way to the
// login page.
// All alert text is set as text, never as HTML.

import { age, duration, failure, t, tierText, when } from './i18n.js';
import { post, session } from './api.js';
import { sessionEnded, start } from './header.js';
import { loader } from './loader.js';
import { follow } from './stream.js';
import { showLocation } from './map.js';
import { showHistory } from './history.js';
import { duressNote } from './duress.js';
import { relayWords } from './notice.js';

const id = new URLSearchParams(location.search).get('id') || '';
const details = document.getElementById('details');
const timeline = document.getElementById('timeline');
const notice = document.getElementById('notice');
const banner = document.getElementById('banner');
const locationBox = document.createElement('div');
const historyBox = document.createElement('div');
document.getElementById('location').append(locationBox);
document.getElementById('history').append(historyBox);
const duressBox = document.getElementById('duress');
const expiredBox = document.getElementById('expired');
let alert_ = null;
let expired = false;
let stream = { down: () => false }; // the event stream, once followed

function row(label, value, cls) {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  if (value instanceof Node) dd.append(value); else dd.textContent = value;
  if (cls) dd.className = cls;
  details.append(dt, dd);
}

// The details say where in one line; the section below has the map.
function locationText(loc) {
  if (!loc) return t('value.no_location');
  const acc = loc.accuracy_m != null ? ` ${t('map.accuracy', { m: Math.round(loc.accuracy_m) })}` : '';
  return `${loc.lat.toFixed(5)}, ${loc.lon.toFixed(5)}${acc}`;
}

// The position (map.js) in #location: drawn once, and again only when
// the alert's position changed (an alert.location webhook), so the map
// is not rebuilt for every other change.
let shownFix;
function renderLocation(al, force) {
  const fix = al.location ? `${al.location.lat},${al.location.lon},${al.location.fixed_at}` : null;
  if (!force && fix === shownFix) return;
  shownFix = fix;
  const now = Date.parse(al.created_at) / 1000 + al.age_s;
  showLocation(locationBox, al.location, { now });
}

// The caller history (history.js) in #history, once the device is known.
let historyFor = null;
function renderHistory(al, force) {
  if (!force && historyFor === al.device_id) return;
  historyFor = al.device_id;
  showHistory(historyBox, al.device_id, { current: al.alert_id, heading: 0 });
}

function kindText(e) {
  const k = t(`kind.${e.kind}`);
  if (e.kind === 'closed') {
    const [outcome, ...rest] = e.detail.split(': ');
    return `${k}: ${t(`outcome.${outcome}`)}${rest.length ? ` – ${rest.join(': ')}` : ''}`;
  }
  return e.detail && e.kind !== 'acknowledged' ? `${k}: ${e.detail}` : k;
}

// The time to acknowledge counts only an acknowledgement made here or
// signed by a recipient (as the metrics do); without one the page says
// so, and why when the relay alone reports one.
function ackTime(al) {
  if (al.time_to_ack_s != null) return duration(al.time_to_ack_s);
  return t(al.notices?.acknowledged === 'relay' ? 'value.no_ack_relay' : 'value.no_ack');
}

function renderTimeline(list) {
  const items = list.map((e) => {
    const li = document.createElement('li');
    li.dataset.kind = e.kind;
    const time = document.createElement('time');
    time.dateTime = new Date(e.at * 1000).toISOString();
    time.textContent = when(e.at);
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = kindText(e);
    const who = document.createElement('span');
    who.className = 'actor';
    who.textContent = e.actor;
    li.append(time, ' ', what, ' – ', who);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement('li');
    li.textContent = t('timeline.empty');
    items.push(li);
  }
  timeline.replaceChildren(...items);
}

function render(force) {
  const al = alert_;
  if (!al) return;
  renderLocation(al, force === true);
  renderHistory(al, force === true);
  document.getElementById('alert-title').textContent = `${t(`type.${al.type}`)} – ${al.device_alias}`;
  document.title = `${t(`type.${al.type}`)} – ${al.device_alias} – ${t('app.name')}`;
  document.body.dataset.owner = al.owner || '';
  document.body.dataset.state = al.state;
  details.replaceChildren();
  duressBox.replaceChildren(...(al.duress ? [duressNote('duress-note')] : []));
  row(t('field.created'), `${when(al.created_at)} (${age(Math.max(0, al.age_s))})`);
  row(t('field.message'), al.sealed === false ? t('value.content_removed') : al.message == null ? t('value.no_message') : al.message, 'message');
  row(t('field.location'), locationText(al.location));
  row(t('field.state'), t(`state.${al.state}`), 'state');
  row(t('field.owner'), al.owner || t('value.nobody'), 'owner');
  row(t('field.tier'), tierText(al.tier), 'tier');
  if (al.acked_by) row(t('field.acked_by'), al.acked_by, 'acked-by');
  if (al.outcome) row(t('field.outcome'), t(`outcome.${al.outcome}`));
  row(t('field.time_to_claim'), duration(al.time_to_claim_s));
  row(t('field.time_to_ack'), ackTime(al), 'time-to-ack');
  if (al.ref) row(t('field.ref'), al.ref);
  if (al.stale) row(t('field.warning'), t('value.stale'), 'warn');
  if (al.device_revoked) row(t('field.warning'), t('value.revoked'), 'warn');
  if (al.early) row(t('field.warning'), t('value.early'), 'warn');
  for (const w of relayWords(al)) row(t('field.relay_says'), w, 'warn relay-word');
  const mine = al.owner === session.name;
  const closed = al.state === 'closed';
  document.getElementById('claim').disabled = closed || !!al.owner;
  document.getElementById('release').disabled = closed || !al.owner || (!mine && session.role !== 'supervisor');
  const takeover = document.getElementById('takeover');
  takeover.hidden = session.role !== 'supervisor';
  takeover.disabled = closed || !al.owner || mine;
  document.getElementById('ack').disabled = closed || al.state !== 'open' || (!!al.owner && !mine);
  document.getElementById('close-form').querySelector('button').disabled = closed;
  renderTimeline(al.timeline || []);
}

// The connection banner follows the last load that succeeded (or
// heartbeat) and the stream (up while it is given up on, stream.js);
// not once the session ended, which its own banner says.
function tick() {
  banner.hidden = expired || (!alertLoader.stale() && !stream.down());
}

function showEnded() {
  document.getElementById('alert-title').textContent = t('title.expired');
  document.title = `${t('title.expired')} – ${t('app.name')}`;
  const back = new URLSearchParams({ next: location.pathname + location.search, why: 'expired' });
  document.getElementById('expired-login').href = `/login.html?${back}`;
  expiredBox.hidden = false;
}

// The session ended: what the page showed was the session's, and goes.
function ended() {
  if (expired) return;
  expired = true;
  alertLoader.stop();
  alert_ = null;
  for (const el of [details, timeline, locationBox, historyBox, duressBox]) el.replaceChildren();
  notice.textContent = '';
  sessionEnded();
  showEnded();
  tick();
}

const alertLoader = loader(`/api/alert/${encodeURIComponent(id)}`, {
  answer: (body) => { alert_ = body; render(); tick(); },
  failed: tick,
  ended,
  final: (res) => {
    if (res.status !== 404) return false;
    notice.textContent = t('notfound');
    return true;
  },
});
const load = () => alertLoader.load(false);

// A failed acknowledgement says whether to call the sender back.
function ackFailed(e) {
  const duress = alert_?.duress;
  return failure(e, duress ? 'msg.ack_failed_duress' : 'msg.ack_failed', duress ? 'msg.ack_timeout_duress' : 'msg.ack_timeout');
}

async function act(path, body, okKey) {
  let res;
  let answer;
  try {
    res = await post(`/api/alert/${encodeURIComponent(id)}/${path}`, body);
    answer = await res.json().catch(() => ({}));
  } catch (e) {
    notice.textContent = path === 'ack' ? ackFailed(e) : failure(e);
    load();
    return false;
  }
  if (res.ok) notice.textContent = t(okKey);
  else if (res.status === 409 && answer.owner) notice.textContent = t('msg.claimed_by', { name: answer.owner });
  else if (res.status === 409 && answer.error === 'cancelled') notice.textContent = t('msg.cancelled');
  else if (res.status === 409 && answer.error === 'closed') notice.textContent = t('msg.closed_already');
  else if (res.status === 409 && answer.error === 'yours') notice.textContent = t('msg.yours_already');
  else if (res.status === 403 && answer.error === 'not_holder') {
    notice.textContent = answer.owner ? t('msg.not_holder_name', { name: answer.owner }) : t('msg.not_holder');
  } else if (res.status === 403 && answer.error === 'supervisor') notice.textContent = t('msg.supervisor_only');
  else if (path === 'ack' && answer.error === 'name_refused') {
    // trying again cannot help: the account needs another name
    notice.textContent = t(alert_?.duress ? 'msg.ack_name_refused_duress' : 'msg.ack_name_refused');
  } else if (path === 'ack' && answer.error === 'rate_limited') {
    // the relay limits the contact point's token (the console tried again already)
    notice.textContent = t(alert_?.duress ? 'msg.ack_rate_limited_duress' : 'msg.ack_rate_limited');
  } else if (path === 'ack') notice.textContent = ackFailed(null);
  else notice.textContent = t('msg.error');
  await load();
  return res.ok;
}

async function main() {
  const s = await start();
  if (!s) return;
  document.getElementById('export-json').href = `/api/export?alert=${encodeURIComponent(id)}&format=json`;
  document.getElementById('export-csv').href = `/api/export?alert=${encodeURIComponent(id)}&format=csv`;
  document.getElementById('claim').addEventListener('click', () => act('claim', {}, 'msg.claimed'));
  document.getElementById('release').addEventListener('click', () => act('release', {}, 'msg.released'));
  document.getElementById('takeover').addEventListener('click', () => act('takeover', {}, 'msg.taken_over'));
  document.getElementById('ack').addEventListener('click', () => act('ack', {}, 'msg.acked'));
  document.getElementById('note-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const note = document.getElementById('note');
    if (await act('note', { text: note.value }, 'msg.note_saved')) note.value = '';
  });
  document.getElementById('close-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const note = document.getElementById('close-note');
    if (await act('close', { outcome: document.getElementById('outcome').value, note: note.value }, 'msg.closed')) note.value = '';
  });
  document.addEventListener('langchange', () => (expired ? showEnded() : render(true)));
  stream = follow({
    heartbeat: () => { alertLoader.beat(); tick(); },
    alerts: (ev) => { if (JSON.parse(ev.data) === id) load(); },
    open: load,
    lost: load,
    expired: ended,
  }, s.heartbeat_ms);
  setInterval(tick, 1000);
}

main();
