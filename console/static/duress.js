// A duress alarm: the caller was forced to cancel the alarm with the
// duress PIN and may be overheard.  The queue's card and the alert's
// page say so in words, first, with a heavy frame and a warning sign
// (not colour alone): calling back could give the caller away.

import { t } from './i18n.js';

export function duressNote(cls) {
  const p = document.createElement('p');
  p.className = cls;
  const strong = document.createElement('strong');
  strong.textContent = t('value.duress');
  const hint = document.createElement('span');
  hint.textContent = ` ${t('value.duress_hint')}`;
  p.append(strong, hint);
  return p;
}
