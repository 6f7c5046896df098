/*
 * SMS templates: the text of each kind of SMS, per language, with
 * placeholders from a fixed set of names ({type} {alias} {time} {ref}
 * {by} {tier}) replaced by plain substitution.  That is the whole
 * format: no conditions, no escapes, no other names.  A template is
 * checked once (at -t and at load) against worst-case values, so that
 * what it gives always fits one GSM-7 SMS.
 */
#ifndef ALERTRELAY_SMS_TEMPLATE_H
#define ALERTRELAY_SMS_TEMPLATE_H

#include <stddef.h>
#include <time.h>

enum sms_template_kind {
	SMS_TPL_RAISED, /* the alert, to the first tier */
	SMS_TPL_ESCALATED, /* the alert, to a later tier */
	SMS_TPL_ACKNOWLEDGED, /* to the others reached: who took it */
	SMS_TPL_CONFIRMED, /* to the one who took it by SMS */
	SMS_TPL_CANCELLED, /* the device cancelled it */
	SMS_TPL_HINT, /* an answer to a reply that was not understood */
	SMS_TPL_DURESS, /* the device cancelled under duress: still on */
	SMS_TPL_N
};

enum sms_language { SMS_LANG_NL, SMS_LANG_EN };

#define SMS_TEMPLATE_MAX 640 /* bytes of a configured template */
#define SMS_TEMPLATE_NAME_MIN 10 /* characters {alias} and {by} keep */

struct sms_template_vars {
	const char *type; /* alert type as on the wire: panic, threat, ... */
	const char *alias; /* the device's alias */
	const char *ref; /* the alert's reference */
	const char *by; /* who acknowledged */
	const char *tier; /* "1", "2", ... */
	time_t t; /* shown as HH:MM, local time (TZ) */
	int drill; /* a drill: "OEFENING - " / "DRILL - " before the text */
	int revoked; /* its device is revoked: a note after the text */
};

/* "nl" or "en": 0 with the language in out, else -1. */
int sms_template_language(const char *name, enum sms_language *out);
/* The configuration key of a kind: "sms_template_raised", ... */
const char *sms_template_key(enum sms_template_kind kind);
/* The built-in template of a kind in a language. */
const char *sms_template_default(enum sms_language lang,
    enum sms_template_kind kind);
/* 0 when tpl (a template of kind) is fine: placeholders of the set that
 * kind allows, {ref} in the alert's templates, GSM-7 basic characters
 * only, at most 160 characters with worst-case values and the longest
 * drill prefix; else -1 with a reason in err. */
int sms_template_check(enum sms_template_kind kind, const char *tpl, char *err,
    size_t errlen);
/* tpl with its placeholders replaced (alias and by shortened so that
 * the text fits, type translated for lang, all folded into GSM-7), and
 * with v->revoked the longest note that the device is revoked that
 * still leaves each {alias} and {by} SMS_TEMPLATE_NAME_MIN characters
 * (none when even the shortest does not).
 * Returns the length in bytes, or 0 with out empty when tpl is not a
 * valid template or it does not fit outlen (SMS_TEXT_MAX always does). */
size_t sms_template_expand(enum sms_language lang, const char *tpl,
    const struct sms_template_vars *v, char *out, size_t outlen);
/* 1 when text starts as one of the built-in templates or tpl (may be
 * NULL) does, so that it may be an SMS of ours echoed back: never
 * answered, so that two systems can never answer each other. */
int sms_template_looks_ours(const char *text, const char *tpl);

#endif
