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
	char word[64];
	size_t i;

	for (i = 0; i < json_array_size(events); i++)
		ar_tell_receipt(op, json_array_get(events, i), NULL);
	memset(&ev, 0, sizeof(ev));
	ev.type = AR_EV_STATE;
	ev.state = out_clean(what != NULL ? what : "open", word, sizeof(word));
	ev.text = receipt_word(ev.state);
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

/* An error frame: the exit code when it ends the request, else -1. */
static int
ar_request_refused(const json_t *o, void *arg)
{
	struct ar_op *op = arg;
	const char *code = json_str(o, "code");
	char why[256];

	if (code != NULL && strcmp(code, "unknown_alert") == 0) {
		snprintf(why, sizeof(why), _(MSG_UNKNOWN_ALERT), op->alert_id);
		ar_op_fail(op, AR_E_UNKNOWN_ALERT, code, why);
		return EXIT_FAIL;
	}
	if (op->v2 && code != NULL && strcmp(code, "bad_signature") == 0) {
		/* A relay older than cancel v2: told as a cancel, real or
		 * duress alike (duress_cancel.h); the alert stays open. */
		ar_request_cancelled(op);
		return EXIT_OK;
	}
	return -1;
}

static void
ar_request_failed(void *arg, int deadline, const char *why)
{
	struct ar_op *op = arg;
	const char *code = relay_run_code(op->run);

	if (strcmp(code, "revoked") == 0 || strcmp(code, "unknown_device") == 0)
		ar_op_fail(op, AR_E_REVOKED, code, why);
	else
		ar_op_fail(op, deadline ? AR_E_TIMEOUT : AR_E_REFUSED, code,
		    why);
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
 * follow: a watch until the alert's end (ar_follow.c). */
static int
ar_request_start(ar_client *c, int kind, const char *alert_id, json_t *frame,
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
		return ar_op_start(op, c->wait_timeout_s);
	}
	op->req = (struct relay_request){frame,
	    kind == AR_OP_CANCEL ? "cancelled" : "status", op->alert_id, NULL,
	    ar_request_answered, op, ar_request_refused, ar_request_failed};
	relay_request_op(&op->rr, &op->req, c->timeout_s, &op->rop);
	return ar_op_start(op, c->timeout_s);
}

/* The cancel frame: v1 without a PIN file, else v2 behind the PIN (a
 * duress PIN sets the flag only the relay and recipients see).  The PIN
 * is checked even when absent, so a wrong one takes the time of a right
 * one. */
static int
ar_cancel_frame(ar_client *c, const char *alert_id, const char *pin,
    json_t **frame, int *v2)
{
	struct pinfile pf;
	char *path = pinfile_path(c->d.cfg.device_key);
	enum pin_match m;
	int rc;

	*v2 = 0;
	rc = pinfile_load(path, &pf, c->why, sizeof(c->why));
	free(path);
	if (rc == 0) {
		*frame = duress_cancel_plain(&c->d, alert_id);
		return AR_OK;
	}
	if (rc < 0) /* the file is there but unusable: not a wrong PIN */
		return AR_E_CONFIG;
	m = pinfile_check(&pf, pin != NULL ? pin : "");
	if (pin == NULL || *pin == '\0')
		m = PIN_WRONG;
	sodium_memzero(&pf, sizeof(pf));
	if (m == PIN_WRONG) {
		snprintf(c->why, sizeof(c->why), "%s",
		    _("Wrong PIN. The alert is not cancelled."));
		return AR_E_PIN;
	}
	*v2 = 1;
	*frame = duress_cancel_build(&c->d, alert_id, m == PIN_DURESS);
	return AR_OK;
}

AR_API int
ar_client_needs_pin(const ar_client *c)
{
	struct pinfile pf;
	char *path, err[512];
	int rc;

	if (c == NULL)
		return 0;
	path = pinfile_path(c->d.cfg.device_key);
	rc = pinfile_load(path, &pf, err, sizeof(err));
	free(path);
	sodium_memzero(&pf, sizeof(pf));
	/* an unusable one: ar_cancel says why */
	return rc > 0;
}

AR_API int
ar_cancel(ar_client *c, const char *alert_id, const char *pin)
{
	json_t *frame;
	int rc, v2;

	if (c == NULL || alert_id == NULL || !alert_id_valid(alert_id))
		return AR_E_INVAL;
	c->why[0] = '\0';
	if ((rc = ar_cancel_frame(c, alert_id, pin, &frame, &v2)) != AR_OK)
		return rc;
	return ar_request_start(c, AR_OP_CANCEL, alert_id, frame, v2, 0);
}

AR_API int
ar_status(ar_client *c, const char *alert_id)
{
	json_t *frame;

	if (c == NULL || alert_id == NULL || !alert_id_valid(alert_id))
		return AR_E_INVAL;
	c->why[0] = '\0';
	frame = json_pack("{s:s, s:s}", "type", "status", "alert_id", alert_id);
	return ar_request_start(c, AR_OP_STATUS, alert_id, frame, 0, 0);
}

AR_API int
ar_follow(ar_client *c, const char *alert_id, unsigned flags)
{
	if (c == NULL || alert_id == NULL || !alert_id_valid(alert_id) ||
	    (flags & ~AR_FOLLOW_ACCEPT_RELAY_ACK) != 0)
		return AR_E_INVAL;
	c->why[0] = '\0';
	return ar_request_start(c, AR_OP_FOLLOW, alert_id, NULL, 0, flags);
}
