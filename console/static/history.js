// The caller history (issue 12 item 6): a device's earlier alerts, newest
// first, with their type, time and state, from GET
// /api/devices/<id>/alerts, a page at a time ("Meer laden" asks for the
// next one).  Alert text is only ever set as text.

const TEXT = {
  nl: {
    title: 'Eerdere meldingen',
    loading: 'Eerdere meldingen laden…',
    none: 'Geen eerdere meldingen van deze melder.',
    failed: 'Eerdere meldingen konden niet worden geladen.',
    more: 'Meer laden',
    noMessage: 'Geen bericht',
    current: '(deze melding)',
    types: { panic: 'Paniek', threat: 'Dreiging', test: 'Test' },
    states: { open: 'Open', acknowledged: 'Bevestigd', cancelled: 'Ingetrokken door de melder', closed: 'Afgesloten' },
  },
  en: {
    title: 'Earlier alerts',
    loading: 'Loading earlier alerts…',
    none: 'No earlier alerts from this caller.',
    failed: 'Earlier alerts could not be loaded.',
    more: 'Load more',
    noMessage: 'No message',
    current: '(this alert)',
    types: { panic: 'Panic', threat: 'Threat', test: 'Test' },
    states: { open: 'Open', acknowledged: 'Acknowledged', cancelled: 'Cancelled by the caller', closed: 'Closed' },
  },
};

const PAGE = 10;

function text() {
  return TEXT[document.documentElement.lang === 'en' ? 'en' : 'nl'];
}

// Local time with its zone: "3 dec 2026 14:05 CET".
function when(iso) {
  const lang = document.documentElement.lang === 'en' ? 'en-GB' : 'nl-NL';
  return new Date(iso).toLocaleString(lang, {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit',
    minute: '2-digit', timeZoneName: 'short',
  });
}

function item(al, t, current) {
  const li = document.createElement('li');
  li.className = `history-item ${al.type}`;
  li.dataset.alertId = al.alert_id;
  const head = document.createElement('span');
  head.className = 'history-head';
  const type = document.createElement('strong');
  type.textContent = t.types[al.type] || al.type;
  const time = document.createElement('time');
  time.dateTime = al.created_at;
  time.textContent = when(al.created_at);
  // The outcome of a closed alert, once the console records one.
  const state = al.outcome || t.states[al.state] || al.state;
  head.append(type, ' · ', time, ` · ${state}`);
  if (al.alert_id === current) head.append(` ${t.current}`);
  const msg = document.createElement('span');
  msg.className = 'history-message';
  msg.textContent = al.message == null ? t.noMessage : al.message;
  li.append(head, msg);
  return li;
}

async function page(deviceId, before) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (before != null) q.set('before', String(before));
  const res = await fetch(`/api/devices/${encodeURIComponent(deviceId)}/alerts?${q}`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

// Fills container with deviceId's alerts.  options.current: the alert id
// being looked at, marked in the list; options.heading: the level of the
// list's heading (default 3), or 0 for none.  Resolves once the first
// page is shown (or the failure is).
export async function showHistory(container, deviceId, options = {}) {
  const t = text();
  const level = options.heading ?? 3;
  container.replaceChildren();
  container.classList.add('history');
  if (level > 0) {
    const h = document.createElement(`h${level}`);
    h.textContent = t.title;
    container.append(h);
  }
  const status = document.createElement('p');
  status.className = 'history-status';
  status.setAttribute('role', 'status');
  status.textContent = t.loading;
  const list = document.createElement('ol');
  list.className = 'history-list';
  const more = document.createElement('button');
  more.type = 'button';
  more.className = 'history-more';
  more.textContent = t.more;
  more.hidden = true;
  container.append(status, list, more);
  let next = null;

  async function load() {
    more.disabled = true;
    try {
      const body = await page(deviceId, next);
      for (const al of body.alerts) list.append(item(al, t, options.current));
      next = body.next;
      more.hidden = next == null;
      status.textContent = list.children.length === 0 ? t.none : '';
    } catch (e) {
      status.textContent = t.failed;
    }
    more.disabled = false;
  }
  more.addEventListener('click', load);
  await load();
}
