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
#define MSG_NO_DIRECTORY                                                       \
	"this device holds no signed directory (its enrollment bundle "        \
	"carried "                                                             \
	"none): fetching one from a relay before the alert can be sealed; "    \
	"ask the administrator for a new bundle"
#define MSG_RESEALING                                                          \
	"alert %s: none of the recipients it was sealed to is in the relay's " \
	"directory; sealed again, same alert_id, to directory version %lld"
#define MSG_RESEND_HINT                                                        \
	"alert %s waits in the outbox: the next alertctl send, or alertctl "   \
	"watch, sends it"

/*
 * send: the last line on stderr when it gives up, for the person
 * holding the device: plain words first, then the technical reason in
 * brackets.  Each is one whole sentence for a translator (gettext, _()).
 */
#define MSG_VERDICT_NOT_DELIVERED "ALARM NOT DELIVERED. Call 112 now. (%s)"
#define MSG_VERDICT_REVOKED                                                    \
	"ALARM NOT DELIVERED: this device can no longer raise alarms; "        \
	"contact %s, and call 112 in danger. (%s)"
#define MSG_VERDICT_UNCONFIRMED                                                \
	"ALARM NOT CONFIRMED: the relay has it, but nobody is known to have "  \
	"received it. Call 112 now. (%s)"
/* the contact when the configuration names none */
#define MSG_VERDICT_ADMIN "your administrator"
/* the reasons in brackets that are not the relay's */
#define MSG_WHY_NO_DEVICE "the device's configuration or key cannot be used"
#define MSG_WHY_NO_DIRECTORY                                                   \
	"no signed directory to seal to, and none from a relay: %s"
#define MSG_WHY_NOT_SEALED "the alert could not be sealed: %s"
#define MSG_WHY_NOT_ACCEPTED "no relay accepted it"
#define MSG_WHY_NO_TLS "TLS cannot be set up"
#define MSG_WHY_DIR_INVALID "the directory fetched does not verify"
#define MSG_WHY_DIR_EMPTY "the directory lists no recipient"

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
