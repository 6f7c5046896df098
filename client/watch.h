/*
 * Following an alert after it was accepted (send --wait): print each
 * receipt once as it comes, and end when the awaited state is reached
 * (exit 0) or the alert was cancelled or expired (exit 1).  After a
 * reconnect, "watch" asks the relay for the alert's status, whose
 * events were partly printed already: each event is printed only once.
 */
#ifndef ALERTCTL_WATCH_H
#define ALERTCTL_WATCH_H

#include <jansson.h>

#include "relay_session.h"

#define WATCH_SEEN_MAX 4096 /* events remembered for not printing twice */

enum watch_until {
	WATCH_NONE, /* no following: send ends at accepted */
	WATCH_DELIVERED, /* a notification went through */
	WATCH_ACK, /* a person acknowledged the alert */
};

/* "none", "delivered" or "ack"; -1 for anything else. */
int watch_until_parse(const char *s, enum watch_until *out);
/* "delivered", "acknowledged": for messages. */
const char *watch_until_name(enum watch_until until);

struct watch *watch_new(const char *alert_id, enum watch_until until);
void watch_free(struct watch *w);
/* --accept-relay-ack: an acknowledgement only the relay vouches for (by
 * SMS, or unsigned) ends a wait for ack too (ack_verify.h). */
void watch_accept_relay(struct watch *w, int yes);

/* The alert was just accepted on s; duplicate: the relay had it before,
 * so some receipts may have gone to an earlier connection. */
void watch_accepted(struct watch *w, struct relay_session *s, int duplicate);
/* A new session after a lost one. */
void watch_ready(struct watch *w, struct relay_session *s);
void watch_frame(struct watch *w, struct relay_session *s, const char *type,
    const json_t *o);
/* After the run, NULL-safe: 1 when the wait ended because the alert was
 * cancelled (as its device asked: no alarm to raise). */
int watch_cancelled(const struct watch *w);
/* Why the wait ended without its state, for send's last line. */
const char *watch_why(const struct watch *w);

#endif
