/*
 * An enrolled device's refused requests, and those that did nothing but
 * are answered as asked (a repeated cancel): counted per connection,
 * logged and audited one by one within a budget per device, the rest
 * said in one summary; a connection refused too often closed
 * (conn_refuse.h).
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "conn_int.h"

/* A record about the device, whatever alert is under way. */
static void
conn_refuse_audit(struct conn *c, const char *reason)
{
	char actor[ID_MAX + 8];

	snprintf(actor, sizeof(actor), "device:%s", c->device_id);
	audit_relay(c->relay, "device.refused", actor, "refused", c->peer,
	    "tls", actor, reason);
}

/* What was counted rather than said, in one line and one record. */
static void
conn_refuse_summary(struct conn *c)
{
	char counts[160], reason[192];

	if (c->refused.unsaid.n == 0)
		return;
	codecount_format(&c->refused.unsaid, "n", counts, sizeof(counts));
	log_info("conn %llu (%s device=%s): refusals suppressed %s", c->id,
	    c->peer, c->device_id, counts);
	snprintf(reason, sizeof(reason), "suppressed %s", counts);
	conn_refuse_audit(c, reason);
	codecount_clear(&c->refused.unsaid);
}

/* One refusal, one line, one record, after those counted before it. */
static void
conn_refuse_tell(struct conn *c, const char *code, const char *message)
{
	conn_refuse_summary(c);
	conn_audit(c,
	    c->ingest_alert_id[0] != '\0' ? "alert.refused" : "device.refused",
	    "refused", code);
	log_info("conn %llu (%s device=%s): %s: %s", c->id, c->peer,
	    c->device_id, code, message);
}

/* Counts one refusal in the window; 1 when it is one too many, the
 * connection is to be closed, and that is said here (with what was
 * counted, so that no summary is left for its end). */
static int
conn_refuse_over(struct conn *c, const char *code)
{
	struct conn_refusals *r = &c->refused;
	int64_t now = monotonic_ms();
	char counts[160], reason[240];

	if (r->window_ms == 0 ||
	    now - r->window_ms >= CONN_REFUSE_WINDOW_S * 1000) {
		r->window_ms = now;
		r->in_window = 0;
	}
	if (++r->in_window <= CONN_REFUSE_MAX)
		return 0;
	r->closing = 1;
	codecount_format(&r->unsaid, "suppressed", counts, sizeof(counts));
	snprintf(reason, sizeof(reason), "%s n=%u window_s=%d last=%s %s",
	    CONN_REFUSE_CODE, r->in_window, CONN_REFUSE_WINDOW_S, code, counts);
	log_warnx("conn %llu (%s device=%s): closed: %s", c->id, c->peer,
	    c->device_id, reason);
	conn_refuse_audit(c, reason);
	codecount_clear(&r->unsaid);
	return 1;
}

int
conn_refuse_count(struct conn *c, const char *code)
{
	return !c->refused.closing && conn_refuse_over(c, code);
}

/* 1: within the device's budget, what was counted said first; 0:
 * counted. */
static int
conn_refuse_budget(struct conn *c, const char *code)
{
	if (!ratelimit_take(c->relay->refusal_said, c->device_id,
	        strlen(c->device_id), monotonic_ms())) {
		codecount_add(&c->refused.unsaid, code);
		return 0;
	}
	conn_refuse_summary(c);
	return 1;
}

int
conn_refuse_say(struct conn *c, const char *code)
{
	/* The first of a session outside the budget: an honest device
	 * asks again after a lost answer, with refusals (unavailable)
	 * that may have spent the budget meanwhile, and the operator
	 * would lose which alert it was. */
	if (!c->refused.repeat_said) {
		c->refused.repeat_said = 1;
		conn_refuse_summary(c);
		return 1;
	}
	return conn_refuse_budget(c, code);
}

int
conn_refuse_note(struct conn *c, const char *code, const char *message,
    int fatal)
{
	if (c->refused.closing)
		return 0; /* the closing answer itself: said already */
	if (!fatal && conn_refuse_over(c, code))
		return 1;
	/* A refusal that closes the connection is said always: there is
	 * one per session, and sessions are limited per device. */
	if (fatal || conn_refuse_budget(c, code))
		conn_refuse_tell(c, code, message);
	return 0;
}

void
conn_refuse_send(struct conn *c, json_t *e)
{
	const char *code = json_string_value(json_object_get(e, "code"));

	if (code == NULL)
		code = "?";
	if (conn_refuse_count(c, code)) {
		json_decref(e);
		conn_error(c, CONN_REFUSE_CODE, CONN_REFUSE_MESSAGE, 1);
		return;
	}
	metrics_refused(code);
	conn_send(c, e);
}

void
conn_refuse_end(struct conn *c)
{
	if (c->device_id[0] != '\0')
		conn_refuse_summary(c);
}

void
conn_refuse_end_all(struct relay *relay)
{
	struct conn *c;

	TAILQ_FOREACH(c, &relay->conns, entry)
	{
		conn_refuse_end(c);
	}
}
