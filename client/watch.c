#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "alertctl.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "receipt.h"
#include "seen.h"
#include "watch.h"
#include "xmalloc.h"

struct watch {
	char alert_id[33];
	enum watch_until until;
	struct seen *printed; /* receipt_key() of each event printed */
	int cancelled; /* the wait ended because the alert was cancelled */
	char why[128]; /* why the wait ended without success, or "" */
};

int
watch_until_parse(const char *s, enum watch_until *out)
{
	if (strcmp(s, "none") == 0)
		*out = WATCH_NONE;
	else if (strcmp(s, "delivered") == 0)
		*out = WATCH_DELIVERED;
	else if (strcmp(s, "ack") == 0)
		*out = WATCH_ACK;
	else
		return -1;
	return 0;
}

const char *
watch_until_name(enum watch_until until)
{
	return until == WATCH_DELIVERED ? "delivered" : "acknowledged";
}

struct watch *
watch_new(const char *alert_id, enum watch_until until)
{
	struct watch *w = xcalloc(1, sizeof(*w));

	snprintf(w->alert_id, sizeof(w->alert_id), "%s", alert_id);
	w->until = until;
	w->printed = seen_new(WATCH_SEEN_MAX);
	return w;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	seen_free(w->printed);
	free(w);
}

/* 1 when ev was printed before; else remembers it. */
static int
watch_seen(struct watch *w, const json_t *ev)
{
	char *key = receipt_key(ev);
	int seen;

	if (key == NULL)
		return 0;
	if (!(seen = seen_has(w->printed, key)))
		seen_add(w->printed, key);
	free(key);
	return seen;
}

/* Prints an event not printed before; 1 when it ends the wait. */
static int
watch_event(struct watch *w, struct relay_session *s, const json_t *ev)
{
	const char *what = json_str(ev, "event");
	char line[RECEIPT_LINE_MAX];

	/* "accepted" was said by the accepted line already. */
	if (what == NULL || strcmp(what, "accepted") == 0 || watch_seen(w, ev))
		return 0;
	receipt_describe(ev, 1, line, sizeof(line));
	if (out_line("%s", line) != 0)
		log_warn("stdout");
	if (strcmp(what, "acknowledged") == 0 ||
	    (strcmp(what, "delivered") == 0 && w->until == WATCH_DELIVERED))
		relay_session_done(s, EXIT_OK);
	else if (strcmp(what, "cancelled") == 0) {
		w->cancelled = 1;
		relay_session_done(s, EXIT_FAIL);
	} else
		return 0;
	return 1;
}

/* The answer to watch: the history so far (some of it printed before),
 * then the state, which may end the wait without an event for it. */
static void
watch_status(struct watch *w, struct relay_session *s, const json_t *o)
{
	const char *state = json_str(o, "state");
	json_t *events = json_object_get(o, "events"), *ev;
	size_t i;

	json_array_foreach(events, i, ev)
	{
		if (watch_event(w, s, ev))
			return;
	}
	if (state == NULL)
		state = "open";
	if (strcmp(state, "acknowledged") == 0) {
		out_line(_("acknowledged"));
		relay_session_done(s, EXIT_OK);
	} else if (strcmp(state, "cancelled") == 0) {
		out_line(_("cancelled"));
		w->cancelled = 1;
		relay_session_done(s, EXIT_FAIL);
	} else if (strcmp(state, "expired") == 0) {
		log_warnx(_(MSG_WAIT_EXPIRED), w->alert_id,
		    receipt_word(watch_until_name(w->until)));
		snprintf(w->why, sizeof(w->why), _(MSG_WAIT_EXPIRED),
		    w->alert_id, receipt_word(watch_until_name(w->until)));
		relay_session_done(s, EXIT_FAIL);
	} else
		relay_session_keepalive(s, "receipts");
}

void
watch_ready(struct watch *w, struct relay_session *s)
{
	json_t *frame;
	int rc;

	frame =
	    json_pack("{s:s, s:s}", "type", "watch", "alert_id", w->alert_id);
	rc = relay_session_send(s, frame);
	json_decref(frame);
	if (rc != 0)
		relay_session_fail(s, RELAY_FATAL, "cannot send watch");
	else
		relay_session_expect(s, "status");
}

void
watch_accepted(struct watch *w, struct relay_session *s, int duplicate)
{
	if (duplicate)
		watch_ready(w, s);
	else
		relay_session_keepalive(s, "receipts");
}

void
watch_frame(struct watch *w, struct relay_session *s, const char *type,
    const json_t *o)
{
	const char *id = json_str(o, "alert_id"), *code = json_str(o, "code");
	int ours = id != NULL && strcmp(id, w->alert_id) == 0;

	if (strcmp(type, "receipt") == 0 && ours)
		watch_event(w, s, o);
	else if (strcmp(type, "status") == 0 && ours)
		watch_status(w, s, o);
	else if (strcmp(type, "error") == 0 && code != NULL &&
	    strcmp(code, "unknown_alert") == 0) {
		log_warnx(_(MSG_UNKNOWN_ALERT), w->alert_id);
		snprintf(w->why, sizeof(w->why), _(MSG_UNKNOWN_ALERT),
		    w->alert_id);
		relay_session_done(s, EXIT_FAIL);
	} else if (strcmp(type, "error") == 0)
		relay_session_error(s, o);
	else
		/* Receipts of other alerts; what later relays may add. */
		log_debug("ignoring a %s frame", type);
}

int
watch_cancelled(const struct watch *w)
{
	return w != NULL && w->cancelled;
}

const char *
watch_why(const struct watch *w)
{
	return w != NULL && w->why[0] != '\0' ? w->why : "no confirmation";
}
