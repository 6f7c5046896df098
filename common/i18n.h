/*
 * Translations of what people read (the official's and the contact
 * point's commands), with gettext.  Message ids are English; po/nl.po
 * holds the Dutch.  Dutch is the default when no locale is chosen:
 * the people at both ends are Dutch, the sysadmin can ask for English
 * (LANGUAGE=en or LANG=en_US.UTF-8).  Daemon log lines are never
 * translated.
 */
#ifndef ALERTRELAY_I18N_H
#define ALERTRELAY_I18N_H

#include <libintl.h>

#define I18N_DOMAIN "alertrelay"

/* The library (lib/) shares these texts and runs inside programs with
 * text domains of their own: always our domain, never the default. */
#define _(s) dgettext(I18N_DOMAIN, s)
/* Marks a string for the catalogue where it cannot be translated yet (a
 * static table); translate it with _() where it is used. */
#define N_(s) (s)

/* Once, first thing in main(): the locale from the environment, Dutch
 * when none was chosen, and where the catalogues are. */
void i18n_init(void);
/* The language messages come out in: "nl" or "en". */
const char *i18n_language(void);

#endif
