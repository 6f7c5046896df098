/*
 * Pending alerts sent pipelined over a session, each answer kept in the
 * outbox (resend.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "outbox.h"
#include "resend.h"
#include "xmalloc.h"

/* A refusal is one relay's word: any relay, hostile or broken, can
 * answer any alert with any error code, or announce a max_frame too
 * small for it.  So an item counts as refused for good only once every
 * configured relay refused it; until then each relay that refused it
 * has its bit in refused_by, is sent it no more, and the operation ends
 * the session (resend_move_on) so that the run tries the next relay. */
_Static_assert(CLIENT_MAX_RELAYS <= 32, "refused_by holds one bit a relay");

struct resend_item {
	struct sealed_alert s;
	json_t *frame;
	enum resend_state state;
	uint32_t refused_by; /* the configured relays that refused it */
	int oversize; /* resend_start: larger than this relay takes */
	int sent; /* these bytes went out on a session: a relay may hold them */
	long max_age_s; /* from its accepted frame; 0: not given */
	char relay_id[128]; /* from its accepted frame, made safe */
};

struct resend {
	char *dir;
	size_t nrelays; /* configured */
	struct resend_hooks hooks;
	struct resend_item *v;
	size_t n, cap;
	size_t *inflight; /* indexes, in the order sent */
	size_t ninflight;
};

/* Errors that answer one alert for good, and whether the relay closes
 * the connection after them ("unavailable" means "send it again later").
 * "stale": the alert is older than the relay's max_alert_age; sending it
 * again cannot help, and it must not hold back the alerts after it. */
static const struct resend_refusal {
	const char *code;
	int closes;
} resend_refusals[] = {
    {"unknown_recipient", 0},
    {"conflict", 0},
    {"stale", 0},
    {"bad_envelope", 1},
    {"bad_signature", 1},
};

struct resend *
resend_new(const char *dir, size_t nrelays, const struct resend_hooks *hooks)
{
	struct resend *q = xcalloc(1, sizeof(*q));

	q->dir = dir != NULL ? xstrdup(dir) : NULL;
	q->nrelays = nrelays;
	q->hooks = *hooks;
	return q;
}

void
resend_free(struct resend *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->n; i++) {
		alert_seal_free(&q->v[i].s);
		json_decref(q->v[i].frame);
	}
	free(q->v);
	free(q->inflight);
	free(q->dir);
	free(q);
}

size_t
resend_add(struct resend *q, struct sealed_alert *s)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 8;
		q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
		q->inflight =
		    xreallocarray(q->inflight, q->cap, sizeof(*q->inflight));
	}
	memset(&q->v[q->n], 0, sizeof(q->v[q->n]));
	q->v[q->n].s = *s;
	q->v[q->n].frame = alert_seal_frame(s);
	q->v[q->n].state = RESEND_PENDING;
	memset(s, 0, sizeof(*s));
	return q->n++;
}

int
resend_has(const struct resend *q, const char *alert_id)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->v[i].s.alert_id, alert_id) == 0)
			return 1;
	return 0;
}

enum resend_state
resend_state(const struct resend *q, size_t i)
{
	return q->v[i].state;
}

const char *
resend_alert_id(const struct resend *q, size_t i)
{
	return q->v[i].s.alert_id;
}

int
resend_sent(const struct resend *q, size_t i)
{
	return q->v[i].sent;
}

size_t
resend_inflight(const struct resend *q)
{
	return q->ninflight;
}

size_t
resend_pending(const struct resend *q)
{
	size_t i, n = 0;

	for (i = 0; i < q->n; i++)
		n += q->v[i].state == RESEND_PENDING;
	return n;
}

void
resend_replace(struct resend *q, size_t i, struct sealed_alert *s)
{
	alert_seal_free(&q->v[i].s);
	json_decref(q->v[i].frame);
	q->v[i].s = *s;
	q->v[i].frame = alert_seal_frame(s);
	q->v[i].state = RESEND_PENDING;
	/* Another envelope: what the relays said of the old one is moot. */
	q->v[i].refused_by = 0;
	q->v[i].sent = 0;
	memset(s, 0, sizeof(*s));
}

static uint32_t
resend_bit(const struct relay_session *s)
{
	return (uint32_t)1 << relay_session_relay_no(s);
}

static uint32_t
resend_every_relay(const struct resend *q)
{
	return q->nrelays >= 32 ? UINT32_MAX : ((uint32_t)1 << q->nrelays) - 1;
}

/* Pending, and not refused by the relay of s. */
static int
resend_for(const struct resend *q, const struct relay_session *s, size_t i)
{
	return q->v[i].state == RESEND_PENDING &&
	    (q->v[i].refused_by & resend_bit(s)) == 0;
}

/* Item i, refused by the relay of s: marked refused in the outbox only
 * when that was the last relay that had not refused it. */
static void
resend_refuse(struct resend *q, struct relay_session *s, size_t i,
    const char *code, const char *why)
{
	struct resend_item *it = &q->v[i];
	char all[768];

	it->refused_by |= resend_bit(s);
	if ((it->refused_by & resend_every_relay(q)) != resend_every_relay(q)) {
		log_warnx(_(MSG_REFUSED_BY), it->s.alert_id,
		    relay_session_label(s), why);
		q->hooks.refused(q->hooks.arg, s, i, code, why, 0);
		return;
	}
	if (q->nrelays > 1) {
		snprintf(all, sizeof(all), _(MSG_WHY_ALL_REFUSED), q->nrelays,
		    relay_session_label(s), why);
		why = all;
	}
	it->state = RESEND_REFUSED;
	if (q->dir != NULL)
		outbox_mark(q->dir, it->s.alert_id, OUTBOX_REFUSED, why);
	log_warnx(_(MSG_REFUSED), it->s.alert_id, why);
	q->hooks.refused(q->hooks.arg, s, i, code, why, 1);
}

size_t
resend_start(struct resend *q, struct relay_session *s)
{
	size_t i, sent = 0;
	int rc;

	q->ninflight = 0;
	for (i = 0; i < q->n; i++) {
		if (!resend_for(q, s, i))
			continue;
		if ((rc = relay_session_send(s, q->v[i].frame)) ==
		    RELAY_SEND_ENDED)
			break; /* not this relay's refusal: the session ended */
		if (rc != 0) {
			q->v[i].oversize = 1;
			continue;
		}
		q->inflight[q->ninflight++] = i;
		q->v[i].sent = 1;
		sent++;
	}
	/* Told once every frame that fits is out: the hooks may end the
	 * session. */
	for (i = 0; i < q->n; i++)
		if (q->v[i].oversize) {
			q->v[i].oversize = 0;
			resend_refuse(q, s, i, RELAY_TOO_LARGE,
			    _(MSG_WHY_TOO_LARGE));
		}
	log_debug("%zu alert frame(s) sent", sent);
	return sent;
}

int
resend_move_on(struct resend *q, struct relay_session *s)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->v[i].state == RESEND_PENDING &&
		    (q->v[i].refused_by & resend_bit(s)) != 0) {
			relay_session_fail(s, RELAY_RETRY, _(MSG_REFUSED_HERE),
			    q->v[i].s.alert_id);
			return 1;
		}
	return 0;
}

/* The in-flight position of the alert an answer names, else of the
 * oldest one in flight (answers come in order); -1 when none. */
static long
resend_which(const struct resend *q, const json_t *o, int by_order)
{
	const char *id = json_str(o, "alert_id");
	size_t k;

	if (q->ninflight == 0)
		return -1;
	if (id != NULL) {
		for (k = 0; k < q->ninflight; k++)
			if (strcmp(q->v[q->inflight[k]].s.alert_id, id) == 0)
				return (long)k;
		return -1;
	}
	return by_order ? 0 : -1;
}

static size_t
resend_pop(struct resend *q, long k)
{
	size_t i = q->inflight[k];

	memmove(q->inflight + k, q->inflight + k + 1,
	    (q->ninflight - (size_t)k - 1) * sizeof(*q->inflight));
	q->ninflight--;
	return i;
}

static void
resend_accepted(struct resend *q, struct relay_session *s, const json_t *o)
{
	const char *relay_id = json_str(o, "relay_id");
	char clean[128];
	long k = resend_which(q, o, 0);
	int dup = 0;
	size_t i;

	if (k < 0 || relay_id == NULL || strlen(relay_id) >= sizeof(clean)) {
		relay_session_fail(s, RELAY_RETRY,
		    "relay sent a malformed accepted frame");
		return;
	}
	i = resend_pop(q, k);
	json_bool_get(o, "duplicate", &dup);
	if (json_is_integer(json_object_get(o, "max_age")) &&
	    json_integer_value(json_object_get(o, "max_age")) > 0 &&
	    json_integer_value(json_object_get(o, "max_age")) <= 366L * 86400)
		q->v[i].max_age_s =
		    (long)json_integer_value(json_object_get(o, "max_age"));
	out_clean(relay_id, clean, sizeof(clean));
	memcpy(q->v[i].relay_id, clean, sizeof(clean));
	q->v[i].state = RESEND_ACCEPTED;
	/* On disk before anyone hears of it. */
	if (q->dir != NULL)
		outbox_mark(q->dir, q->v[i].s.alert_id, OUTBOX_ACCEPTED, clean);
	if (!q->hooks.quiet)
		out_line(MSG_ACCEPTED, q->v[i].s.alert_id, clean,
		    dup ? MSG_DUPLICATE : "");
	q->hooks.accepted(q->hooks.arg, s, i, dup);
}

static int
resend_error(struct resend *q, struct relay_session *s, const json_t *o)
{
	const char *code = json_str(o, "code"), *msg = json_str(o, "message");
	char why[512], ccode[64], cmsg[256];
	size_t n, i;
	long k;

	if (code == NULL)
		return 0;
	if (strcmp(code, "unavailable") == 0) {
		/* Stays pending; the session starts over elsewhere. */
		if (resend_which(q, o, 1) < 0)
			return 0;
		relay_session_error(s, o);
		return 1;
	}
	for (n = 0; n < sizeof(resend_refusals) / sizeof(resend_refusals[0]);
	     n++)
		if (strcmp(code, resend_refusals[n].code) == 0)
			break;
	if (n == sizeof(resend_refusals) / sizeof(resend_refusals[0]))
		return 0;
	if ((k = resend_which(q, o, 1)) < 0) {
		/* A refusal of nothing sent here: this relay is confused,
		 * which is no reason to give up on the others. */
		relay_session_fail(s, RELAY_RETRY,
		    "relay error %s for no alert sent on this connection",
		    out_clean(code, ccode, sizeof(ccode)));
		return 1;
	}
	i = resend_pop(q, k);
	snprintf(why, sizeof(why), "relay error %s: %s",
	    out_clean(code, ccode, sizeof(ccode)),
	    out_clean(msg != NULL ? msg : "", cmsg, sizeof(cmsg)));
	resend_refuse(q, s, i, resend_refusals[n].code, why);
	/* The relay closes the connection after these: the others go
	 * again on the next one (and this one to the next relay). */
	if (resend_refusals[n].closes)
		relay_session_fail(s, RELAY_RETRY,
		    "relay closed the connection after refusing alert %s",
		    q->v[i].s.alert_id);
	return 1;
}

int
resend_frame(struct resend *q, struct relay_session *s, const char *type,
    const json_t *o)
{
	if (strcmp(type, "accepted") == 0) {
		resend_accepted(q, s, o);
		return 1;
	}
	if (strcmp(type, "error") == 0)
		return resend_error(q, s, o);
	return 0;
}

long
resend_max_age(const struct resend *q, size_t i)
{
	return q->v[i].max_age_s;
}

const char *
resend_relay_id(const struct resend *q, size_t i)
{
	return i < q->n ? q->v[i].relay_id : "";
}
