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

#include "frame.h"
#include "hook.h"
#include "i18n.h"
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
	json_object_set_new(o, "stale", json_boolean(v->old));
	json_object_set_new(o, "age_s", json_integer(v->age));
	if (json_is_integer(json_object_get(b->o, "tier")))
		json_object_set(o, "tier", json_object_get(b->o, "tier"));
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	return s;
}

/* Text from the network must not drive the terminal: control characters
 * (C0, DEL, and C1 as UTF-8) become '?', and new lines stay indented. */
static void
hook_print_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == '\n')
			fputs("\n               ", f);
		else if (*p < 0x20 || *p == 0x7f)
			fputc('?', f);
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fputc('?', f);
			p++;
		} else
			fputc(*p, f);
	}
}

/* A repeat and an old alert say so before anything else. */
static void
hook_print_pretty_head(FILE *f, const struct alert *a,
    const struct hook_verdict *v)
{
	if (v->repeat)
		fprintf(f,
		    "REPEAT (shown before; NOT a new alert) %s from %s\n",
		    a->alert_type, a->device_id);
	else
		fprintf(f, "ALERT %s from %s\n", a->alert_type, a->device_id);
	if (v->old)
		fprintf(f,
		    "  WARNING:     created %ld min ago: delivered late, or "
		    "replayed\n",
		    v->age / 60);
}

static char *
hook_print_pretty(const struct hook_body *b, const char *webhook_id,
    const struct alert *a, const struct hook_verdict *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (a->drill) /* first, before anything that reads as an alarm */
		fprintf(f, "%s\n", _("DRILL - a rehearsal, not a real alarm"));
	hook_print_pretty_head(f, a, v);
	fputs("  message:     ", f);
	if (a->message != NULL)
		hook_print_text(f, a->message);
	else
		fputs("(none)", f);
	fputs("\n  location:    ", f);
	if (a->has_location)
		fprintf(f, "%.6f, %.6f", a->lat, a->lon);
	else
		fputs("(none)", f);
	if (a->has_location && a->has_accuracy)
		fprintf(f, " (within %.0f m)", a->accuracy_m);
	fprintf(f, "\n  created_at:  %s\n  received_at: %s\n", a->created_at,
	    b->received_at);
	fprintf(f, "  alert_id:    %s\n  recipient:   %s\n  webhook_id:  %s\n",
	    a->alert_id, b->recipient_id, webhook_id);
	fputs("  verified:    yes (device signature)\n\n", f);
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

/* The notice's members as the relay sent them, which jansson escapes. */
static char *
hook_print_notice_json(const struct hook_body *b, const char *webhook_id,
    int repeat)
{
	static const char *const members[] = {"device_id", "alert_type",
	    "created_at", "ref", "acknowledged_by", "acknowledged_at",
	    "cancelled_at", "last_seen", "interval_s"};
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
	json_object_set_new(o, "repeat", json_boolean(repeat));
	json_object_set_new(o, "drill", json_boolean(b->drill));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static char *
hook_print_notice_pretty(const struct hook_body *b, const char *webhook_id,
    int repeat)
{
	const char *by = json_str(b->o, "acknowledged_by");
	const char *at = json_str(b->o, "acknowledged_at");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (b->drill)
		fprintf(f, "%s\n", _("DRILL - a rehearsal, not a real alarm"));
	if (repeat)
		fputs("REPEAT (shown before) ", f);
	if (strcmp(b->type, "alert.acknowledged") == 0) {
		fputs("ACKNOWLEDGED by ", f);
		hook_print_text(f, by != NULL ? by : "?");
	} else if (strncmp(b->type, "device.", 7) == 0) {
		fputs(strcmp(b->type, "device.offline") == 0
		        ? "DEVICE OFFLINE (not heard from in time): "
		        : "DEVICE BACK ONLINE: ",
		    f);
		hook_print_text(f, b->device_id != NULL ? b->device_id : "?");
		at = json_str(b->o, "last_seen");
	} else {
		fputs("CANCELLED by the device", f);
		at = json_str(b->o, "cancelled_at");
	}
	fputs("\n  at:          ", f);
	hook_print_text(f, at != NULL ? at : "?");
	fprintf(f,
	    "\n  alert_id:    %s\n  recipient:   %s\n  webhook_id:  %s\n\n",
	    b->alert_id, b->recipient_id, webhook_id);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
hook_print_notice(const struct hook_body *b, const char *webhook_id, int repeat,
    int pretty)
{
	char *text;
	int rc;

	if (pretty)
		text = hook_print_notice_pretty(b, webhook_id, repeat);
	else
		text = hook_print_notice_json(b, webhook_id, repeat);
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
