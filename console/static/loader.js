// How both pages load what they show from the console (the queue's
// alerts, one alert's page): a load that fails is tried again, after
// 1 s doubling to 15 s, until one succeeds (one retry waits at a time);
// an answer older than the one shown is dropped; and the page counts as
// out of date (stale()) while loads fail or when nothing came for 15 s,
// a load or the event stream's heartbeat (beat()).  A 401 is the page's
// to say (ended): never a silent way to the login page, which is what
// left a night shift without its alarm.

import { getJson } from './api.js';

export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 15000;
const STALE_MS = 15000;

// on.answer(body): a load's JSON; on.ended(news): the session is gone
// (news: the load was for something that came in); on.failed(): a load
// failed (tried again); on.final(res): an answer that is not an error
// to retry (an alert not found), true when handled.
export function loader(path, on) {
  let seq = 0; // loads started
  let shown = 0; // the load whose answer is shown
  let failedAt = 0; // the newest load that failed; cleared by a later one
  let retryTimer = null;
  let retryMs = RETRY_MIN_MS;
  let lastOk = Date.now();
  let stopped = false;

  function succeeded(mine) {
    shown = mine;
    lastOk = Date.now();
    if (mine <= failedAt) return;
    failedAt = 0;
    retryMs = RETRY_MIN_MS;
    clearTimeout(retryTimer);
    retryTimer = null;
  }

  function failed(mine) {
    failedAt = Math.max(failedAt, mine);
    on.failed();
    if (retryTimer !== null) return;
    retryTimer = setTimeout(() => { retryTimer = null; load(false); }, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  }

  function stop() {
    stopped = true;
    failedAt = 0;
    clearTimeout(retryTimer);
    retryTimer = null;
  }

  async function load(news) {
    if (stopped) return;
    const mine = ++seq;
    let res;
    let body;
    try {
      res = await getJson(path, true);
      if (res.ok) body = await res.json();
    } catch (e) {
      res = null;
    }
    if (stopped || mine < shown) return; // a newer answer is shown
    if (res && res.status === 401) {
      stop();
      on.ended(news);
    } else if (body) {
      succeeded(mine);
      on.answer(body);
    } else if (res && on.final && on.final(res)) {
      succeeded(mine);
    } else {
      failed(mine);
    }
  }

  return {
    load,
    stop,
    beat() { lastOk = Date.now(); },
    stale() { return Date.now() - lastOk >= STALE_MS || failedAt !== 0; },
  };
}
