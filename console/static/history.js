// The caller history (issue 12 item 6): a device's earlier alerts, newest
// first, with their type, time and state, from GET
// /api/devices/<id>/alerts, a page at a time ("Meer laden" asks for the
// next one).  Alert text is only ever set as text.

import { failure, t, when } from './i18n.js';
import { getJson } from './api.js';

const PAGE = 10;

function item(al, current) {
  const li = document.createElement('li');
  li.className = `history-item ${al.type}`;
  li.dataset.alertId = al.alert_id;
  const head = document.createElement('span');
  head.className = 'history-head';
  const type = document.createElement('strong');
  type.textContent = t(`type.${al.type}`);
  const time = document.createElement('time');
  time.dateTime = al.created_at;
  time.textContent = when(al.created_at);
  // The outcome of a closed alert, once the console records one.
  const state = al.outcome ? t(`outcome.${al.outcome}`) : t(`state.${al.state}`);
  head.append(type, ' · ', time, ` · ${state}`);
  if (al.alert_id === current) head.append(` ${t('history.current')}`);
  const msg = document.createElement('span');
  msg.className = 'history-message';
  msg.textContent = al.message == null ? t('value.no_message') : al.message;
  li.append(head, msg);
  return li;
}

async function page(deviceId, before) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (before != null) q.set('before', String(before));
  const res = await getJson(`/api/devices/${encodeURIComponent(deviceId)}/alerts?${q}`);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

// Fills container with deviceId's alerts.  options.current: the alert id
// being looked at, marked in the list; options.heading: the level of the
// list's heading (default 3), or 0 for none.  Resolves once the first
// page is shown (or the failure is).
export async function showHistory(container, deviceId, options = {}) {
  const level = options.heading ?? 3;
  container.replaceChildren();
  container.classList.add('history');
  if (level > 0) {
    const h = document.createElement(`h${level}`);
    h.textContent = t('history.heading');
    container.append(h);
  }
  const status = document.createElement('p');
  status.className = 'history-status';
  status.setAttribute('role', 'status');
  status.textContent = t('history.loading');
  const list = document.createElement('ol');
  list.className = 'history-list';
  const more = document.createElement('button');
  more.type = 'button';
  more.className = 'history-more';
  more.textContent = t('history.more');
  more.hidden = true;
  container.append(status, list, more);
  let next = null;

  async function load() {
    more.disabled = true;
    try {
      const body = await page(deviceId, next);
      for (const al of body.alerts) list.append(item(al, options.current));
      next = body.next;
      more.hidden = next == null;
      status.textContent = list.children.length === 0 ? t('history.none') : '';
    } catch (e) {
      status.textContent = failure(e, 'history.failed');
    }
    more.disabled = false;
  }
  more.addEventListener('click', load);
  await load();
}
