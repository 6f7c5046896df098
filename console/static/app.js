// The operators' queue: the console pushes an event when an alert came
// in (Server-Sent Events, /api/events), and the page then asks for the
// alerts (/api/alerts) and shows them, most urgent first.  A heartbeat
// comes every 5 s; without one for 15 s the page says it is out of date.
// Alert text is only ever set as text (textContent), never as HTML.
// The position is map.js's, the caller history history.js's.

import { showLocation } from './map.js';
import { showHistory } from './history.js';

const STALE_MS = 15000; // banner when nothing came for this long

const TYPES = { panic: 'Paniek', threat: 'Dreiging', test: 'Test' };
const STATES = { open: 'Open', acknowledged: 'Bevestigd', cancelled: 'Ingetrokken door de melder' };

const queue = document.getElementById('queue');
const empty = document.getElementById('empty');
const banner = document.getElementById('banner');
const status = document.getElementById('status');

let lastOk = Date.now();
let alerts = [];
let offset = 0; // console clock minus ours, in seconds

function age(seconds) {
  if (seconds < 60) return `${seconds} s geleden`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${seconds % 60} s geleden`;
  const h = Math.floor(m / 60);
  return `${h} uur ${m % 60} min geleden`;
}

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
function historyToggle(li, al) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'history-toggle';
  button.textContent = 'Eerdere meldingen';
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
  li.append(button, panel);
  if (historyOpen.has(al.alert_id)) toggle(true);
}

function card(al) {
  const li = document.createElement('li');
  li.className = `alert ${al.type}`;
  li.dataset.alertId = al.alert_id;
  const h = document.createElement('h3');
  const t = document.createElement('span');
  t.className = 'type';
  t.textContent = TYPES[al.type] || al.type;
  h.append(t, ` – ${al.device_alias}`);
  li.append(h);
  const dl = document.createElement('dl');
  const ageDd = row(dl, 'Ontvangen', '');
  ageDd.dataset.created = al.created_at;
  ageDd.className = 'age';
  row(dl, 'Bericht', al.message == null ? 'Geen bericht' : al.message, 'message');
  const where = row(dl, 'Locatie', '');
  where.className = 'location';
  showLocation(where, al.location, { map: false, now: Date.now() / 1000 + offset });
  row(dl, 'Status', STATES[al.state] || al.state);
  if (al.ref) row(dl, 'Kenmerk', al.ref);
  if (al.stale) row(dl, 'Let op', 'Oude melding: mogelijk opnieuw afgespeeld', 'warn');
  li.append(dl);
  historyToggle(li, al);
  return li;
}

function tick() {
  const now = Date.now() / 1000 + offset;
  for (const dd of queue.querySelectorAll('dd.age')) {
    const s = Math.max(0, Math.floor(now - Date.parse(dd.dataset.created) / 1000));
    dd.textContent = age(s);
  }
  banner.hidden = Date.now() - lastOk < STALE_MS;
}

function render() {
  const open = alerts.filter((a) => a.state === 'open').length;
  document.title = open > 0 ? `(${open}) Meldingen – alertconsole` : 'Meldingen – alertconsole';
  const known = new Map([...queue.children].map((li) => [li.dataset.alertId, li]));
  const items = alerts.map((al) => {
    const fix = al.location ? al.location.fixed_at : '';
    const key = `${al.alert_id}:${al.state}:${fix}`;
    const li = known.get(al.alert_id);
    if (li && li.dataset.key === key) return li;
    const fresh = card(al);
    fresh.dataset.key = key;
    return fresh;
  });
  queue.replaceChildren(...items);
  empty.hidden = alerts.length > 0;
  tick();
}

async function load() {
  try {
    const res = await fetch('/api/alerts', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    offset = body.now - Date.now() / 1000;
    alerts = body.alerts;
    lastOk = Date.now();
    status.textContent = `Bijgewerkt om ${new Date().toLocaleTimeString('nl-NL')}`;
    render();
  } catch (e) {
    status.textContent = 'Geen verbinding met de console';
    tick();
  }
}

const events = new EventSource('/api/events');
events.addEventListener('heartbeat', () => { lastOk = Date.now(); tick(); });
events.addEventListener('alerts', load);
// After a break the stream comes back by itself; what came in meanwhile
// is fetched again.
events.addEventListener('open', load);
setInterval(tick, 1000);
