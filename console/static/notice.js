// What only the relay says about an alert (the API's "notices"): a
// cancel the device did not sign, an acknowledgement no recipient
// signed, a duress without the device's signed cancel.  A relay taken
// over could make these up, so they are shown as its word beside the
// alert, which stays open, unclaimed and ringing (docs/SECURITY.md).

import { t } from './i18n.js';

export function relayWords(al) {
  const n = al.notices || {};
  const out = [];
  if (n.cancelled === 'relay') out.push(t('notice.cancelled_relay'));
  if (n.acknowledged === 'relay') out.push(t('notice.acked_relay', { name: al.relay_acked_by || '?' }));
  if (n.duress === 'relay') out.push(t('notice.duress_relay'));
  return out;
}
