/*
 * What alertctl's relay commands tell their user, in one place: the
 * progress lines on stdout and the final verdicts.  Help texts are in
 * usage.c.
 *
 * Two kinds.  The lines scripts and tests parse are machine-stable:
 * never translated, never reworded (alertctl(1), MACHINE-READABLE
 * OUTPUT): MSG_ALERT_ID, MSG_ACCEPTED (+ MSG_DUPLICATE) and
 * MSG_RESENDING_UNSENT.  Every other one is for a person: marked N_()
 * for the catalogue, printed through _() in the reader's language.
 */
#ifndef ALERTCTL_MSG_H
#define ALERTCTL_MSG_H

#include "i18n.h"

/* Out of clang-format: a message changed is one line changed. */
/* clang-format off */

/* send: stdout, in this order */
#define MSG_ALERT_ID "alert_id=%s" /* always the first line */
#define MSG_RESENDING N_("resending the alert created at %s")
#define MSG_CONNECTING N_("connecting to %s")
#define MSG_CONNECTED N_("connected (TLS 1.3, relay pin ok)")
#define MSG_AUTHENTICATED N_("authenticated as %s")
#define MSG_ACCEPTED "accepted alert_id=%s relay_id=%s%s" /* the last */
#define MSG_DUPLICATE " (duplicate)"
/* send and watch: an earlier alert of the outbox never accepted, sent
 * again (its outcome is an accepted line or a refusal) */
#define MSG_RESENDING_UNSENT "resending alert_id=%s (created at %s)"

/* send: stderr */
#define MSG_NEXT_RELAY N_("%s; trying the next relay")
#define MSG_RETRYING N_("%s; retrying in %.1f s")
#define MSG_REFUSED N_("alert %s not accepted: %s")
/* one relay refused it, others have not: alert_id, relay, why (then
 * the session ends, MSG_REFUSED_HERE, and the next relay is tried) */
#define MSG_REFUSED_BY N_("alert %s refused by relay %s: %s")
/* why the session with that relay ends */
#define MSG_REFUSED_HERE N_("refused alert %s")
/* why, when every relay refused it: how many, the last, its reason */
#define MSG_WHY_ALL_REFUSED N_("refused by all %zu relays, the last %s: %s")
#define MSG_WHY_TOO_LARGE                                                      \
	N_("the alert is larger than the relay accepts; use a shorter message "   \
	"or fewer recipients")
#define MSG_DEADLINE N_("not accepted within %ld s: %s")
#define MSG_NO_DIRECTORY                                                       \
	N_("this device holds no signed directory (its enrollment bundle "        \
	"carried "                                                             \
	"none): fetching one from a relay before the alert can be sealed; "    \
	"ask the administrator for a new bundle")
#define MSG_RESEALING                                                          \
	N_("alert %s: none of the recipients it was sealed to is in the relay's " \
	"directory; sealed again, same alert_id, to directory version %lld")
#define MSG_RESEALED                                                           \
	N_("alert %s: not at a relay yet; sealed again, same alert_id, to "   \
	   "directory version %lld, verified since it was sealed to version " \
	   "%lld")
#define MSG_RESEND_HINT                                                        \
	N_("alert %s waits in the outbox: the next alertctl send, or alertctl "   \
	"watch, sends it")

/*
 * send: the last line on stderr when it gives up, for the person
 * holding the device: plain words first, then the technical reason in
 * brackets.  Each is one whole sentence for a translator (gettext, _()).
 */
#define MSG_VERDICT_NOT_DELIVERED N_("ALARM NOT DELIVERED. Call 112 now. (%s)")
#define MSG_VERDICT_REVOKED                                                    \
	N_("ALARM NOT DELIVERED: this device can no longer raise alarms; "        \
	"contact %s, and call 112 in danger. (%s)")
#define MSG_VERDICT_UNCONFIRMED                                                \
	N_("ALARM NOT CONFIRMED: the relay has it, but nobody is known to have "  \
	"received it. Call 112 now. (%s)")
/* the contact when the configuration names none */
#define MSG_VERDICT_ADMIN N_("your administrator")
/* the reasons in brackets that are not the relay's */
#define MSG_WHY_NO_DEVICE N_("the device's configuration or key cannot be used")
#define MSG_WHY_NO_DIRECTORY                                                   \
	N_("no signed directory to seal to, and none from a relay: %s")
#define MSG_WHY_NOT_SEALED N_("the alert could not be sealed: %s")
#define MSG_WHY_NOT_ACCEPTED N_("no relay accepted it")
#define MSG_WHY_NO_TLS N_("TLS cannot be set up")
#define MSG_WHY_DIR_INVALID N_("the directory fetched does not verify")
#define MSG_WHY_DIR_EMPTY N_("the directory lists no recipient")
/* a relay answered auth_failed (or, before, unknown_device): the code */
#define MSG_WHY_DEVICE_REFUSED                                                 \
	N_("the relay does not accept this device: it may have been removed or " \
	"its key replaced; ask your administrator (%s)")

/* send --wait: after accepted, one stdout line per receipt
 * (receipt.h), then on stderr when the wait fails */
#define MSG_WAIT_DEADLINE N_("alert %s not %s within %ld s: %s")
#define MSG_WAIT_LOST N_("alert %s: cannot follow it: %s")
#define MSG_WAIT_EXPIRED N_("alert %s expired without being %s")
#define MSG_STATUS_HINT N_("to see what happened since: alertctl status %s")

/* watch: stdout */
#define MSG_WATCH_CONNECTED N_("connected to %s")
#define MSG_WATCH_RECONNECTED N_("reconnected to %s")
#define MSG_WATCH_RECEIPT N_("alert %s: %s") /* alert_id, receipt.h line */
#define MSG_WATCH_STATE N_("alert %s: %s") /* alert_id, a final state */
#define MSG_WATCH_ALL_SENT N_("no unsent alert in the outbox")
#define MSG_WATCH_STOPPED N_("stopped")

/* cancel, status, list */
#define MSG_CANCELLED N_("cancelled %s") /* stdout */
#define MSG_UNKNOWN_ALERT                                                      \
	N_("the relay does not know alert %s (a typo, another device's alert, "   \
	"or expired)")
#define MSG_REQUEST_REFUSED N_("%s: %s")
#define MSG_REQUEST_DEADLINE N_("%s: no answer within %ld s: %s")

/* ack: stdout */
#define MSG_ACKNOWLEDGED "acknowledged %s as %s (%s)"
#define MSG_ACK_FIRST "first"
#define MSG_ACK_AGAIN "already acknowledged"
/* clang-format on */

#endif
