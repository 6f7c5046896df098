/*
 * Writing a verified alert out: one JSON line (for programs), or with
 * --pretty a short block for a person watching a terminal.  The line is
 * flushed, and fsync'ed when stdout is a file, before the webhook is
 * answered 200: once the relay hears 200 it will not send it again.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cardtime.h"
#include "frame.h"
#include "hook.h"
#include "i18n.h"
#include "out.h"
#include "receipt.h"
#include "xmalloc.h"

static json_t *
hook_print_location(const struct alert *a)
{
	if (!a->has_location)
		return json_null();
	return json_pack("{s:f, s:f, s:o}", "lat", a->lat, "lon", a->lon,
	    "accuracy_m",
	    a->has_accuracy ? json_real(a->accuracy_m) : json_null());
}

/* The device's alias the relay gives, as on the card: only when it is a
 * name (out_name_ok); else the card says device_id, which the line has
 * anyway. */
static void
hook_print_json_alias(const struct hook_body *b, json_t *o)
{
	const char *alias = json_str(b->o, "device_alias");

	if (alias != NULL && out_name_ok(alias))
		json_object_set_new(o, "device_alias", json_string(alias));
}

/* "repeat": shown here before, not a new alert; "stale": its signed
 * created_at is older than --max-age, so it may be a replay. */
static char *
hook_print_json(const struct hook_body *b, const char *webhook_id,
    const struct alert *a, const struct hook_verdict *v)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:b}",
	    "webhook_id", webhook_id, "type", b->type, "alert_id", a->alert_id,
	    "device_id", a->device_id, "alert_type", a->alert_type, "message",
	    a->message != NULL ? json_string(a->message) : json_null(),
	    "location", hook_print_location(a), "created_at", a->created_at,
	    "received_at", b->received_at, "recipient_id", b->recipient_id,
	    "verified", 1);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "repeat", json_boolean(v->repeat));
	json_object_set_new(o, "drill", json_boolean(a->drill));
	/* cancelled under duress: still on (docs/SECURITY.md, "Duress") */
	json_object_set_new(o, "duress",
	    json_boolean(json_is_true(json_object_get(b->o, "duress"))));
	json_object_set_new(o, "stale", json_boolean(v->old));
	json_object_set_new(o, "device_revoked", json_boolean(v->revoked));
	json_object_set_new(o, "early", json_boolean(v->early));
	json_object_set_new(o, "age_s", json_integer(v->age));
	if (json_is_integer(json_object_get(b->o, "tier")))
		json_object_set(o, "tier", json_object_get(b->o, "tier"));
	/* What people acknowledge it by, and the device as they know it
	 * (from the relay, outside the signed alert). */
	if (hook_print_ref(b) != NULL)
		json_object_set_new(o, "ref", json_string(hook_print_ref(b)));
	hook_print_json_alias(b, o);
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	return s;
}

/* Text from the network must not drive the terminal: what out_char
 * calls bad becomes '?', and new lines stay indented. */
static void
hook_print_text(FILE *f, const char *s)
{
	size_t k;
	int bad;

	for (; *s != '\0'; s += k) {
		k = out_char(s, &bad);
		if (*s == '\n')
			fputs("\n                 ", f);
		else if (bad)
			fputc('?', f);
		else
			fwrite(s, 1, k, f);
	}
}

/* The alert types people know, in their language; others as sent. */
const char *
hook_print_type(const char *type, char *buf, size_t len)
{
	static const char *const names[][2] = {
	    {"panic", N_("PANIC")},
	    {"threat", N_("THREAT")},
	    {"test", N_("TEST")},
	    {"missed_checkin", N_("MISSED CHECK-IN")},
	};
	size_t i;
	char *p;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(type, names[i][0]) == 0)
			return _(names[i][1]);
	out_clean(type, buf, len);
	for (p = buf; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return buf;
}

/* The device as people know it: the alias the relay names it by (from
 * the signed directory it serves) when it is a name (out_name_ok), else
 * its id. */
static const char *
hook_print_alias(const struct hook_body *b, const char *device_id, char *buf,
    size_t len)
{
	const char *alias = json_str(b->o, "device_alias");

	return out_clean(alias != NULL && out_name_ok(alias) ? alias
	                                                     : device_id,
	    buf, len);
}

/* Never anything a terminal (or a page) acts on. */
const char *
hook_print_ref(const struct hook_body *b)
{
	const char *ref = json_str(b->o, "ref");
	size_t i;

	if (ref == NULL || strlen(ref) != 8)
		return NULL;
	for (i = 0; i < 8; i++)
		if (strchr("23456789ABCDEFGHJKLMNPQRSTUVWXYZ", ref[i]) == NULL)
			return NULL;
	return ref;
}

/* A repeat and an old alert say so before anything else. */
static void
hook_print_pretty_head(FILE *f, const struct hook_body *b,
    const struct alert *a, const struct hook_verdict *v)
{
	char tbuf[64], alias[128];
	const char *type = hook_print_type(a->alert_type, tbuf, sizeof(tbuf));

	hook_print_alias(b, a->device_id, alias, sizeof(alias));
	if (strcmp(b->type, "alert.location") == 0) /* follow.h */
		fprintf(f,
		    _("NEW LOCATION of the open alarm (not a new alarm): "
		      "%s - %s\n"),
		    type, alias);
	else if (v->repeat)
		fprintf(f,
		    _("REPEAT (shown before, NOT a new alarm): %s - %s\n"),
		    type, alias);
	else
		fprintf(f, _("ALARM %s - %s\n"), type, alias);
	if (v->old)
		fprintf(f,
		    _("  WARNING:       made %ld min ago: delivered late, or "
		      "sent again by someone else\n"),
		    v->age / 60);
	if (v->early)
		fprintf(f,
		    _("  WARNING:       made %ld min from now: let go before "
		      "its time (a check-in released early?)\n"),
		    (-v->age + 59) / 60);
	if (v->revoked)
		fprintf(f,
		    _("  WARNING:       this device is revoked (lost or "
		      "stolen?): call the official back on a known number\n"));
}

static void
hook_print_location_card(FILE *f, const struct alert *a)
{
	fprintf(f, "  %-15s", _("Location:"));
	if (!a->has_location) {
		fprintf(f, "%s\n", _("(not sent)"));
		return;
	}
	fprintf(f, "%.6f, %.6f", a->lat, a->lon);
	if (a->has_accuracy)
		fprintf(f, _(" (within %.0f m)"), a->accuracy_m);
	fprintf(f,
	    "\n  %-15shttps://www.openstreetmap.org/"
	    "?mlat=%.6f&mlon=%.6f#map=17/%.6f/%.6f\n",
	    "", a->lat, a->lon, a->lat, a->lon);
}

/* An alarm card: what, who, how long ago, the message, where, and the
 * command that takes it, in the reader's language and local time. */
static char *
hook_print_pretty(const struct hook_body *b, const char *webhook_id,
    const struct alert *a, const struct hook_verdict *v)
{
	const char *ref = hook_print_ref(b);
	char when[64], age[CARDTIME_LEN];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	/* a duress first of all: the alarm is on, whatever else it is */
	if (json_is_true(json_object_get(b->o, "duress")))
		fprintf(f, "%s\n",
		    _("DURESS - cancelled under duress: the alarm is NOT over. "
		      "Do not call the device back."));
	if (a->drill) /* before anything that reads as an alarm */
		fprintf(f, "%s\n", _("DRILL - a rehearsal, not a real alarm"));
	hook_print_pretty_head(f, b, a, v);
	receipt_time(a->created_at, RECEIPT_TIME_FULL, when, sizeof(when));
	cardtime_age(v->age, age);
	/* an update's created_at is its fix's, not the alert's */
	fprintf(f, "  %-15s%s (",
	    strcmp(b->type, "alert.location") == 0 ? _("Position at:")
	                                           : _("Raised:"),
	    when);
	fprintf(f, _("%s ago"), age);
	fputs(")\n", f);
	fprintf(f, "  %-15s%s\n", _("Reference:"), ref != NULL ? ref : "-");
	fprintf(f, "  %-15s", _("Message:"));
	if (a->message != NULL)
		hook_print_text(f, a->message);
	else
		fputs(_("(none)"), f);
	fputc('\n', f);
	hook_print_location_card(f, a);
	fprintf(f, "  %-15salertctl ack %s\n", _("Take it:"),
	    ref != NULL ? ref : a->alert_id);
	fprintf(f, "  %-15s%s\n", _("Checked:"),
	    _("yes, signed by the device"));
	fprintf(f, "  %-15s%s  %s %s\n\n", "alert_id:", a->alert_id,
	    b->recipient_id, webhook_id);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
hook_print_write(const char *text, int newline)
{
	struct stat st;

	if (fputs(text, stdout) == EOF || (newline && putchar('\n') == EOF) ||
	    fflush(stdout) == EOF)
		return -1;
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    fsync(STDOUT_FILENO) != 0)
		return -1;
	return 0;
}

/* The notice's members as the relay sent them, which jansson escapes,
 * but for the names it gives, as on the card: the device's alias
 * (hook_print_json_alias) and who took the alarm, "?" when that is no
 * name (out_name); "vouched_by" says whose word a cancel or an
 * acknowledgement is. */
static char *
hook_print_notice_json(const struct hook_body *b, const char *webhook_id,
    const struct hook_notice *n)
{
	static const char *const members[] = {"device_id", "alert_type",
	    "created_at", "ref", "acknowledged_at", "cancelled_at", "last_seen",
	    "interval_s", "received_at", "duress_at"};
	json_t *o, *v;
	size_t i;
	char *s;

	o = json_pack("{s:s, s:s, s:s, s:s}", "webhook_id", webhook_id, "type",
	    b->type, "alert_id", b->alert_id, "recipient_id", b->recipient_id);
	if (o == NULL)
		return NULL;
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (json_is_string(v = json_object_get(b->o, members[i])))
			json_object_set(o, members[i], v);
	hook_print_json_alias(b, o);
	if (json_is_string(json_object_get(b->o, "acknowledged_by")))
		json_object_set_new(o, "acknowledged_by",
		    json_string(
		        out_acked_by(json_str(b->o, "acknowledged_by"))));
	json_object_set_new(o, "repeat", json_boolean(n->repeat));
	json_object_set_new(o, "drill", json_boolean(b->drill));
	/* a duress alarm without its sealed alert (hook_is_sealed), or a
	 * cancel the device signed under duress */
	if (json_is_true(json_object_get(b->o, "duress")) || n->duress)
		json_object_set_new(o, "duress", json_true());
	if (n->vouched_by != NULL)
		json_object_set_new(o, "vouched_by",
		    json_string(n->vouched_by));
	if (n->signer[0] != '\0')
		json_object_set_new(o, "signed_by", json_string(n->signer));
	if (json_is_integer(json_object_get(b->o, "tier")))
		json_object_set(o, "tier", json_object_get(b->o, "tier"));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* A duress alarm the relay holds no sealed alert of any more (its
 * retention period was over before the duress cancel): what the relay
 * says, and where its content is (the first notification). */
static void
hook_print_duress_notice(FILE *f, const struct hook_body *b, const char *alias)
{
	const char *ref = hook_print_ref(b);
	char tbuf[64], when[64];

	fprintf(f, "%s\n",
	    _("DURESS - cancelled under duress: the alarm is NOT over. "
	      "Do not call the device back."));
	fprintf(f, _("ALARM %s - %s\n"),
	    hook_print_type(b->alert_type != NULL ? b->alert_type : "?", tbuf,
	        sizeof(tbuf)),
	    alias);
	receipt_time(b->created_at, RECEIPT_TIME_FULL, when, sizeof(when));
	fprintf(f, "  %-15s%s\n", _("Raised:"), when);
	fprintf(f, "  %-15s%s\n", _("Message:"),
	    _("no longer kept by the relay (retention period over): see "
	      "the first notification of this alarm"));
	fprintf(f, "  %-15salertctl ack %s\n", _("Take it:"),
	    ref != NULL ? ref : b->alert_id);
}

/* The first line of a device event. */
static const char *
hook_print_device_event(const char *type)
{
	if (strcmp(type, "device.offline") == 0)
		return _("DEVICE OFFLINE (not heard from in time)");
	if (strcmp(type, "device.checkin_failed") == 0)
		/* its alert was sealed to recipients no longer in the
		 * directory: nobody here can read it */
		return _("CHECK-IN MISSED, its alarm cannot be read here: "
		         "contact the official");
	return _("DEVICE BACK ONLINE");
}

/* Who took the alarm: a name a recipient signed, else the relay's,
 * said to be only the relay's word. */
static void
hook_print_ack_line(FILE *f, const struct hook_notice *n, const char *by,
    const char *alias)
{
	char who[128];

	if (strcmp(n->vouched_by, "relay") != 0) {
		out_clean(n->signer, who, sizeof(who));
		fprintf(f, _("TAKEN by %s - alarm of %s\n"), who, alias);
		return;
	}
	fprintf(f,
	    _("TAKEN by %s, ACCORDING TO THE RELAY (no signed "
	      "acknowledgement) - alarm of %s\n"),
	    out_acked_by(by), alias);
}

/* A cancel the device signed, under duress or not; or the relay's word
 * alone, which ends nothing. */
static void
hook_print_cancel_line(FILE *f, const struct hook_notice *n, const char *alias)
{
	if (n->duress)
		fprintf(f, "%s\n",
		    _("DURESS - cancelled under duress: the alarm is NOT over. "
		      "Do not call the device back."));
	if (strcmp(n->vouched_by, "relay") != 0)
		fprintf(f, _("CANCELLED by the device - alarm of %s\n"), alias);
	else
		fprintf(f,
		    _("CANCELLED ACCORDING TO THE RELAY (not signed by the "
		      "device): the alarm is NOT over - alarm of %s\n"),
		    alias);
}

/* The card's "Checked:" line of a cancel or an acknowledgement. */
static const char *
hook_print_checked(const char *vouched_by)
{
	if (strcmp(vouched_by, "device") == 0)
		return _("yes, signed by the device");
	if (strcmp(vouched_by, "recipient") == 0)
		return _("yes, signed by the recipient who took it");
	return _("no: only the relay's word");
}

/* A notice without content: who took the alarm, the device cancelling
 * it, a supervised device going silent (device.offline) or coming
 * back (device.online), a missed check-in nobody can open
 * (device.checkin_failed); or a duress alarm without its content. */
static char *
hook_print_notice_pretty(const struct hook_body *b, const char *webhook_id,
    const struct hook_notice *n)
{
	const char *by = json_str(b->o, "acknowledged_by");
	const char *at = json_str(b->o, "acknowledged_at");
	const char *ref = hook_print_ref(b);
	const char *dev = json_str(b->o, "device_id");
	const char *at_label = _("At:");
	int device = strncmp(b->type, "device.", 7) == 0;
	char alias[128], when[64];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (b->drill)
		fprintf(f, "%s\n", _("DRILL - a rehearsal, not a real alarm"));
	hook_print_alias(b, dev != NULL ? dev : "?", alias, sizeof(alias));
	if (n->repeat)
		fputs(_("REPEAT (shown before) "), f);
	if (hook_is_alert_event(b->type)) {
		hook_print_duress_notice(f, b, alias);
		at = json_str(b->o, "duress_at");
		at_label = _("Duress at:");
	} else if (strcmp(b->type, "alert.acknowledged") == 0)
		hook_print_ack_line(f, n, by, alias);
	else if (device) {
		fprintf(f, "%s: %s\n", hook_print_device_event(b->type), alias);
		at = json_str(b->o, "last_seen");
		at_label = _("Last seen:");
	} else {
		hook_print_cancel_line(f, n, alias);
		at = json_str(b->o, "cancelled_at");
	}
	receipt_time(at, RECEIPT_TIME_FULL, when, sizeof(when));
	fprintf(f, "  %-15s%s\n", at_label, when);
	if (!device) /* a device event is about no alert */
		fprintf(f, "  %-15s%s\n", _("Reference:"),
		    ref != NULL ? ref : "-");
	if (n->vouched_by != NULL)
		fprintf(f, "  %-15s%s\n", _("Checked:"),
		    hook_print_checked(n->vouched_by));
	fprintf(f, "  %-15s%s  %s %s\n\n", "alert_id:", b->alert_id,
	    b->recipient_id, webhook_id);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
hook_print_notice(const struct hook_body *b, const char *webhook_id,
    const struct hook_notice *n, int pretty)
{
	char *text;
	int rc;

	if (pretty)
		text = hook_print_notice_pretty(b, webhook_id, n);
	else
		text = hook_print_notice_json(b, webhook_id, n);
	if (text == NULL)
		return -1;
	rc = hook_print_write(text, !pretty);
	free(text);
	return rc;
}

int
hook_print(const struct hook_body *b, const char *webhook_id,
    const struct alert *a, const struct hook_verdict *v, int pretty)
{
	char *text;
	int rc;

	if (pretty)
		text = hook_print_pretty(b, webhook_id, a, v);
	else
		text = hook_print_json(b, webhook_id, a, v);
	if (text == NULL)
		return -1;
	rc = hook_print_write(text, !pretty);
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}
