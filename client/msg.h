/*
 * What alertctl's relay commands tell their user, in one place: the
 * progress lines on stdout (scripts and the test suite parse the first
 * and the last of send) and the final verdicts.  Help texts are in
 * usage.c.
 */
#ifndef ALERTCTL_MSG_H
#define ALERTCTL_MSG_H

/* send: stdout, in this order */
#define MSG_ALERT_ID "alert_id=%s" /* always the first line */
#define MSG_RESENDING "resending the alert created at %s"
#define MSG_CONNECTING "connecting to %s"
#define MSG_CONNECTED "connected (TLS 1.3, relay pin ok)"
#define MSG_AUTHENTICATED "authenticated as %s"
#define MSG_ACCEPTED "accepted alert_id=%s relay_id=%s%s" /* the last */
#define MSG_DUPLICATE " (duplicate)"
/* send and watch: an earlier alert of the outbox never accepted, sent
 * again (its outcome is an accepted line or a refusal) */
#define MSG_RESENDING_UNSENT "resending alert_id=%s (created at %s)"

/* send: stderr */
#define MSG_NEXT_RELAY "%s; trying the next relay"
#define MSG_RETRYING "%s; retrying in %.1f s"
#define MSG_REFUSED "alert %s not accepted: %s"
#define MSG_DEADLINE "not accepted within %ld s: %s"
#define MSG_RESEND_HINT                                                        \
	"to resend the same alert: alertctl send ... --alert-id %s"

/* send --wait: after accepted, one stdout line per receipt
 * (receipt.h), then on stderr when the wait fails */
#define MSG_WAIT_DEADLINE "alert %s not %s within %ld s: %s"
#define MSG_WAIT_LOST "alert %s: cannot follow it: %s"
#define MSG_WAIT_EXPIRED "alert %s expired without being %s"
#define MSG_STATUS_HINT "to see what happened since: alertctl status %s"

/* watch: stdout */
#define MSG_WATCH_CONNECTED "connected to %s"
#define MSG_WATCH_RECONNECTED "reconnected to %s"
#define MSG_WATCH_RECEIPT "alert %s: %s" /* alert_id, receipt.h line */
#define MSG_WATCH_STATE "alert %s: %s" /* alert_id, a final state */
#define MSG_WATCH_ALL_SENT "no unsent alert in the outbox"
#define MSG_WATCH_STOPPED "stopped"

/* cancel, status, list */
#define MSG_CANCELLED "cancelled %s" /* stdout */
#define MSG_UNKNOWN_ALERT                                                      \
	"the relay does not know alert %s (a typo, another device's alert, "   \
	"or expired)"
#define MSG_REQUEST_REFUSED "%s: %s"
#define MSG_REQUEST_DEADLINE "%s: no answer within %ld s: %s"

/* ack: stdout */
#define MSG_ACKNOWLEDGED "acknowledged %s as %s (%s)"
#define MSG_ACK_FIRST "first"
#define MSG_ACK_AGAIN "already acknowledged"

#endif
