/*
 * A device's other requests: status, list and cancel of its alerts (each
 * one store script), and the signed directory (conn_int.h).
 */
#include "audit.h"
#include "conn_int.h"
#include "dispatch.h"
#include "duress.h"
#include "spool.h"

/* The cancel, in the audit log: by the device, from where.  A duress
 * cancel (the script's reply says so, duress.c) is recorded as what it
 * is, alert.duress: the log is the relay's, never shown to the device.
 * One the master made but too few replicas have yet is "unconfirmed"
 * (why: what the master did): the device was told to try again, and
 * the retry finds it done ("already").  One the master refused is
 * "refused" whether or not the replicas have it: nothing to confirm. */
static void
conn_request_audit_cancel(struct conn *c, const json_t *reply, const char *r,
    int durable)
{
	char actor[ID_MAX + 8], object[ID_MAX + 8];
	const char *result = "unconfirmed";

	snprintf(actor, sizeof(actor), "device:%s", c->device_id);
	snprintf(object, sizeof(object), "alert:%s", c->req_alert_id);
	if (json_is_true(json_object_get(reply, "duress"))) {
		audit_relay(c->relay, "alert.duress", object,
		    durable ? "ok" : result, c->peer, "tls", actor,
		    durable ? NULL : r);
		return;
	}
	if (r == NULL || strcmp(r, "cancelled") != 0)
		result = "refused";
	else if (durable)
		result = "ok";
	audit_relay(c->relay, "alert.cancel", object, result, c->peer, "tls",
	    actor, r);
}

/* What a cancel did, in the log and the audit log, whether or not the
 * replicas have it (a duress cancel's own line came first, duress.c). */
static void
conn_request_cancel_record(struct conn *c, const json_t *reply, const char *r,
    int durable)
{
	log_info("alert cancelled alert=%s device=%s result=%s%s",
	    c->req_alert_id, c->device_id, r ? r : "?",
	    durable || r == NULL || strcmp(r, "cancelled") != 0
	        ? ""
	        : " unconfirmed");
	conn_request_audit_cancel(c, reply, r, durable);
}

/* The "cancelled" receipt goes out in the cancelling session always,
 * just before the answer, and its copy from the receipts channel never
 * (conn_receipt): a duress cancel and a real one then send the same
 * records whatever the timing of the channel. */
static void
conn_request_cancel_receipt(struct conn *c, const json_t *reply)
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

void
conn_unknown_alert(struct conn *c)
{
	struct spool *sp = c->relay->spool;

	if (sp != NULL && spool_holds(sp, c->req_alert_id))
		conn_error(c, "unavailable",
		    "the alert is still in this relay's spool; try again", 0);
	else
		conn_error(c, "unknown_alert", "no such alert of this device",
		    0);
}

/* Answers of status, list and cancel go out as the script gave them,
 * under the frame type asked for. */
void
conn_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct conn *c = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));
	char type[16];

	c->req = NULL;
	snprintf(type, sizeof(type), "%s", c->req_type);
	/* no receipt with the answer (refused, already cancelled, Redis
	 * lost, too few replicas): the channel's copy, if any comes, is
	 * the device's one */
	if (strcmp(type, "cancel") == 0 &&
	    (err != NULL || !json_is_object(json_object_get(reply, "receipt"))))
		conn_cancel_skip_take(c, c->req_alert_id);
	/* too few replicas: recorded as done, answered "try again" */
	if (reply != NULL && err != NULL && strcmp(type, "cancel") == 0 &&
	    (r == NULL || strcmp(r, "unknown") != 0))
		conn_request_cancel_record(c, reply, r, 0);
	if (reply == NULL || err != NULL) {
		log_warnx("conn %llu: %s: %s", c->id, type, err);
		conn_error(c, "unavailable", "try again", 0);
	} else if (r != NULL && strcmp(r, "unknown") == 0)
		conn_unknown_alert(c);
	else {
		json_t *out = json_deep_copy(reply);
		json_t *alerts = json_object_get(out, "alerts");

		/* Lua's cjson writes an empty list as {} */
		if (json_is_object(alerts))
			json_object_set_new(out, "alerts", json_array());
		if (strcmp(type, "cancel") == 0) {
			conn_request_cancel_receipt(c, reply);
			json_object_clear(out);
			json_object_set_new(out, "alert_id",
			    json_string(c->req_alert_id));
			conn_request_cancel_record(c, reply, r, 1);
			snprintf(type, sizeof(type), "cancelled");
		}
		json_object_del(out, "r");
		json_object_set_new(out, "type", json_string(type));
		conn_send(c, out);
	}
	conn_process(c);
}

void
conn_status(struct conn *c, const json_t *o)
{
	const char *aid = json_str(o, "alert_id");

	if (aid == NULL || !alert_id_valid(aid)) {
		conn_error(c, "bad_frame", "status needs an alert_id", 1);
		return;
	}
	snprintf(c->req_type, sizeof(c->req_type), "status");
	snprintf(c->req_alert_id, sizeof(c->req_alert_id), "%s", aid);
	c->req = store_eval(c->relay->store, script_status,
	    json_pack("{s:s, s:s}", "aid", aid, "dev", c->device_id),
	    conn_answer_cb, c);
}

void
conn_list(struct conn *c, const json_t *o)
{
	json_t *l = json_object_get(o, "limit");
	json_int_t limit = json_is_integer(l) ? json_integer_value(l) : 20;
	char lim[8];

	if (limit < 1 || limit > 100) {
		conn_error(c, "bad_frame", "limit must be 1..100", 1);
		return;
	}
	snprintf(lim, sizeof(lim), "%d", (int)limit);
	snprintf(c->req_type, sizeof(c->req_type), "list");
	c->req = store_eval(c->relay->store, script_list,
	    json_pack("{s:s, s:s}", "dev", c->device_id, "limit", lim),
	    conn_answer_cb, c);
}

/* Signed by the device like an envelope, with its own context. */
void
conn_cancel(struct conn *c, const json_t *o)
{
	const char *b64 = json_str(o, "cancel"), *sigtext = json_str(o, "sig");
	const struct device_entry *dev;
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	json_t *req = NULL;
	const char *aid, *devid;
	char now[RFC3339_LEN];
	size_t len;
	int v2 = 0, duress = 0;

	/* a device revoked since it authenticated cancels nothing */
	if ((dev = conn_signed_device(c)) == NULL)
		return;
	if (conn_signed_decode(b64, sigtext, 0, &json, &len, sig) != 0) {
		conn_error(c, "bad_envelope",
		    "cancel frame needs base64 cancel and sig", 1);
		return;
	}
	/* v2: behind the device's PIN, with a duress flag (duress.h) */
	if (cancel_verify((const char *)json, len, sig, dev->sign_pk) != 0 &&
	    !(v2 = sig_verify_ctx(SIGCTX_CANCEL2, json, len, sig,
	               dev->sign_pk) == 0)) {
		free(json);
		conn_error(c, "bad_signature",
		    "cancel signature does not verify", 1);
		return;
	}
	req = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, NULL);
	free(json);
	aid = json_str(req, "alert_id");
	devid = json_str(req, "device_id");
	if (v2)
		duress = duress_flag(req);
	if (aid == NULL || !alert_id_valid(aid) || devid == NULL ||
	    strcmp(devid, c->device_id) != 0 || duress < 0) {
		json_decref(req);
		conn_error(c, "bad_envelope", "cancel is malformed", 1);
		return;
	}
	snprintf(c->req_alert_id, sizeof(c->req_alert_id), "%s", aid);
	snprintf(c->req_type, sizeof(c->req_type), "cancel");
	conn_cancel_skip_add(c, aid);
	/* its first deliveries, if not out yet, now read its state */
	dispatch_fresh_forget(c->relay->dispatch, aid);
	json_decref(req);
	/* The device's own words, for every recipient to check: the relay
	 * alone cannot make a cancel (or a duress) that verifies. */
	json_decref(c->req_cancel);
	c->req_cancel = json_pack("{s:s, s:s}", "signed", b64, "sig", sigtext);
	if (v2) {
		duress_cancel(c, duress);
		return;
	}
	time_rfc3339_ms(now, now_ms());
	req = json_pack("{s:s, s:s, s:s}", "aid", c->req_alert_id, "dev",
	    c->device_id, "now", now);
	json_object_update(req, c->req_cancel);
	/* answered once replicas have it, or "unavailable" (a repeat is
	 * "already") */
	c->req = store_eval_replicated(c->relay->store, script_cancel, req,
	    c->relay->cfg->redis_min_replicas,
	    c->relay->cfg->redis_timeout * 1000, conn_answer_cb, c);
}

/* The signed directory, as the organisation signed it; only its version
 * when the device already has that one. */
void
conn_directory(struct conn *c, const json_t *o)
{
	const struct directory *d = c->relay->cfg->dir;
	json_t *have = json_object_get(o, "have");

	/* Each answer may be megabytes for a request of 30 bytes: one at a
	 * time, and a device asks only once per session anyway. */
	if (conn_flow_directory_pending(&c->flow)) {
		conn_error(c, "directory_pending",
		    "the previous directory is still being sent", 1);
		return;
	}
	if (d == NULL) {
		conn_error(c, "no_directory",
		    "this relay has no signed directory", 0);
		return;
	}
	if (json_is_integer(have) && json_integer_value(have) == d->version) {
		conn_send(c,
		    json_pack("{s:s, s:I}", "type", "directory", "version",
		        (json_int_t)d->version));
		return;
	}
	if (conn_dirframe_push(bufferevent_get_output(c->bev), d) != 0) {
		log_warnx("conn %llu: directory: out of memory", c->id);
		conn_error(c, "unavailable", "try again", 0);
		return;
	}
	conn_flow_directory_queued(&c->flow);
	conn_flow_full(&c->flow, c->relay->cfg->send_timeout);
}
