/*
 * A device's cancel, real or duress (duress.c), from its signed frame to
 * its records.  Once its script is sent, Redis does what it does whether
 * or not the device stays, so the cancel is a job of its own (struct
 * conn_cancel): it keeps what its log line and audit record need, and
 * its connection, if that goes, only stops hearing the answer.
 */
#include "conn_int.h"
#include "dispatch.h"
#include "duress.h"

/* The script's refusal that wrote nothing (script_cancel,
 * script_duress), answered without WAIT.  "already" wrote nothing
 * either, but the device reads it as "cancelled", which may be a try
 * the replicas do not have yet (it was told to try again): it waits. */
const char *const conn_cancel_at_once[] = {"unknown", NULL};

/* The cancel, in the audit log: by the device, from where.  A duress
 * cancel (the script's reply says so, duress.c) is recorded as what it
 * is, alert.duress: the log is the relay's, never shown to the device.
 * One the master made but too few replicas have yet is "unconfirmed"
 * (why: what the master did): the device was told to try again, and
 * the retry finds it done ("already").  One the master refused is
 * "refused" whether or not the replicas have it: nothing to confirm. */
static void
conn_cancel_audit(const struct conn_cancel *k, const json_t *reply,
    const char *r, int durable)
{
	const char *result = "unconfirmed";

	if (json_is_true(json_object_get(reply, "duress"))) {
		conn_job_audit(&k->who, "alert.duress", "alert",
		    durable ? "ok" : result, durable ? NULL : r);
		return;
	}
	if (r == NULL || strcmp(r, "cancelled") != 0)
		result = "refused";
	else if (durable)
		result = "ok";
	conn_job_audit(&k->who, "alert.cancel", "alert", result, r);
}

/* What a cancel did, in the log and the audit log, whether or not the
 * replicas have it (a duress cancel's own line came first, duress.c)
 * and whether or not its device is still there. */
static void
conn_cancel_record(const struct conn_cancel *k, const json_t *reply,
    const char *r, int durable)
{
	log_info("alert cancelled alert=%s device=%s result=%s%s", k->who.id,
	    k->who.device_id, r ? r : "?",
	    durable || r == NULL || strcmp(r, "cancelled") != 0
	        ? ""
	        : " unconfirmed");
	conn_cancel_audit(k, reply, r, durable);
}

/* The "cancelled" receipt goes out in the cancelling session always,
 * just before the answer, and its copy from the receipts channel never
 * (conn_receipt): a duress cancel and a real one then send the same
 * records whatever the timing of the channel. */
static void
conn_cancel_receipt(struct conn *c, const json_t *reply)
{
	const json_t *receipt = json_object_get(reply, "receipt");
	json_t *frame;

	if (!json_is_object(receipt))
		return;
	frame = json_deep_copy(receipt);
	json_object_set_new(frame, "type", json_string("receipt"));
	json_object_set_new(frame, "alert_id", json_string(c->req_alert_id));
	conn_send(c, frame);
}

/* Awaits the channel's copy of one more cancel; the oldest awaited is
 * let go when all are (at worst the device hears a receipt twice). */
static void
conn_cancel_skip_add(struct conn *c, const char *alert_id)
{
	size_t i;

	for (i = 0; i < CONN_CANCEL_SKIPS && c->cancel_skip[i][0] != '\0'; i++)
		;
	if (i == CONN_CANCEL_SKIPS) {
		memmove(c->cancel_skip[0], c->cancel_skip[1],
		    sizeof(c->cancel_skip) - sizeof(c->cancel_skip[0]));
		i = CONN_CANCEL_SKIPS - 1;
	}
	snprintf(c->cancel_skip[i], sizeof(c->cancel_skip[i]), "%s", alert_id);
}

int
conn_cancel_skip_take(struct conn *c, const char *alert_id)
{
	size_t i;

	for (i = 0; i < CONN_CANCEL_SKIPS; i++)
		if (strcmp(c->cancel_skip[i], alert_id) == 0) {
			c->cancel_skip[i][0] = '\0';
			return 1;
		}
	return 0;
}

/* The device's answer, to a device still there; over: the cancel was
 * one refusal too many (conn_cancel_over), the connection is closed. */
static void
conn_cancel_answer(struct conn *c, json_t *reply, const char *err,
    const char *r, int over)
{
	/* no receipt with the answer (refused, already cancelled, Redis
	 * lost, too few replicas): the channel's copy, if any comes, is
	 * the device's one */
	if (err != NULL || !json_is_object(json_object_get(reply, "receipt")))
		conn_cancel_skip_take(c, c->req_alert_id);
	if (over)
		conn_error(c, CONN_REFUSE_CODE, CONN_REFUSE_MESSAGE, 1);
	else if (reply == NULL || err != NULL) {
		log_warnx("conn %llu: cancel: %s", c->id, err);
		conn_error(c, "unavailable", "try again", 0);
	} else if (r != NULL && strcmp(r, "unknown") == 0)
		conn_unknown_alert(c);
	else {
		conn_cancel_receipt(c, reply);
		conn_send(c,
		    json_pack("{s:s, s:s}", "alert_id", c->req_alert_id, "type",
		        "cancelled"));
	}
	conn_process(c);
}

static void
conn_cancel_free(struct conn_cancel *k)
{
	json_decref(k->signed_cancel);
	conn_job_release(&k->who);
	free(k);
}

/* Nothing done, answered "cancelled" (conn_cancel_at_once): the
 * alert was closed before.  A duress cancel of an alert cancelled
 * before says "already" too, but with the duress flag: the alarm. */
static int
conn_cancel_again(const json_t *reply, const char *r)
{
	return r != NULL && strcmp(r, "already") == 0 &&
	    !json_is_true(json_object_get(reply, "duress"));
}

/* A device that lost its answer cancels again and must hear
 * "cancelled" again, so "already" is no refusal to the device; but a
 * stolen one may send it thousands of times a second, each a Redis
 * script.  Counted towards closing as a refusal (conn_refuse.h), the
 * duress flag's too: both kinds close alike.  1: one too many. */
static int
conn_cancel_over(struct conn *c, const char *r, const char *err)
{
	/* "unavailable" (err) is counted where it is sent */
	return c != NULL && err == NULL && r != NULL &&
	    strcmp(r, "already") == 0 && conn_refuse_count(c, "already");
}

/* Whether the cancel's line and record are written: a repeat only as
 * the first of its session or within the device's budget of refusals
 * said (conn_refuse_say; the rest counted, the one that closes said in
 * the close), or once its connection is gone (its frames went with it:
 * one per session).  Recorded always: an unknown alert apart, whatever
 * changed something. */
static int
conn_cancel_said(struct conn *c, const json_t *reply, const char *r, int over)
{
	if (reply == NULL || (r != NULL && strcmp(r, "unknown") == 0))
		return 0;
	/* a duress cancel of an alert cancelled before is no repeat: it
	 * raised the alarm, so it is always said and not counted here (the
	 * metric is the admin's, who sees duress counted elsewhere too) */
	if (!conn_cancel_again(reply, r))
		return 1;
	metrics.cancel_repeats++;
	return !over && (c == NULL || conn_refuse_say(c, "already"));
}

/* Recorded first, answered if its device is still there: too few
 * replicas (err with the reply) is recorded as done, answered "try
 * again". */
void
conn_cancel_done_cb(json_t *reply, const char *err, void *arg)
{
	struct conn_cancel *k = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));
	struct conn *c = k->who.c;
	int over = conn_cancel_over(c, r, err);

	k->req = NULL;
	if (conn_cancel_said(c, reply, r, over))
		conn_cancel_record(k, reply, r, err == NULL);
	conn_job_end(&k->who);
	if (c != NULL)
		conn_cancel_answer(c, reply, err, r, over);
	else if (err != NULL)
		log_warnx("cancel alert=%s device=%s: %s (its connection is "
		          "closed)",
		    k->who.id, k->who.device_id, err);
	conn_cancel_free(k);
}

static struct conn_cancel *
conn_cancel_new(struct conn *c, const char *b64, const char *sigtext)
{
	struct conn_cancel *k = xcalloc(1, sizeof(*k));

	conn_job_init(&k->who, c, c->req_alert_id);
	k->done = conn_cancel_done_cb;
	/* The device's own words, for every recipient to check: the relay
	 * alone cannot make a cancel (or a duress) that verifies. */
	k->signed_cancel =
	    json_pack("{s:s, s:s}", "signed", b64, "sig", sigtext);
	conn_job_start(&k->who);
	return k;
}

/* v1: answered once replicas have it, or "unavailable" (a repeat is
 * "already"). */
static void
conn_cancel_v1(struct conn_cancel *k)
{
	char now[RFC3339_LEN];
	json_t *req;

	time_rfc3339_ms(now, now_ms());
	req = json_pack("{s:s, s:s, s:s}", "aid", k->who.id, "dev",
	    k->who.device_id, "now", now);
	json_object_update(req, k->signed_cancel);
	k->req = store_eval_replicated(k->who.relay->store, script_cancel, req,
	    k->who.relay->cfg->redis_min_replicas,
	    k->who.relay->cfg->redis_timeout * 1000, conn_cancel_at_once,
	    conn_cancel_done_cb, k);
}

/* The cancel frame's signed content: 0 with its alert id in
 * c->req_alert_id and *v2, *duress set; else -1, the error sent. */
static int
conn_cancel_verify(struct conn *c, const char *b64, const char *sigtext,
    int *v2, int *duress)
{
	const struct device_entry *dev;
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	json_t *req;
	const char *aid, *devid;
	size_t len;

	/* a device revoked since it authenticated cancels nothing */
	if ((dev = conn_signed_device(c)) == NULL)
		return -1;
	if (conn_signed_decode(b64, sigtext, 0, &json, &len, sig) != 0) {
		conn_error(c, "bad_envelope",
		    "cancel frame needs base64 cancel and sig", 1);
		return -1;
	}
	/* v2: behind the device's PIN, with a duress flag (duress.h) */
	if (cancel_verify((const char *)json, len, sig, dev->sign_pk) != 0 &&
	    !(*v2 = sig_verify_ctx(SIGCTX_CANCEL2, json, len, sig,
	                dev->sign_pk) == 0)) {
		free(json);
		conn_error(c, "bad_signature",
		    "cancel signature does not verify", 1);
		return -1;
	}
	req = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, NULL);
	free(json);
	aid = json_str(req, "alert_id");
	devid = json_str(req, "device_id");
	*duress = *v2 ? duress_flag(req) : 0;
	if (aid == NULL || !alert_id_valid(aid) || devid == NULL ||
	    strcmp(devid, c->device_id) != 0 || *duress < 0) {
		json_decref(req);
		conn_error(c, "bad_envelope", "cancel is malformed", 1);
		return -1;
	}
	snprintf(c->req_alert_id, sizeof(c->req_alert_id), "%s", aid);
	json_decref(req);
	return 0;
}

/* Signed by the device like an envelope, with its own context. */
void
conn_cancel(struct conn *c, const json_t *o)
{
	const char *b64 = json_str(o, "cancel"), *sigtext = json_str(o, "sig");
	struct conn_cancel *k;
	int v2 = 0, duress = 0;

	if (conn_cancel_verify(c, b64, sigtext, &v2, &duress) != 0)
		return;
	snprintf(c->req_type, sizeof(c->req_type), "cancel");
	conn_cancel_skip_add(c, c->req_alert_id);
	/* its first deliveries, if not out yet, now read its state */
	dispatch_fresh_forget(c->relay->dispatch, c->req_alert_id);
	k = conn_cancel_new(c, b64, sigtext);
	if (v2)
		duress_cancel(k, duress);
	else
		conn_cancel_v1(k);
}
