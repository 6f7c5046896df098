/*
 * What happened to an alert, as the relay tells it, in one human line per
 * event (receipt.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "i18n.h"
#include "ltime.h"
#include "out.h"
#include "receipt.h"
#include "util.h"

#define RECEIPT_FIELD_MAX 128

/* The members that tell one event from another. */
static const char *const receipt_key_members[] = {
    "event",
    "at",
    "recipient",
    "channel",
    "delivered",
    "total",
    "tier",
    "by",
};

static const char *
receipt_str(const json_t *ev, const char *key, char *buf, size_t len)
{
	const char *v = json_str(ev, key);

	return out_clean(v != NULL ? v : "?", buf, len);
}

void
receipt_time(const char *at, int with_date, char *buf, size_t len)
{
	time_t t;

	if (at == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (time_rfc3339_parse(at, &t) != 0)
		out_clean(at, buf, len);
	else
		ltime_format(t, with_date, buf, len);
}

const char *
receipt_word(const char *what, char *buf, size_t len)
{
	static const char *const words[][2] = {
	    {"accepted", N_("accepted")},
	    {"cancelled", N_("cancelled")},
	    {"expired", N_("expired")},
	    {"escalated", N_("escalated")},
	    {"acknowledged", N_("acknowledged")},
	    {"delivered", N_("delivered")},
	    {"open", N_("open")},
	    {"panic", N_("panic")},
	    {"threat", N_("threat")},
	    {"test", N_("test")},
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(what, words[i][0]) == 0)
			return _(words[i][1]);
	return out_clean(what, buf, len);
}

static void
receipt_delivered(const json_t *ev, char *buf, size_t len)
{
	char who[RECEIPT_FIELD_MAX], how[RECEIPT_FIELD_MAX];
	json_t *n = json_object_get(ev, "delivered");
	json_t *m = json_object_get(ev, "total");

	receipt_str(ev, "recipient", who, sizeof(who));
	receipt_str(ev, "channel", how, sizeof(how));
	/* An SMS gateway took it; nobody said the phone got it. */
	if (json_is_false(json_object_get(ev, "confirmed")) &&
	    json_is_integer(n) && json_is_integer(m))
		snprintf(buf, len,
		    _("handed to the gateway for %s by %s (%lld of %lld), "
		      "not confirmed delivered"),
		    who, how, (long long)json_integer_value(n),
		    (long long)json_integer_value(m));
	else if (json_is_false(json_object_get(ev, "confirmed")))
		snprintf(buf, len,
		    _("handed to the gateway for %s by %s, not confirmed "
		      "delivered"),
		    who, how);
	else if (json_is_integer(n) && json_is_integer(m))
		snprintf(buf, len, _("delivered to %s by %s (%lld of %lld)"),
		    who, how, (long long)json_integer_value(n),
		    (long long)json_integer_value(m));
	else
		snprintf(buf, len, _("delivered to %s by %s"), who, how);
}

/* The relay's words as they are: for a reader that checks nothing
 * (receipt_describe_with() names the one that does). */
static void
receipt_acknowledged(const json_t *ev, int with_time, char *buf, size_t len)
{
	char who[RECEIPT_FIELD_MAX], how[RECEIPT_FIELD_MAX];
	char when[RECEIPT_FIELD_MAX];

	receipt_str(ev, "by", who, sizeof(who));
	receipt_str(ev, "channel", how, sizeof(how));
	if (with_time) {
		receipt_time(json_str(ev, "at"), RECEIPT_TIME_SHORT, when,
		    sizeof(when));
		snprintf(buf, len, _("acknowledged by %s at %s via %s"), who,
		    when, how);
	} else
		snprintf(buf, len, _("acknowledged by %s via %s"), who, how);
}

void
receipt_describe(const json_t *ev, const char *alert_id, int with_time,
    char *buf, size_t len)
{
	receipt_describe_with(ev, alert_id, with_time, NULL, NULL, buf, len);
}

void
receipt_describe_with(const json_t *ev, const char *alert_id, int with_time,
    receipt_ack_describer fn, void *arg, char *buf, size_t len)
{
	char what[RECEIPT_FIELD_MAX], who[RECEIPT_FIELD_MAX];
	char how[RECEIPT_FIELD_MAX], why[RECEIPT_FIELD_MAX * 2];
	char word[RECEIPT_WORD_MAX];
	json_t *tier = json_object_get(ev, "tier");

	receipt_str(ev, "event", what, sizeof(what));
	if (strcmp(what, "delivered") == 0)
		receipt_delivered(ev, buf, len);
	else if (strcmp(what, "acknowledged") == 0 && fn != NULL)
		fn(arg, ev, alert_id, with_time, buf, len);
	else if (strcmp(what, "acknowledged") == 0)
		receipt_acknowledged(ev, with_time, buf, len);
	else if (strcmp(what, "escalated") == 0 && json_is_integer(tier))
		snprintf(buf, len, _("escalated to tier %lld"),
		    (long long)json_integer_value(tier));
	else if (strcmp(what, "failed") == 0) {
		receipt_str(ev, "recipient", who, sizeof(who));
		receipt_str(ev, "channel", how, sizeof(how));
		receipt_str(ev, "reason", why, sizeof(why));
		/* Said plainly: this person has not got the alarm. */
		if (json_is_true(json_object_get(ev, "retrying")))
			snprintf(buf, len,
			    _("NOT REACHED yet: %s by %s: %s (still trying; "
			      "next tier notified)"),
			    who, how, why);
		else
			snprintf(buf, len,
			    _("NOT REACHED: %s by %s: %s (given up)"), who, how,
			    why);
	} else
		/* accepted, cancelled, and what later relays may add */
		snprintf(buf, len, "%s",
		    receipt_word(what, word, sizeof(word)));
	/* the relay marks every receipt of a drill */
	if (json_is_true(json_object_get(ev, "drill")) &&
	    strlen(buf) + strlen(_(" (DRILL)")) < len)
		strcat(buf, _(" (DRILL)"));
}

char *
receipt_key(const json_t *ev)
{
	json_t *k = json_object(), *v;
	char *text;
	size_t i;

	for (i = 0;
	     i < sizeof(receipt_key_members) / sizeof(receipt_key_members[0]);
	     i++)
		if ((v = json_object_get(ev, receipt_key_members[i])) != NULL)
			json_object_set(k, receipt_key_members[i], v);
	text = json_dumps(k, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(k);
	return text;
}
