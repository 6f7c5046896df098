/*
 * Alerts to get accepted over a session, pipelined: every pending alert
 * frame is sent at once and the relay answers them in order
 * (docs/PROTOCOL.md).  Each answer is recorded in the outbox (accepted,
 * or refused for good) before it is printed, so an alert that was never
 * accepted stays unsent there and is sent again, same alert_id, same
 * bytes, by the next send or watch.
 *
 * A refusal (an error code, or a max_frame too small for the alert) is
 * the word of one relay: the alert is refused for good only once every
 * configured relay refused it.  Until then it stays pending for the
 * relays that did not, and the operation takes it to the next relay
 * (resend_move_on).
 */
#ifndef ALERTCTL_RESEND_H
#define ALERTCTL_RESEND_H

#include <stddef.h>

#include <jansson.h>

#include "alert_seal.h"
#include "relay_session.h"

enum resend_state {
	RESEND_PENDING,
	RESEND_ACCEPTED,
	RESEND_REFUSED,
};

struct resend_hooks {
	/* Item i was accepted (printed already) or refused (logged): code
	 * is the relay's error code, why the whole reason.  for_good: every
	 * configured relay refused it, it is marked refused in the outbox;
	 * else only this relay did and it stays pending for the others. */
	void (*accepted)(void *arg, struct relay_session *s, size_t i,
	    int duplicate);
	void (*refused)(void *arg, struct relay_session *s, size_t i,
	    const char *code, const char *why, int for_good);
	void *arg;
	/* 1: no accepted line on stdout (libalertclient tells its caller
	 * through accepted() and resend_relay_id()). */
	int quiet;
};

/* dir: the outbox for the markers, or NULL; nrelays: how many relays
 * the configuration lists (all of them refuse an alert for good). */
struct resend *resend_new(const char *dir, size_t nrelays,
    const struct resend_hooks *hooks);
void resend_free(struct resend *q);
/* Takes s (its envelope); the item's index. */
size_t resend_add(struct resend *q, struct sealed_alert *s);
/* Item i, refused, gets a new sealing (same alert_id) and is pending
 * again; takes s. */
void resend_replace(struct resend *q, size_t i, struct sealed_alert *s);
/* 1 when alert_id is queued already. */
int resend_has(const struct resend *q, const char *alert_id);
enum resend_state resend_state(const struct resend *q, size_t i);
const char *resend_alert_id(const struct resend *q, size_t i);
/* Sends the frame of every pending item over a new session, but those
 * its relay refused; how many.  An item larger than the relay takes is
 * refused by it. */
size_t resend_start(struct resend *q, struct relay_session *s);
/* Nothing in flight: when the relay of s refused an item still
 * pending, ends the session (RELAY_RETRY) so that the run takes it to
 * the next relay, and 1; else 0. */
int resend_move_on(struct resend *q, struct relay_session *s);
/* An accepted or error frame answering one of the alerts sent: handled
 * (1), else 0. */
int resend_frame(struct resend *q, struct relay_session *s, const char *type,
    const json_t *o);
/* How long the relay escalates item i (its accepted frame's max_age,
 * in seconds); 0 when it did not say. */
long resend_max_age(const struct resend *q, size_t i);
/* The relay_id of item i's accepted frame (made safe), else "". */
const char *resend_relay_id(const struct resend *q, size_t i);
/* 1 once item i's current bytes were sent on a session: a relay may
 * hold them, so they must not be sealed again (a new envelope under the
 * same alert_id would be a conflict there). */
int resend_sent(const struct resend *q, size_t i);
/* Sent on this session and not answered yet. */
size_t resend_inflight(const struct resend *q);
/* Not accepted nor refused. */
size_t resend_pending(const struct resend *q);

#endif
