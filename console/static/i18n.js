// The page's text: Dutch first, English second.  The language chosen in
// this browser wins (kept in its localStorage: the switch works without
// a session too, on the login page's way and on a page whose session
// ended); else the operator's stored choice; else the browser's
// languages (Accept-Language) decide, and Dutch when they name
// neither.  Text lives in /lang/nl.json and
// /lang/en.json; elements carry their key in data-i18n (text),
// data-i18n-label (aria-label) or data-i18n-title (the document title).

import { FETCH_TIMEOUT_MS, request, timedOut } from './api.js';

export const LANGS = ['nl', 'en'];
let dict = {};
export let lang = 'nl';

const CHOICE = 'alertconsole.lang';

// This browser's choice, '' when none (or storage is off).
function chosen() {
  try {
    return localStorage.getItem(CHOICE) || '';
  } catch {
    return '';
  }
}

// Kept for this browser; with storage off, for this page only.
export function remember(l) {
  try {
    localStorage.setItem(CHOICE, l);
  } catch {
    // nothing to keep it in
  }
}

export function pick(pref) {
  if (LANGS.includes(chosen())) return chosen();
  if (LANGS.includes(pref)) return pref;
  for (const l of navigator.languages || [navigator.language || '']) {
    const base = l.toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'nl';
}

export function t(key, vars = {}) {
  const s = Object.hasOwn(dict, key) ? dict[key] : key;
  // one pass, with a function: a value (a name, a relay's word) is text,
  // neither a replacement pattern ($&) nor a place for a later value
  // ({time} in a name)
  return s.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
}

// What the operator reads when a request failed (e, what it threw):
// when it took too long, that the console did not answer in time, so
// that they try again; else the key's text.
export function failure(e, key = 'msg.error', timeoutKey = 'msg.timeout') {
  return timedOut(e) ? t(timeoutKey, { s: FETCH_TIMEOUT_MS / 1000 }) : t(key);
}

export function apply(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}

export async function setup(pref) {
  lang = pick(pref);
  const res = await request(`/lang/${lang}.json`);
  dict = await res.json();
  document.documentElement.lang = lang;
  apply();
  return lang;
}

// Local time, with its zone, in the page's language.
export function when(unixOrIso) {
  const d = typeof unixOrIso === 'number' ? new Date(unixOrIso * 1000) : new Date(unixOrIso);
  return d.toLocaleString(lang === 'nl' ? 'nl-NL' : 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  });
}

// The time of day only, local with its zone: "14:05:09 CET".
export function clock(date = new Date()) {
  return date.toLocaleTimeString(lang === 'nl' ? 'nl-NL' : 'en-GB', {
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  });
}

export function age(seconds) {
  if (seconds < 60) return t('age.s', { s: seconds });
  const m = Math.floor(seconds / 60);
  if (m < 60) return t('age.m', { m, s: seconds % 60 });
  return t('age.h', { h: Math.floor(m / 60), m: m % 60 });
}

// How far the relay's escalation went: tier 0 is the first round.
export function tierText(tier) {
  return tier > 0 ? t('value.tier', { n: tier + 1 }) : t('value.tier_first');
}

export function duration(seconds) {
  if (seconds == null) return '–';
  if (seconds < 60) return t('dur.s', { s: seconds });
  return t('dur.m', { m: Math.floor(seconds / 60), s: seconds % 60 });
}
