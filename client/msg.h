/*
 * What "alertctl send" tells its user, in one place: the progress lines
 * on stdout (scripts and the test suite parse the first and the last)
 * and the final verdicts.  Help texts are in usage.c.
 */
#ifndef ALERTCTL_MSG_H
#define ALERTCTL_MSG_H

/* stdout, in this order */
#define MSG_ALERT_ID "alert_id=%s" /* always the first line */
#define MSG_RESENDING "resending the alert created at %s"
#define MSG_CONNECTING "connecting to %s"
#define MSG_CONNECTED "connected (TLS 1.3, relay pin ok)"
#define MSG_AUTHENTICATED "authenticated as %s"
#define MSG_ACCEPTED "accepted alert_id=%s relay_id=%s%s" /* the last */
#define MSG_DUPLICATE " (duplicate)"

/* stderr */
#define MSG_NEXT_RELAY "%s; trying the next relay"
#define MSG_RETRYING "%s; retrying in %.1f s"
#define MSG_REFUSED "alert %s not accepted: %s: %s"
#define MSG_DEADLINE "not accepted within %ld s: %s"
#define MSG_RESEND_HINT                                                        \
	"to resend the same alert: alertctl send ... --alert-id %s"

#endif
