/*
 * Following an alert (ar_send with a wait, ar_follow): each receipt told
 * once as an event, also when a reconnect's status repeats the history;
 * an acknowledgement told with the device's check of its signature; the
 * end when the awaited state is reached, or the alert was cancelled or
 * expired.  The lines for a person are those of `alertctl send --wait`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_verify.h"
#include "alertctl.h"
#include "ar_internal.h"
#include "frame.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "receipt.h"
#include "receipt_ack.h"
#include "seen.h"
#include "watch.h"
#include "xmalloc.h"

struct ar_follow {
	struct ar_op *op;
	int until_ack; /* else until delivered */
	int accept_relay;
	struct seen *told; /* receipt_key() of each event told */
};

struct ar_follow *
ar_follow_new(struct ar_op *op, int until_ack, int accept_relay)
{
	struct ar_follow *f = xcalloc(1, sizeof(*f));

	f->op = op;
	f->until_ack = until_ack;
	f->accept_relay = accept_relay;
	f->told = seen_new(WATCH_SEEN_MAX);
	return f;
}

void
ar_follow_free(struct ar_follow *f)
{
	if (f == NULL)
		return;
	seen_free(f->told);
	free(f);
}

static const char *
ar_follow_until(const struct ar_follow *f, char *buf, size_t len)
{
	return receipt_word(watch_until_name(
	                        f->until_ack ? WATCH_ACK : WATCH_DELIVERED),
	    buf, len);
}

/* 1 when ev was told before; else remembers it. */
static int
ar_follow_seen(struct ar_follow *f, const json_t *ev)
{
	char *key = receipt_key(ev);
	int seen;

	if (key == NULL)
		return 0;
	if (!(seen = seen_has(f->told, key)))
		seen_add(f->told, key);
	free(key);
	return seen;
}

static int
ar_follow_type(const char *what)
{
	if (strcmp(what, "delivered") == 0)
		return AR_EV_DELIVERED;
	if (strcmp(what, "acknowledged") == 0)
		return AR_EV_ACKNOWLEDGED;
	if (strcmp(what, "cancelled") == 0)
		return AR_EV_CANCELLED;
	if (strcmp(what, "expired") == 0)
		return AR_EV_EXPIRED;
	return AR_EV_RECEIPT;
}

static int
ar_follow_check(enum ack_verdict v)
{
	switch (v) {
	case ACK_VERIFIED:
		return AR_ACK_VERIFIED;
	case ACK_RELAY:
		return AR_ACK_RELAY;
	case ACK_UNVERIFIED:
		return AR_ACK_UNVERIFIED;
	default:
		return AR_ACK_FORGED;
	}
}

int
ar_tell_receipt(struct ar_op *op, const json_t *ev, struct ack_check *c)
{
	const char *what = json_str(ev, "event");
	struct ack_check mine;
	struct ar_event e;
	char line[RECEIPT_LINE_MAX], by[256], word[64];

	if (c == NULL)
		c = &mine;
	c->verdict = ACK_NOT_AN_ACK;
	if (what == NULL)
		return 0;
	ar_client_zone(op->c);
	receipt_ack_line(op->c->d.av, ev, op->alert_id, 1, line, sizeof(line));
	memset(&e, 0, sizeof(e));
	e.type = ar_follow_type(what);
	e.text = line;
	e.event = out_clean(what, word, sizeof(word));
	if (e.type == AR_EV_CANCELLED)
		e.verified =
		    ack_verify_own_cancel(op->c->d.av, ev, op->alert_id)
		    ? AR_ACK_VERIFIED
		    : AR_ACK_RELAY;
	if (e.type == AR_EV_ACKNOWLEDGED) {
		ack_verify_event(op->c->d.av, ev, op->alert_id, c);
		e.verified = ar_follow_check(c->verdict);
		if (c->verdict == ACK_VERIFIED)
			out_clean(c->who, by, sizeof(by));
		else
			out_clean(json_str(ev, "by") != NULL
			        ? json_str(ev, "by")
			        : "?",
			    by, sizeof(by));
		e.operator_name = by;
	}
	ar_emit(op, &e);
	sodium_memzero(&mine, sizeof(mine));
	return e.verified;
}

/* Whether the acknowledgement the device's check found as c ends the
 * wait; a forged one is warned about. */
static int
ar_follow_ack_ends(struct ar_follow *f, const struct ack_check *c)
{
	/* An ack that does not end the wait (the relay's word without
	 * the caller's leave) is the caller's to explain: its event said
	 * AR_ACK_RELAY. */
	if (c->verdict == ACK_REFUSED) {
		log_warnx(
		    _("alert %s: a receipt that claims an acknowledgement "
		      "is NOT genuine (%s): still waiting for a real one"),
		    f->op->alert_id, c->why);
		return 0;
	}
	/* Waiting for delivered: a person who took it had it. */
	return ack_verify_ends_wait(c->verdict, f->accept_relay) ||
	    !f->until_ack;
}

static void
ar_follow_expired(struct ar_follow *f, struct relay_session *s)
{
	char why[256], word[RECEIPT_WORD_MAX];

	snprintf(why, sizeof(why), _(MSG_WAIT_EXPIRED), f->op->alert_id,
	    ar_follow_until(f, word, sizeof(word)));
	ar_op_fail(f->op, AR_E_CLOSED, "expired", why);
	relay_session_done(s, EXIT_FAIL);
}

/* A cancel ends the wait either way, since the relay (if honest) no
 * longer escalates: as asked, quietly, when it is this device's own
 * signed cancel; else as a wait without confirmation ("cancelled_relay"),
 * which alertctl says with its call to 112. */
static void
ar_follow_cancelled(struct ar_follow *f, struct relay_session *s, int own)
{
	char why[256];

	if (own)
		ar_op_fail(f->op, AR_E_CLOSED, "cancelled", _("cancelled"));
	else {
		snprintf(why, sizeof(why),
		    _("the relay says alert %s is cancelled, but not with "
		      "this device's signed cancel"),
		    f->op->alert_id);
		ar_op_fail(f->op, AR_E_CLOSED, "cancelled_relay", why);
	}
	relay_session_done(s, EXIT_FAIL);
}

/* An event not told before; 1 when it ends the wait: the awaited one,
 * or one that closes the alert (cancelled, expired), so that a follow
 * never outlives its alert.  Each receipt is checked once, as it is
 * told (ar_tell_receipt). */
static int
ar_follow_event(struct ar_follow *f, struct relay_session *s, const json_t *ev)
{
	const char *what = json_str(ev, "event");
	struct ack_check c;
	int verified, ends;

	/* "accepted" was told by AR_EV_ACCEPTED already. */
	if (what == NULL || strcmp(what, "accepted") == 0 ||
	    ar_follow_seen(f, ev))
		return 0;
	verified = ar_tell_receipt(f->op, ev, &c);
	ends = 1;
	if (strcmp(what, "acknowledged") == 0) {
		if ((ends = ar_follow_ack_ends(f, &c)))
			relay_session_done(s, EXIT_OK);
	} else if (strcmp(what, "delivered") == 0 && !f->until_ack)
		relay_session_done(s, EXIT_OK);
	else if (strcmp(what, "cancelled") == 0)
		ar_follow_cancelled(f, s, verified == AR_ACK_VERIFIED);
	else if (strcmp(what, "expired") == 0)
		ar_follow_expired(f, s);
	else
		ends = 0;
	sodium_memzero(&c, sizeof(c));
	return ends;
}

/* The answer to watch: the history so far (some of it told before),
 * then the state, which may end the wait without an event for it. */
static void
ar_follow_status(struct ar_follow *f, struct relay_session *s, const json_t *o)
{
	const char *state = json_str(o, "state");
	json_t *events = json_object_get(o, "events");
	size_t i;

	for (i = 0; i < json_array_size(events); i++)
		if (ar_follow_event(f, s, json_array_get(events, i)))
			return;
	if (state == NULL)
		state = "open";
	/* The relay's state word alone is not an acknowledgement: only an
	 * event above that passed the device's check ended the wait. */
	if (strcmp(state, "acknowledged") == 0 && f->until_ack) {
		relay_session_keepalive(s, "receipts");
	} else if (strcmp(state, "acknowledged") == 0) {
		ar_say(f->op, _("acknowledged"));
		relay_session_done(s, EXIT_OK);
	} else if (strcmp(state, "cancelled") == 0) {
		/* no event above carried this device's signed cancel */
		ar_follow_cancelled(f, s, 0);
	} else if (strcmp(state, "expired") == 0)
		ar_follow_expired(f, s);
	else
		relay_session_keepalive(s, "receipts");
}

void
ar_follow_ready(struct ar_follow *f, struct relay_session *s)
{
	if (relay_session_watch(s, f->op->alert_id) == 0)
		relay_session_expect(s, "status");
}

void
ar_follow_accepted(struct ar_follow *f, struct relay_session *s, int duplicate)
{
	if (duplicate)
		ar_follow_ready(f, s);
	else
		relay_session_keepalive(s, "receipts");
}

void
ar_follow_frame(struct ar_follow *f, struct relay_session *s, const char *type,
    const json_t *o)
{
	const char *id = json_str(o, "alert_id");
	int ours = id != NULL && strcmp(id, f->op->alert_id) == 0;

	if (strcmp(type, "receipt") == 0 && ours)
		ar_follow_event(f, s, o);
	else if (strcmp(type, "status") == 0 && ours)
		ar_follow_status(f, s, o);
	else if (strcmp(type, "error") == 0)
		/* "unknown_alert" too is this relay's word: another may
		 * hold the alert (the run's failed() tells it) */
		relay_session_error(s, o);
	else
		/* Receipts of other alerts; what later relays may add. */
		log_debug("ignoring a %s frame", type);
}
