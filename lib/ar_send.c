/*
 * ar_send: an alert sealed and kept in the outbox (ar_send_seal.c), then
 * delivered with the outbox's unsent alerts before it (resend.h), the
 * relays tried in turn until one accepts it, and with a wait its
 * receipts followed (ar_follow.c).  What alertctl send does, as events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_verify.h"
#include "alert_reseal.h"
#include "alert_seal.h"
#include "alertctl.h"
#include "ar_internal.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "outbox.h"
#include "receipt.h"
#include "trust.h"
#include "watch.h"
#include "xmalloc.h"

static void ar_send_begin(struct ar_op *op);
static void ar_send_next(struct ar_op *op, struct relay_session *s);

/* A device enrolled from a bundle without a directory: the session just
 * verified and kept the relay's, so the alert is sealed to it now, kept
 * in the outbox, and sent over this same session.  0, else -1 (the
 * session ended). */
static int
ar_send_fetched(struct ar_op *op, struct relay_session *s)
{
	struct client_config *cfg = &op->c->d.cfg;
	char why[AR_REASON_MAX];
	int rc;

	op->fetching = 0;
	if (trust_open(cfg) != 0 || cfg->nrecipients == 0) {
		snprintf(why, sizeof(why), _(MSG_WHY_NO_DIRECTORY),
		    cfg->nrecipients == 0 ? _(MSG_WHY_DIR_EMPTY)
		                          : _(MSG_WHY_DIR_INVALID));
		ar_op_fail(op, AR_E_NO_DIRECTORY, NULL, why);
		relay_session_fail(s, RELAY_FATAL, "%s", why);
		return -1;
	}
	op->sealed = xcalloc(1, sizeof(*op->sealed));
	rc = ar_send_seal(op, (op->flags & AR_SEND_AGAIN) != 0, &op->resent,
	    op->sealed);
	if (rc == AR_E_STORAGE)
		/* ar_send returned long ago: told as a step instead */
		ar_say(op, op->reason);
	else if (rc != AR_OK) {
		ar_op_fail(op, AR_E_SEAL, NULL, op->reason);
		relay_session_fail(s, RELAY_FATAL, "%s", op->reason);
		return -1;
	}
	ack_verify_sent(op->c->d.av, op->sealed->alert_id, op->sealed->envelope,
	    strlen(op->sealed->envelope));
	ar_send_begin(op);
	return 0;
}

/* The session just verified a directory newer than the one ours was
 * sealed to (a recipient dropped or added since): while no relay can
 * hold its bytes, it goes sealed to the new one, same alert_id.  Not
 * a resend (AR_SEND_AGAIN): that alert_id may be at a relay since an
 * earlier run, which would take another envelope as a conflict. */
static void
ar_send_reseal_unsent(struct ar_op *op)
{
	long long was = op->sealed_dir;
	char *dir;

	if (op->accepted || (op->flags & AR_SEND_AGAIN) ||
	    resend_state(op->queue, op->mine) != RESEND_PENDING ||
	    resend_sent(op->queue, op->mine))
		return;
	dir = outbox_dir(&op->c->d.cfg);
	if (alert_reseal(&op->c->d, &op->a, &op->sealed_dir, dir, op->queue,
	        op->mine, 1, &op->hold) == ALERT_RESEAL_DONE)
		log_warnx(_(MSG_RESEALED), op->alert_id, op->sealed_dir, was);
	free(dir);
}

static void
ar_send_ready(struct relay_session *s, void *arg)
{
	struct ar_op *op = arg;

	if (op->fetching && ar_send_fetched(op, s) != 0)
		return;
	if (op->accepted) {
		ar_follow_ready(op->follow, s);
		return;
	}
	ar_send_reseal_unsent(op);
	resend_start(op->queue, s);
	ar_send_next(op, s);
}

/* Ours is still pending: the answers in flight first; then, when this
 * relay refused it, the next relay. */
static void
ar_send_next(struct ar_op *op, struct relay_session *s)
{
	if (resend_inflight(op->queue) > 0 || !resend_move_on(op->queue, s))
		relay_session_expect(s, "accepted");
}

/* What the wait is for and how long it lasts (how to leave it is the
 * program's to say: the first step told after AR_EV_ACCEPTED). */
static void
ar_send_waiting(struct ar_op *op)
{
	const char *what = (op->flags & AR_SEND_WAIT_ACK)
	    ? _("waiting until a person takes alert %s")
	    : _("waiting until alert %s is delivered");
	char head[256], bound[64] = "", line[512];

	snprintf(head, sizeof(head), what, op->alert_id);
	if (op->wait_s > 0)
		snprintf(bound, sizeof(bound), _(" (at most %ld min)"),
		    (op->wait_s + 59) / 60);
	snprintf(line, sizeof(line), "%s%s", head, bound);
	ar_say(op, line);
}

static void
ar_send_answered(void *arg, struct relay_session *s, size_t i, int duplicate)
{
	struct ar_op *op = arg;
	struct ar_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = AR_EV_ACCEPTED;
	ev.alert_id = resend_alert_id(op->queue, i);
	ev.relay_id = resend_relay_id(op->queue, i);
	ev.duplicate = duplicate;
	ar_emit(op, &ev);
	if (i != op->mine) {
		/* An earlier alert; ours is answered after it. */
		ar_send_next(op, s);
		return;
	}
	op->accepted = 1;
	outbox_let_go(&op->hold); /* at a relay: anyone's to resend */
	if (op->follow == NULL) {
		relay_session_done(s, EXIT_OK);
		return;
	}
	/* From now on the wait has its own deadline: the caller's, else
	 * the alert's max_age, after which nobody else will be asked. */
	op->wait_s = op->c->wait_timeout_s != 0 ? op->c->wait_timeout_s
	                                        : resend_max_age(op->queue, i);
	ar_send_waiting(op);
	relay_run_deadline(op->run, op->wait_s);
	ar_follow_accepted(op->follow, s, duplicate);
}

/* Refused because none of the recipients it was sealed to is in the
 * relay's (newer) directory: sealed again, same alert_id, to the
 * directory a session verified since (trust_accept put it in cfg), and
 * sent once more (to every relay again: a new envelope). */
static int
ar_send_reseal(struct ar_op *op, struct relay_session *s)
{
	char *dir;
	int rc;

	if (op->resealed)
		return -1;
	dir = outbox_dir(&op->c->d.cfg);
	rc = alert_reseal(&op->c->d, &op->a, &op->sealed_dir, dir, op->queue,
	    op->mine, 0, &op->hold);
	free(dir);
	if (rc != ALERT_RESEAL_DONE)
		return -1;
	op->resealed = 1;
	log_warnx(_(MSG_RESEALING), op->alert_id, op->sealed_dir);
	resend_start(op->queue, s);
	ar_send_next(op, s);
	return 0;
}

/* Ours fails only when every relay refused it (for_good); one relay's
 * refusal sends it to the next. */
static void
ar_send_refused(void *arg, struct relay_session *s, size_t i, const char *code,
    const char *why, int for_good)
{
	struct ar_op *op = arg;

	if (i == op->mine && strcmp(code, "unknown_recipient") == 0 &&
	    ar_send_reseal(op, s) == 0)
		return;
	if (i != op->mine || !for_good) {
		ar_send_next(op, s);
		return;
	}
	ar_op_fail(op, AR_E_REFUSED, code, why);
	relay_session_done(s, EXIT_FAIL);
}

static void
ar_send_frame(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	struct ar_op *op = arg;

	if (op->accepted)
		ar_follow_frame(op->follow, s, type, o);
	else if (resend_frame(op->queue, s, type, o))
		; /* hooks above */
	else if (strcmp(type, "error") == 0)
		relay_session_error(s, o);
	else if (strcmp(type, "receipt") == 0)
		; /* of an earlier alert, or one a status will tell */
	else
		relay_session_unexpected(s, type);
}

/* No relay gave the device a directory to seal to: the alert was
 * never sealed nor stored. */
static void
ar_send_nodir(struct ar_op *op, int deadline, const char *why)
{
	if (deadline)
		log_warnx(_("no verified directory before the deadline: %s"),
		    why);
	else
		log_warnx(_("no verified directory: %s"), why);
	if (relay_code_shut_out(op->code)) {
		snprintf(op->reason, sizeof(op->reason), "%s", why);
		return;
	}
	op->status = AR_E_NO_DIRECTORY;
	snprintf(op->reason, sizeof(op->reason), _(MSG_WHY_NO_DIRECTORY), why);
}

static void
ar_send_failed(void *arg, int deadline, const char *why)
{
	struct ar_op *op = arg;
	long timeout_s = op->c->timeout_s;
	char word[RECEIPT_WORD_MAX];

	snprintf(op->code, sizeof(op->code), "%s", relay_run_code(op->run));
	op->status = deadline ? AR_E_TIMEOUT : AR_E_REFUSED;
	if (op->fetching) {
		ar_send_nodir(op, deadline, why);
		return;
	}
	if (!op->accepted) {
		if (deadline) {
			/* what to do next is the program's to say */
			log_warnx(_(MSG_DEADLINE), timeout_s, why);
			snprintf(op->reason, sizeof(op->reason),
			    _(MSG_DEADLINE), timeout_s, why);
		} else {
			log_warnx(_(MSG_REFUSED), op->alert_id, why);
			snprintf(op->reason, sizeof(op->reason), "%s", why);
		}
		return;
	}
	op->status = AR_E_TIMEOUT;
	if (deadline)
		snprintf(op->reason, sizeof(op->reason), _(MSG_WAIT_DEADLINE),
		    op->alert_id,
		    receipt_word(watch_until_name((op->flags & AR_SEND_WAIT_ACK)
		                         ? WATCH_ACK
		                         : WATCH_DELIVERED),
		        word, sizeof(word)),
		    op->wait_s, why);
	else
		snprintf(op->reason, sizeof(op->reason), _(MSG_WAIT_LOST),
		    op->alert_id, why);
	log_warnx("%s", op->reason);
}

/* The run's exit code as a status: what the caller must tell. */
static void
ar_send_finish(struct ar_op *op, int exit_code)
{
	op->status = ar_outcome_ended(op->status, exit_code,
	    op->accepted ? AR_E_TIMEOUT : AR_E_REFUSED);
	if (exit_code == EXIT_OK)
		return;
	/* Refused by a relay, or (unreachable) by the device's own
	 * verified directory; an alert accepted before a revocation is
	 * still delivered: not this case. */
	if (!op->accepted &&
	    (relay_code_shut_out(op->code) || op->c->d.cfg.shut_out))
		op->status = AR_E_REVOKED;
	if (op->reason[0] == '\0')
		snprintf(op->reason, sizeof(op->reason), "%s",
		    op->accepted ? "no confirmation" : _(MSG_WHY_NOT_ACCEPTED));
}

/* The alerts of the outbox that were never accepted go first, the same
 * bytes again; the relay answers in order, ours last. */
static void
ar_send_unsent(struct ar_op *op, const char *dir)
{
	struct sealed_alert *v;
	struct ar_event ev;
	size_t n, i;

	if (dir == NULL)
		return;
	n = outbox_list(dir, OUTBOX_UNSENT, 0,
	    op->c->d.sk + crypto_sign_SEEDBYTES, op->alert_id, OUTBOX_LIST_MAX,
	    &v);
	for (i = 0; i < n; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = AR_EV_RESENDING;
		ev.alert_id = v[i].alert_id;
		ev.created_at = v[i].created_at;
		ar_emit(op, &ev);
		resend_add(op->queue, &v[i]);
	}
	free(v);
}

/* From the loop, after ar_send returned: the earlier unsent alerts are
 * told before the first connection. */
static void
ar_send_begin(struct ar_op *op)
{
	char *dir;
	struct sealed_alert mine;

	char when[64], line[256];

	if (op->fetching)
		return; /* sealed once the session brought a directory */
	if (op->resent) {
		/* a person reads it: local time with its zone */
		ar_client_zone(op->c);
		receipt_time(op->sealed->created_at, RECEIPT_TIME_FULL, when,
		    sizeof(when));
		snprintf(line, sizeof(line), _(MSG_RESENDING), when);
		ar_say(op, line);
	}
	dir = outbox_dir(&op->c->d.cfg);
	mine = *op->sealed;
	free(op->sealed);
	op->sealed = NULL;
	ar_send_unsent(op, dir);
	op->mine = resend_add(op->queue, &mine);
	free(dir);
}

static int
ar_send_check(ar_client *c, unsigned flags, char *alert_id, size_t alert_id_len)
{
	if (c == NULL || alert_id == NULL)
		return AR_E_INVAL;
	if (alert_id_len < AR_ALERT_ID_LEN)
		return AR_E_NOSPACE;
	if ((flags & AR_SEND_WAIT_ACK) && (flags & AR_SEND_WAIT_DELIVERED))
		return AR_E_INVAL;
	if (flags &
	    ~(AR_SEND_DRILL | AR_SEND_AGAIN | AR_SEND_WAIT_DELIVERED |
	        AR_SEND_WAIT_ACK | AR_SEND_ACCEPT_RELAY_ACK))
		return AR_E_INVAL;
	return AR_OK;
}

AR_API int
ar_send(ar_client *c, const char *type, const char *message,
    const struct ar_location *loc, unsigned flags, char *alert_id,
    size_t alert_id_len, int *resent)
{
	struct resend_hooks hooks = {ar_send_answered, ar_send_refused, NULL,
	    1};
	struct ar_op *op;
	char again[AR_ALERT_ID_LEN], *dir;
	int rc, was, started;

	if ((rc = ar_send_check(c, flags, alert_id, alert_id_len)) != AR_OK)
		return rc;
	snprintf(again, sizeof(again), "%s",
	    (flags & AR_SEND_AGAIN) ? alert_id : "");
	alert_id[0] = '\0';
	op = ar_op_new(c, AR_OP_SEND, NULL);
	op->flags = flags;
	op->sealed = xcalloc(1, sizeof(*op->sealed));
	rc = ar_send_prepare(op, type, message, loc,
	    (flags & AR_SEND_AGAIN) ? again : NULL, &was, op->sealed);
	if (op->a.alert_id[0] != '\0' && rc != AR_E_INVAL)
		memcpy(alert_id, op->a.alert_id, AR_ALERT_ID_LEN);
	op->resent = (rc == AR_OK || rc == AR_E_STORAGE) && was;
	if (resent != NULL)
		*resent = op->resent;
	snprintf(c->why, sizeof(c->why), "%s", op->reason);
	if (rc == AR_E_NO_DIRECTORY) {
		/* the only network step before the outbox */
		log_warnx(_(MSG_NO_DIRECTORY));
		op->fetching = 1;
		free(op->sealed);
		op->sealed = NULL;
	} else if (rc != AR_OK && rc != AR_E_STORAGE) {
		ar_op_free(op);
		return rc;
	}
	memcpy(op->alert_id, op->a.alert_id, sizeof(op->alert_id));
	/* what a signed acknowledgement must name (ack_verify.h) */
	if (op->sealed != NULL)
		ack_verify_sent(c->d.av, op->sealed->alert_id,
		    op->sealed->envelope, strlen(op->sealed->envelope));
	hooks.arg = op;
	dir = outbox_dir(&c->d.cfg);
	op->queue = resend_new(dir, c->d.cfg.nrelays, &hooks);
	free(dir);
	if (flags & (AR_SEND_WAIT_ACK | AR_SEND_WAIT_DELIVERED))
		op->follow = ar_follow_new(op, (flags & AR_SEND_WAIT_ACK) != 0,
		    (flags & AR_SEND_ACCEPT_RELAY_ACK) != 0);
	op->rop = (struct relay_op){ar_send_ready, ar_send_frame,
	    ar_send_failed, op, NULL};
	op->begin = ar_send_begin;
	op->finish = ar_send_finish;
	/* AR_E_STORAGE: under way all the same (a panic is never held
	 * back by a full disk), but not kept for a resend */
	if ((started = ar_op_start(op, c->timeout_s)) != AR_OK)
		return started;
	return rc == AR_E_STORAGE ? AR_E_STORAGE : AR_OK;
}
