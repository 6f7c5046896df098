/*
 * The operations that are one request and its answer (ar_cancel,
 * ar_status), on alertctl's request engine (relay_request.h), and
 * ar_follow, each a relay run on the client's loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alertctl.h"
#include "ar_internal.h"
#include "duress_cancel.h"
#include "frame.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "out.h"
#include "pinfile.h"
#include "receipt.h"
#include "relay_request.h"
#include "util.h"
#include "xmalloc.h"

/* The cancel's answer; the same for a real and a duress cancel. */
static void
ar_request_cancelled(struct ar_op *op)
{
	struct ar_event ev;
	char line[256];

	snprintf(line, sizeof(line), _(MSG_CANCELLED), op->alert_id);
	memset(&ev, 0, sizeof(ev));
	ev.type = AR_EV_CANCELLED;
	ev.event = "cancelled";
	ev.text = line;
	ar_emit(op, &ev);
}

/* A status answer: its history as receipt events, then the state. */
static void
ar_request_status(struct ar_op *op, const json_t *o)
{
	json_t *events = json_object_get(o, "events");
	const char *what = json_str(o, "state");
	struct ar_event ev;
	char word[64], text[RECEIPT_WORD_MAX];
	size_t i;

	for (i = 0; i < json_array_size(events); i++)
		ar_tell_receipt(op, json_array_get(events, i), NULL);
	memset(&ev, 0, sizeof(ev));
	ev.type = AR_EV_STATE;
	ev.state = out_clean(what != NULL ? what : "open", word, sizeof(word));
	ev.text = receipt_word(ev.state, text, sizeof(text));
	ar_emit(op, &ev);
}

/* The answer, for the request engine (relay_request.h): the exit code. */
static int
ar_request_answered(const json_t *o, void *arg)
{
	struct ar_op *op = arg;

	if (op->kind == AR_OP_CANCEL)
		ar_request_cancelled(op);
	else
		ar_request_status(op, o);
	return EXIT_OK;
}

/* An error frame ends no request: every code, "unknown_alert" too, is
 * that relay's word (another may hold the alert), and the run asks the
 * next relay (relay_run.h).  A relay older than cancel v2 answers a v2
 * cancel bad_signature: remembered, to tell it as a cancel should no
 * relay cancel it (ar_request_finish). */
static int
ar_request_refused(const json_t *o, void *arg)
{
	struct ar_op *op = arg;
	const char *code = json_str(o, "code");

	if (op->v2 && code != NULL && strcmp(code, "bad_signature") == 0)
		op->older_relay = 1;
	return -1;
}

static void
ar_request_failed(void *arg, int deadline, const char *why)
{
	struct ar_op *op = arg;
	const char *code = relay_run_code(op->run);
	int status = ar_outcome_failed(code, deadline);
	char unknown[256];

	if (status == AR_E_UNKNOWN_ALERT) {
		snprintf(unknown, sizeof(unknown), _(MSG_UNKNOWN_ALERT),
		    op->alert_id);
		why = unknown;
	}
	ar_op_fail(op, status, code, why);
}

/* A cancel no relay answered "cancelled", after a relay older than
 * cancel v2 refused it: told as a cancel, real or duress alike
 * (duress_cancel.h), whatever the others answered and whenever the run
 * ended; the alert stays open there, the safe side for a duress cancel. */
static void
ar_request_finish(struct ar_op *op, int exit_code)
{
	if (exit_code != EXIT_OK && op->older_relay) {
		ar_request_cancelled(op);
		exit_code = EXIT_OK;
	}
	op->status = ar_outcome_ended(op->status, exit_code, AR_E_TIMEOUT);
}

static void
ar_follow_op_ready(struct relay_session *s, void *arg)
{
	struct ar_op *op = arg;

	ar_follow_ready(op->follow, s);
}

static void
ar_follow_op_frame(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	struct ar_op *op = arg;

	ar_follow_frame(op->follow, s, type, o);
}

/* cancel and status: one request and its answer (relay_request.h);
 * follow: a watch until the alert's end (ar_follow.c).  Not started. */
static struct ar_op *
ar_request_new(ar_client *c, int kind, const char *alert_id, json_t *frame,
    int v2, unsigned flags)
{
	struct ar_op *op = ar_op_new(c, kind, alert_id);

	op->frame = frame;
	op->v2 = v2;
	if (kind == AR_OP_FOLLOW) {
		op->rop = (struct relay_op){ar_follow_op_ready,
		    ar_follow_op_frame, ar_request_failed, op, NULL};
		op->follow = ar_follow_new(op, 1,
		    (flags & AR_FOLLOW_ACCEPT_RELAY_ACK) != 0);
		return op;
	}
	op->req = (struct relay_request){frame,
	    kind == AR_OP_CANCEL ? "cancelled" : "status", op->alert_id, NULL,
	    ar_request_answered, op, ar_request_refused, ar_request_failed,
	    NULL};
	relay_request_op(&op->rr, &op->req, c->timeout_s, &op->rop);
	if (kind == AR_OP_CANCEL)
		op->finish = ar_request_finish;
	return op;
}

/* The PIN checked (ar_pin.c), on the loop: a wrong one ends the cancel
 * with nothing sent; else the v2 frame goes, its duress flag seen only
 * by the relay and the recipients. */
static void
ar_cancel_checked(struct ar_op *op, enum pin_match m)
{
	ar_pin_free(op->pin);
	op->pin = NULL;
	if (m == PIN_WRONG) {
		ar_op_fail(op, AR_E_PIN, NULL,
		    _("Wrong PIN. The alert is not cancelled."));
		ar_op_end(op, EXIT_FAIL);
		return;
	}
	op->frame =
	    duress_cancel_build(&op->c->d, op->alert_id, m == PIN_DURESS);
	op->req.frame = op->frame;
	ar_op_release(op);
}

/* A cancel behind the PIN file pf: its run is made now and held until
 * the PIN is checked, off the loop. */
static int
ar_cancel_pin(ar_client *c, const char *alert_id, const struct pinfile *pf,
    const char *pin)
{
	struct ar_op *op =
	    ar_request_new(c, AR_OP_CANCEL, alert_id, NULL, 1, 0);

	op->held = 1;
	if ((op->pin = ar_pin_start(op, pf, pin, ar_cancel_checked)) == NULL) {
		ar_op_free(op);
		return AR_E_LOOP;
	}
	return ar_op_start(op, c->timeout_s);
}

/* A cancel that asks no PIN: v1 without a PIN file; after a clear with
 * the duress PIN (pinfile.h, forced), v2 with the duress flag, asking no
 * PIN as a device without PINs does. */
static int
ar_cancel_no_pin(ar_client *c, const char *alert_id, int forced)
{
	json_t *frame = forced ? duress_cancel_build(&c->d, alert_id, 1)
	                       : duress_cancel_plain(&c->d, alert_id);

	return ar_op_start(ar_request_new(c, AR_OP_CANCEL, alert_id, frame,
	                       forced, 0),
	    c->timeout_s);
}

AR_API int
ar_client_needs_pin(const ar_client *c)
{
	struct pinfile pf;
	char *path, err[512];
	int rc, shows;

	if (c == NULL)
		return 0;
	path = pinfile_path(c->d.cfg.device_key);
	rc = pinfile_load(path, &pf, err, sizeof(err));
	free(path);
	/* an unusable one: ar_cancel says why */
	shows = rc > 0 && pinfile_shows_pins(&pf);
	sodium_memzero(&pf, sizeof(pf));
	return shows;
}

/* v1 without a PIN file, else v2 behind the PIN, checked even when
 * absent, so that a missing one takes the time of a wrong one; v2 under
 * duress without a PIN once a duress PIN cleared the PINs. */
AR_API int
ar_cancel(ar_client *c, const char *alert_id, const char *pin)
{
	struct pinfile pf;
	char *path;
	int rc;

	if (c == NULL || alert_id == NULL || !alert_id_valid(alert_id))
		return AR_E_INVAL;
	c->why[0] = '\0';
	path = pinfile_path(c->d.cfg.device_key);
	rc = pinfile_load(path, &pf, c->why, sizeof(c->why));
	free(path);
	if (rc < 0) /* the file is there but unusable: not a wrong PIN */
		return AR_E_CONFIG;
	if (rc == 0 || !pinfile_shows_pins(&pf))
		rc = ar_cancel_no_pin(c, alert_id, rc > 0);
	else
		rc = ar_cancel_pin(c, alert_id, &pf, pin);
	sodium_memzero(&pf, sizeof(pf));
	return rc;
}

AR_API int
ar_status(ar_client *c, const char *alert_id)
{
	json_t *frame;

	if (c == NULL || alert_id == NULL || !alert_id_valid(alert_id))
		return AR_E_INVAL;
	c->why[0] = '\0';
	frame = json_pack("{s:s, s:s}", "type", "status", "alert_id", alert_id);
	return ar_op_start(ar_request_new(c, AR_OP_STATUS, alert_id, frame, 0,
	                       0),
	    c->timeout_s);
}

AR_API int
ar_follow(ar_client *c, const char *alert_id, unsigned flags)
{
	if (c == NULL || alert_id == NULL || !alert_id_valid(alert_id) ||
	    (flags & ~AR_FOLLOW_ACCEPT_RELAY_ACK) != 0)
		return AR_E_INVAL;
	c->why[0] = '\0';
	return ar_op_start(ar_request_new(c, AR_OP_FOLLOW, alert_id, NULL, 0,
	                       flags),
	    c->wait_timeout_s);
}
