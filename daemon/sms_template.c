/*
 * SMS templates (see sms_template.h): the built-in texts in Dutch and
 * English, the check of a configured template, and the substitution of
 * its placeholders.  Dutch first: the people who read these SMS are
 * Dutch officials and on-call staff (Awb 2:6, plain language).
 */
#include <stdio.h>
#include <string.h>

#include "sms_template.h"
#include "sms_text.h"

#define SMS_TPL_TYPE_MAX 16 /* characters of an alert type shown */

/* Before every SMS of a drill, so that nobody takes it for a real alarm;
 * the check of a template counts the longer one. */
#define SMS_TPL_DRILL_NL "OEFENING - "
#define SMS_TPL_DRILL_EN "DRILL - "
#define SMS_TPL_DRILL_MAX (sizeof(SMS_TPL_DRILL_NL) - 1)

static const char *const sms_template_keys[SMS_TPL_N] = {
    "sms_template_raised",
    "sms_template_escalated",
    "sms_template_acknowledged",
    "sms_template_confirmed",
    "sms_template_cancelled",
    "sms_template_hint",
    "sms_template_duress",
};

static const char *const sms_template_nl[SMS_TPL_N] = {
    "ALARM {type} - {alias} - {time} - ref {ref}. "
    "Antwoord OK {ref} als u het oppakt.",
    "ALARM {type} - {alias} - {time} - ref {ref}. Nog niet opgepakt. "
    "Antwoord OK {ref} als u het oppakt.",
    "Alarm {ref} is opgepakt door {by} ({time}). U hoeft niets te doen.",
    "Bevestigd: u hebt alarm {ref} opgepakt.",
    "Alarm {ref} is ingetrokken ({time}). U hoeft niets te doen.",
    "Niet begrepen. Om een alarm op te pakken: antwoord OK en de "
    "referentie uit het alarm, bijvoorbeeld OK K7Q2M9XD.",
    /* Nothing for the phone of the person under threat: do not call
     * or text it back, someone may be watching it. */
    "STIL ALARM {type} - {alias} - {time} - ref {ref}. Onder DWANG "
    "ingetrokken. Niet terugbellen. Antwoord OK {ref} als u het oppakt.",
};

static const char *const sms_template_en[SMS_TPL_N] = {
    "ALERT {type} - {alias} - {time} - ref {ref}. "
    "Reply OK {ref} if you take it.",
    "ALERT {type} - {alias} - {time} - ref {ref}. Not taken yet. "
    "Reply OK {ref} if you take it.",
    "Alert {ref} was taken by {by} ({time}). No action needed.",
    "Confirmed: you have taken alert {ref}.",
    "Alert {ref} was cancelled ({time}). No action needed.",
    "Not understood. To take an alert, reply OK and the reference in "
    "the alert, for example OK K7Q2M9XD.",
    "SILENT ALARM {type} - {alias} - {time} - ref {ref}. Cancelled under "
    "DURESS. Do not call back. Reply OK {ref} if you take it.",
};

/* After the alarm of a revoked device (a check-in's, raised all the
 * same): whoever reads it must not call that phone, which someone else
 * may hold, but a number they know.  Longest first; NULL ends each. */
static const char *const sms_revoked_nl[] = {
    " Apparaat ingetrokken (gestolen?): bel terug op bekend nummer.",
    " Apparaat ingetrokken: bel terug op bekend nummer.",
    " Apparaat ingetrokken: bel bekend nummer.",
    " Apparaat ingetrokken.",
    NULL,
};
static const char *const sms_revoked_en[] = {
    " Device revoked (stolen?): call back on a known number.",
    " Device revoked: call back on a known number.",
    " Device revoked: call a known number.",
    " Device revoked.",
    NULL,
};

/* The alert types of docs/PROTOCOL.md, as a person reads them. */
static const struct {
	const char *type, *nl, *en;
} sms_template_types[] = {
    {"panic", "PANIEK", "PANIC"},
    {"threat", "DREIGING", "THREAT"},
    {"test", "TEST", "TEST"},
    {"missed_checkin", "GEMISTE CHECK-IN", "MISSED CHECK-IN"},
};

enum sms_ph { PH_TYPE, PH_ALIAS, PH_TIME, PH_REF, PH_BY, PH_TIER, PH_N };

static const char *const sms_ph_names[PH_N] = {"type", "alias", "time", "ref",
    "by", "tier"};

#define PH(x) (1u << (x))
/* Which placeholders each kind has values for. */
static const unsigned sms_template_allowed[SMS_TPL_N] = {
    PH(PH_TYPE) | PH(PH_ALIAS) | PH(PH_TIME) | PH(PH_REF) | PH(PH_TIER),
    PH(PH_TYPE) | PH(PH_ALIAS) | PH(PH_TIME) | PH(PH_REF) | PH(PH_TIER),
    PH(PH_TYPE) | PH(PH_ALIAS) | PH(PH_TIME) | PH(PH_REF) | PH(PH_BY),
    PH(PH_TIME) | PH(PH_REF),
    PH(PH_TYPE) | PH(PH_ALIAS) | PH(PH_TIME) | PH(PH_REF),
    0,
    PH(PH_TYPE) | PH(PH_ALIAS) | PH(PH_TIME) | PH(PH_REF) | PH(PH_TIER),
};

int
sms_template_language(const char *name, enum sms_language *out)
{
	if (name != NULL && strcmp(name, "nl") == 0)
		*out = SMS_LANG_NL;
	else if (name != NULL && strcmp(name, "en") == 0)
		*out = SMS_LANG_EN;
	else
		return -1;
	return 0;
}

const char *
sms_template_key(enum sms_template_kind kind)
{
	return kind < SMS_TPL_N ? sms_template_keys[kind] : "";
}

const char *
sms_template_default(enum sms_language lang, enum sms_template_kind kind)
{
	if (kind >= SMS_TPL_N)
		return "";
	return lang == SMS_LANG_EN ? sms_template_en[kind]
	                           : sms_template_nl[kind];
}

/* The placeholder at s ("{name}"): its index and length, or -1. */
static int
sms_ph_at(const char *s, size_t *len)
{
	const char *end;
	size_t i, n;

	if (s[0] != '{' || (end = strchr(s + 1, '}')) == NULL)
		return -1;
	n = (size_t)(end - s - 1);
	for (i = 0; i < PH_N; i++)
		if (strlen(sms_ph_names[i]) == n &&
		    strncmp(s + 1, sms_ph_names[i], n) == 0) {
			*len = n + 2;
			return (int)i;
		}
	return -1;
}

static void
sms_type_word(enum sms_language lang, const char *type, char *out)
{
	size_t i;

	for (i = 0; type != NULL &&
	     i < sizeof(sms_template_types) / sizeof(sms_template_types[0]);
	     i++)
		if (strcmp(type, sms_template_types[i].type) == 0) {
			snprintf(out, SMS_TPL_TYPE_MAX + 1, "%s",
			    lang == SMS_LANG_EN ? sms_template_types[i].en
			                        : sms_template_types[i].nl);
			return;
		}
	if (sms_text_word(type, out, SMS_TPL_TYPE_MAX) == 0)
		snprintf(out, SMS_TPL_TYPE_MAX + 1, "?");
}

/* The value of a placeholder that is not shortened; v NULL: the worst
 * case, for the check. */
static void
sms_ph_value(enum sms_language lang, enum sms_ph ph,
    const struct sms_template_vars *v, char *out, size_t outlen)
{
	const char *t;

	if (v == NULL) {
		snprintf(out, outlen, "%s",
		    ph == PH_TYPE       ? "WWWWWWWWWWWWWWWW" /* 16 */
		        : ph == PH_TIME ? "23:59"
		        : ph == PH_TIER ? "999"
		                        : "WWWWWWWW"); /* ack_parse.h */
		return;
	}
	switch (ph) {
	case PH_TYPE:
		sms_type_word(lang, v->type, out);
		break;
	case PH_TIME:
		sms_text_hhmm(v->t, out);
		break;
	case PH_REF:
		snprintf(out, outlen, "%s", v->ref);
		break;
	default: /* PH_TIER */
		t = v->tier != NULL ? v->tier : "";
		snprintf(out, outlen, "%s",
		    t[0] != '\0' && strlen(t) <= 3 &&
		            strspn(t, "0123456789") == strlen(t)
		        ? t
		        : "?");
	}
}

static void
sms_template_unknown(enum sms_template_kind kind, const char *at, char *err,
    size_t errlen)
{
	unsigned mask = kind < SMS_TPL_N ? sms_template_allowed[kind] : ~0u;
	char names[64] = "";
	size_t i, n = 0;

	for (i = 0; i < PH_N; i++)
		if (mask & PH(i))
			n += (size_t)snprintf(names + n, sizeof(names) - n,
			    "%s{%s}", n > 0 ? " " : "", sms_ph_names[i]);
	snprintf(err, errlen,
	    "unknown placeholder at \"%.20s\" (this template may use %s)", at,
	    n > 0 ? names : "none");
}

/* Appends len bytes of s to out; -1 when they do not fit. */
static int
sms_template_put(char *out, size_t outlen, size_t *n, const char *s, size_t len)
{
	if (out == NULL)
		return 0;
	if (*n + len + 1 > outlen)
		return -1;
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
	return 0;
}

struct sms_walk {
	size_t fixed; /* characters of everything but {alias} and {by} */
	size_t nshort; /* how many {alias} and {by} */
	unsigned used; /* PH() of each placeholder met */
};

/*
 * One walk over tpl: checks it (-1 with err set on failure) and counts
 * into w; with out, also writes the text, each {alias} or {by} given at
 * most share characters.
 */
static int
sms_template_walk(enum sms_language lang, enum sms_template_kind kind,
    const char *tpl, const struct sms_template_vars *v, size_t share,
    struct sms_walk *w, char *out, size_t outlen, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)tpl, *start;
	char val[2 * SMS_CHARS_MAX + 1];
	size_t n = 0, len;
	long cp;
	int ph;

	memset(w, 0, sizeof(*w));
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	while (*p != '\0') {
		if (*p == '{') {
			if ((ph = sms_ph_at((const char *)p, &len)) < 0 ||
			    (kind < SMS_TPL_N &&
			        !(sms_template_allowed[kind] & PH(ph)))) {
				sms_template_unknown(kind, (const char *)p, err,
				    errlen);
				return -1;
			}
			w->used |= PH(ph);
			p += len;
			if (ph == PH_ALIAS || ph == PH_BY) {
				w->nshort++;
				if (out == NULL)
					continue;
				sms_text_gsm(ph == PH_ALIAS ? v->alias : v->by,
				    val, share);
			} else {
				sms_ph_value(lang, ph, v, val, sizeof(val));
				w->fixed += strlen(val); /* ASCII */
			}
			if (sms_template_put(out, outlen, &n, val,
			        strlen(val)) != 0)
				return -1;
			continue;
		}
		start = p;
		cp = sms_text_utf8_next(&p);
		if (cp < 0x20 || sms_text_gsm_char(cp) != cp) {
			snprintf(err, errlen,
			    "\"%.*s\" is not in the GSM-7 basic character set",
			    (int)(p - start), (const char *)start);
			return -1;
		}
		w->fixed++;
		if (sms_template_put(out, outlen, &n, (const char *)start,
		        (size_t)(p - start)) != 0)
			return -1;
	}
	return 0;
}

int
sms_template_check(enum sms_template_kind kind, const char *tpl, char *err,
    size_t errlen)
{
	struct sms_walk w;

	if (kind >= SMS_TPL_N || tpl == NULL) {
		snprintf(err, errlen, "no such template");
		return -1;
	}
	if (strlen(tpl) > SMS_TEMPLATE_MAX) {
		snprintf(err, errlen, "longer than %d bytes", SMS_TEMPLATE_MAX);
		return -1;
	}
	if (sms_template_walk(SMS_LANG_NL, kind, tpl, NULL, 0, &w, NULL, 0, err,
	        errlen) != 0)
		return -1;
	if ((kind == SMS_TPL_RAISED || kind == SMS_TPL_ESCALATED ||
	        kind == SMS_TPL_DURESS) &&
	    !(w.used & PH(PH_REF))) {
		snprintf(err, errlen,
		    "has no {ref}: without it no one can answer OK <ref>");
		return -1;
	}
	if (w.fixed == 0) {
		/* "{alias}" alone would be an empty SMS for an empty alias */
		snprintf(err, errlen, "is empty, or has only {alias} and {by}");
		return -1;
	}
	if (SMS_TPL_DRILL_MAX + w.fixed + w.nshort * SMS_TEMPLATE_NAME_MIN >
	    SMS_CHARS_MAX) {
		snprintf(err, errlen,
		    "too long: %zu characters with the longest values (%zu "
		    "for each {alias} and {by}) and the drill prefix \"%s\", "
		    "more than the %d of one SMS",
		    SMS_TPL_DRILL_MAX + w.fixed +
		        w.nshort * SMS_TEMPLATE_NAME_MIN,
		    (size_t)SMS_TEMPLATE_NAME_MIN, SMS_TPL_DRILL_NL,
		    SMS_CHARS_MAX);
		return -1;
	}
	return 0;
}

/* The revoked note that fits after used characters (the names at
 * their minimum), or "". */
static const char *
sms_template_note(enum sms_language lang, const struct sms_template_vars *v,
    size_t used)
{
	const char *const *n =
	    lang == SMS_LANG_EN ? sms_revoked_en : sms_revoked_nl;

	for (; v->revoked && *n != NULL; n++)
		if (used + strlen(*n) <= SMS_CHARS_MAX)
			return *n;
	return "";
}

size_t
sms_template_expand(enum sms_language lang, const char *tpl,
    const struct sms_template_vars *v, char *out, size_t outlen)
{
	struct sms_walk w;
	enum sms_template_kind kind = SMS_TPL_N; /* any placeholder */
	const char *prefix = "", *note;
	char err[128];
	size_t share = 0, plen, n;

	if (outlen > 0)
		out[0] = '\0';
	if (v != NULL && v->drill)
		prefix =
		    lang == SMS_LANG_EN ? SMS_TPL_DRILL_EN : SMS_TPL_DRILL_NL;
	plen = strlen(prefix);
	if (tpl == NULL || v == NULL || strlen(tpl) > SMS_TEMPLATE_MAX ||
	    (strstr(tpl, "{ref}") != NULL && !sms_text_ref_valid(v->ref)) ||
	    sms_template_walk(lang, kind, tpl, v, 0, &w, NULL, 0, err,
	        sizeof(err)) != 0 ||
	    plen + w.fixed > SMS_CHARS_MAX || outlen <= plen)
		return 0;
	note = sms_template_note(lang, v,
	    plen + w.fixed + w.nshort * SMS_TEMPLATE_NAME_MIN);
	if (w.nshort > 0)
		share =
		    (SMS_CHARS_MAX - plen - w.fixed - strlen(note)) / w.nshort;
	memcpy(out, prefix, plen + 1);
	if (sms_template_walk(lang, kind, tpl, v, share, &w, out + plen,
	        outlen - plen, err, sizeof(err)) != 0) {
		out[0] = '\0';
		return 0;
	}
	n = strlen(out);
	if (sms_template_put(out, outlen, &n, note, strlen(note)) != 0) {
		out[0] = '\0';
		return 0;
	}
	return n;
}

/* The text before tpl's first placeholder, if it is long enough to
 * tell: the start of text is that. */
static int
sms_template_prefix_of(const char *text, const char *tpl)
{
	const char *brace = strchr(tpl, '{');
	size_t n = brace != NULL ? (size_t)(brace - tpl) : strlen(tpl);

	if (n > 40)
		n = 40;
	return n >= 6 && strncmp(text, tpl, n) == 0;
}

int
sms_template_looks_ours(const char *text, const char *tpl)
{
	size_t i;

	if (text == NULL)
		return 0;
	text += strspn(text, " \t\r\n");
	/* a drill's SMS echoed back is ours as much as any */
	if (strncmp(text, SMS_TPL_DRILL_NL, SMS_TPL_DRILL_MAX) == 0)
		text += SMS_TPL_DRILL_MAX;
	else if (strncmp(text, SMS_TPL_DRILL_EN, strlen(SMS_TPL_DRILL_EN)) == 0)
		text += strlen(SMS_TPL_DRILL_EN);
	if (tpl != NULL && sms_template_prefix_of(text, tpl))
		return 1;
	for (i = 0; i < SMS_TPL_N; i++)
		if (sms_template_prefix_of(text, sms_template_nl[i]) ||
		    sms_template_prefix_of(text, sms_template_en[i]))
			return 1;
	return 0;
}
