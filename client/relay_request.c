/*
 * One request and its answer over an authenticated session, with retries
 * (relay_request.h).
 */
#include <string.h>

#include "alertctl.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "relay_request.h"
#include "relay_run.h"

static void
relay_request_ready(struct relay_session *s, void *arg)
{
	struct relay_request_run *rr = arg;
	const json_t *f = rr->req->frame_now != NULL
	    ? rr->req->frame_now(rr->req->arg)
	    : rr->req->frame;

	if (relay_session_send(s, f) != 0) {
		relay_session_too_large(s, json_str(f, "type"));
		return;
	}
	relay_session_expect(s, rr->req->answer);
}

/* An error frame ends the request only when the caller's refused()
 * says so; else it is this relay's word, "unknown_alert" too (another
 * relay may hold the alert): the run asks the next relay. */
static void
relay_request_error(struct relay_session *s, struct relay_request_run *rr,
    const json_t *o)
{
	int rc;

	if (rr->req->refused != NULL &&
	    (rc = rr->req->refused(o, rr->req->arg)) >= 0)
		relay_session_done(s, rc);
	else
		relay_session_error(s, o);
}

static void
relay_request_frame(struct relay_session *s, const char *type, const json_t *o,
    void *arg)
{
	struct relay_request_run *rr = arg;
	const char *id = json_str(o, "alert_id");

	if (strcmp(type, rr->req->answer) == 0) {
		if (rr->req->alert_id != NULL &&
		    (id == NULL || strcmp(id, rr->req->alert_id) != 0))
			relay_session_fail(s, RELAY_RETRY,
			    "relay answered %s for another alert", type);
		else
			relay_session_done(s,
			    rr->req->answered(o, rr->req->arg));
	} else if (strcmp(type, "error") == 0)
		relay_request_error(s, rr, o);
	else if (strcmp(type, "receipt") == 0)
		; /* of some alert of ours; not what we asked */
	else
		relay_session_unexpected(s, type);
}

static void
relay_request_failed(void *arg, int deadline, const char *why)
{
	struct relay_request_run *rr = arg;

	if (rr->req->failed != NULL)
		rr->req->failed(rr->req->arg, deadline, why);
	else if (!deadline && rr->req->alert_id != NULL &&
	    strcmp(relay_run_code(rr->run), "unknown_alert") == 0)
		/* every relay said so, the last this */
		log_errorx(_(MSG_UNKNOWN_ALERT), rr->req->alert_id);
	else if (deadline)
		log_errorx(_(MSG_REQUEST_DEADLINE), rr->req->failure,
		    rr->timeout_s, why);
	else
		log_errorx(_(MSG_REQUEST_REFUSED), rr->req->failure, why);
}

void
relay_request_op(struct relay_request_run *rr, const struct relay_request *req,
    long timeout_s, struct relay_op *op)
{
	rr->req = req;
	rr->timeout_s = timeout_s;
	rr->run = NULL;
	*op = (struct relay_op){relay_request_ready, relay_request_frame,
	    relay_request_failed, rr, NULL};
}

int
relay_request_run(struct device *d, long timeout_s,
    const struct relay_request *req)
{
	struct relay_request_run rr;
	struct relay_op op;
	struct relay_run *r;
	int rc;

	relay_request_op(&rr, req, timeout_s, &op);
	if ((r = relay_run_new(&d->cfg, d->sk, &op, timeout_s, 0)) == NULL)
		return EXIT_FAIL;
	rr.run = r;
	rc = relay_run_go(r);
	relay_run_free(r);
	return rc;
}
