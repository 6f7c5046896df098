/*
 * A device's "checkin" frame: start, extend or done (checkin.h), each
 * signed by the device; start and extend carry the prepared alert.
 * Checked here, then one script (checkin_scripts.h) over c->req, so
 * answers keep the order of the frames.
 */
#include "checkin.h"
#include "checkin_int.h"
#include "checkin_req.h"
#include "checkin_scripts.h"
#include "conn_int.h"

/* The prepared alert stays in Redis this long after its release time,
 * and a finished check-in a week, then they go. */
#define CHECKIN_TTL_AFTER_S (7L * 86400)

struct checkin_ask {
	struct checkin_req r;
	char *env64, *sig64; /* start and extend */
	char hash[crypto_hash_sha256_BYTES * 2 + 1];
};

static void
checkin_conn_refuse(struct conn *c, const char *code, const char *message,
    const char *key, const char *value)
{
	json_t *e = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
	    "message", message);

	if (key != NULL && value != NULL)
		json_object_set_new(e, key, json_string(value));
	conn_refuse_send(c, e);
}

/* The device hears its check-in is set (or ended) only once Redis has
 * it as the relay's configuration asks. */
static void
checkin_conn_told(struct conn *c)
{
	conn_send(c,
	    json_pack("{s:s, s:s, s:s}", "type", "checkin", "checkin_id",
	        c->req_alert_id, "state", c->req_state));
}

static void
checkin_conn_replicated_cb(int ok, const char *err, void *arg)
{
	struct conn *c = arg;

	c->req = NULL;
	if (ok)
		checkin_conn_told(c);
	else {
		log_warnx("checkin %s checkin=%s device=%s: not on enough "
		          "replicas: %s",
		    c->req_type, c->req_alert_id, c->device_id, err);
		conn_error(c, "unavailable", "try again", 0);
	}
	conn_process(c);
}

/* As an alert (ingest.c): a start, extend or done that a failover could
 * lose is not answered as done.  0: waiting; -1: nothing to wait for. */
static int
checkin_conn_replicate(struct conn *c)
{
	const struct relay_config *cfg = c->relay->cfg;

	if (cfg->redis_min_replicas <= 0)
		return -1;
	c->req = store_wait_replicas(c->relay->store, cfg->redis_min_replicas,
	    cfg->redis_timeout * 1000, checkin_conn_replicated_cb, c);
	return 0;
}

static void
checkin_conn_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct conn *c = arg;
	const char *r = json_str(reply, "r");

	c->req = NULL;
	if (reply == NULL || r == NULL) {
		log_warnx("conn %llu: checkin: %s", c->id,
		    err != NULL ? err : "no answer");
		conn_error(c, "unavailable", "try again", 0);
	} else if (strcmp(r, "unknown") == 0)
		conn_error(c, "unknown_checkin",
		    "no such check-in of this device", 0);
	else if (strcmp(r, "active") == 0)
		checkin_conn_refuse(c, "checkin_active",
		    "this device already has an active check-in", "checkin_id",
		    json_str(reply, "checkin_id"));
	else if (strcmp(r, "missed") == 0)
		checkin_conn_refuse(c, "checkin_missed",
		    "too late: the deadline and grace have passed, the alert "
		    "is raised",
		    "alert_id", json_str(reply, "alert_id"));
	else if (strcmp(r, "unraised") == 0)
		checkin_conn_refuse(c, "checkin_not_raised",
		    "too late: the deadline and grace have passed, but no "
		    "alarm "
		    "could be raised",
		    "reason", json_str(reply, "why"));
	else if (strcmp(r, "releasing") == 0) {
		/* Too late, but the alert to cancel is not stored yet: the
		 * device asks again and then hears which one it is. */
		log_info("checkin %s checkin=%s device=%s: its alarm is being "
		         "raised; answered unavailable",
		    c->req_type, c->req_alert_id, c->device_id);
		conn_error(c, "unavailable",
		    "the alarm is being raised; try again", 0);
	} else if (strcmp(r, "conflict") == 0 || strcmp(r, "done") == 0)
		conn_error(c, "conflict",
		    strcmp(r, "done") == 0
		        ? "this check-in is already done"
		        : "checkin_id already used for another check-in",
		    0);
	else {
		log_info("checkin %s checkin=%s device=%s result=%s",
		    c->req_type, c->req_alert_id, c->device_id, r);
		/* the operator's line; the device's answer is the real one */
		if (json_is_true(json_object_get(reply, "duress")))
			log_warnx("checkin duress checkin=%s device=%s: %s "
			          "under "
			          "duress; the alert is released now",
			    c->req_alert_id, c->device_id, c->req_type);
		snprintf(c->req_state, sizeof(c->req_state), "%s",
		    json_str(reply, "state") ? json_str(reply, "state")
		                             : "active");
		if (checkin_conn_replicate(c) == 0)
			return;
		checkin_conn_told(c);
	}
	conn_process(c);
}

/* The prepared alert: the device's own, signed, of type
 * missed_checkin, created at the release time the request names, small
 * enough, and sealed to recipients this relay knows. */
static int
checkin_conn_envelope(struct conn *c, const struct device_entry *dev,
    const json_t *o, struct checkin_ask *q)
{
	const struct relay_config *cfg = c->relay->cfg;
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	const char *e64 = json_str(o, "envelope"), *s64 = json_str(o, "sig");
	struct envelope env;
	size_t len, i, known = 0;
	int rc = -1;

	if (conn_signed_decode(e64, s64,
	        (size_t)cfg->checkin_max_bytes * 4 / 3 + 4, &json, &len,
	        sig) != 0) {
		conn_error(c, "bad_envelope",
		    "checkin needs a base64 envelope and sig within max_bytes",
		    1);
		return -1;
	}
	if (conn_signed_envelope(c,
	        relay_device_verify_envelope(dev, (const char *)json, len, sig),
	        "envelope signature does not verify", json, len, &env) != 0) {
		free(json);
		return -1;
	}
	for (i = 0; i < env.nrecipients; i++)
		if (relay_config_recipient(cfg, env.recipients[i].id) != NULL)
			known++;
	if (strcmp(env.alert_type, "missed_checkin") != 0 ||
	    strcmp(env.device_id, c->device_id) != 0 ||
	    strcmp(env.alert_id, q->r.alert_id) != 0 ||
	    strcmp(env.created_at, q->r.release_at) != 0)
		conn_error(c, "bad_envelope",
		    "the prepared alert must be this device's missed_checkin, "
		    "created at release_at",
		    1);
	else if (known == 0)
		conn_error(c, "unknown_recipient",
		    "none of the envelope's recipients is known here", 0);
	else {
		q->env64 = xstrdup(e64);
		q->sig64 = xstrdup(s64);
		rc = 0;
	}
	envelope_free(&env);
	free(json);
	return rc;
}

/* The times of start and extend, against this relay's bounds. */
static int
checkin_conn_times(struct conn *c, const struct checkin_req *r)
{
	time_t now = time(NULL);

	if (r->deadline_t <= now ||
	    r->release_t > now + c->relay->cfg->checkin_max_duration * 60) {
		conn_error(c, "bad_envelope",
		    "deadline must be in the future and release_at within "
		    "max_duration",
		    0);
		return -1;
	}
	return 0;
}

/* The signed request: this device's, fresh, well formed. */
static int
checkin_conn_signed(struct conn *c, const struct device_entry *dev,
    const json_t *o, struct checkin_ask *q)
{
	const char *b64 = json_str(o, "checkin"),
	           *s64 = json_str(o, "checkin_sig");
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	unsigned char hash[crypto_hash_sha256_BYTES];
	size_t len;
	char err[128];
	time_t now = time(NULL);

	if (conn_signed_decode(b64, s64, 4096, &json, &len, sig) != 0) {
		conn_error(c, "bad_envelope",
		    "checkin frame needs base64 checkin and checkin_sig", 1);
		return -1;
	}
	if (checkin_verify((const char *)json, len, sig, dev->sign_pk) != 0) {
		free(json);
		conn_error(c, "bad_signature",
		    "checkin signature does not verify", 1);
		return -1;
	}
	/* A resend of the same signed request is recognised by it. */
	crypto_hash_sha256(hash, json, len);
	sodium_bin2hex(q->hash, sizeof(q->hash), hash, sizeof(hash));
	if (checkin_req_decode((const char *)json, len, &q->r, err,
	        sizeof(err)) != 0) {
		free(json);
		conn_error(c, "bad_envelope", err, 1);
		return -1;
	}
	if (strcmp(q->r.device_id, c->device_id) != 0) {
		free(json);
		conn_error(c, "bad_envelope", "checkin is for another device",
		    1);
		return -1;
	}
	free(json);
	/* A captured request replayed much later does nothing. */
	if (q->r.created_t < now - c->relay->cfg->max_clock_skew ||
	    q->r.created_t > now + c->relay->cfg->max_clock_skew) {
		conn_error(c, "stale",
		    "checkin created_at is too far from the relay's clock", 0);
		return -1;
	}
	return 0;
}

static json_t *
checkin_conn_args(struct conn *c, const struct checkin_ask *q)
{
	const struct relay_config *cfg = c->relay->cfg;
	int64_t deadline_ms = (int64_t)q->r.deadline_t * 1000;
	int64_t release_ms = (int64_t)q->r.release_t * 1000;
	int64_t remind = cfg->checkin_remind_before * 1000;
	int64_t now = now_ms();
	char buf[24], at[RFC3339_LEN];
	json_t *a;

	time_rfc3339_ms(at, now);
	snprintf(buf, sizeof(buf), "%lld", (long long)now);
	a = json_pack("{s:s, s:s, s:s, s:s}", "cid", q->r.checkin_id, "dev",
	    c->device_id, "now", at, "now_ms", buf);
	snprintf(buf, sizeof(buf), "%lld",
	    (long long)CHECKIN_TTL_AFTER_S +
	        (q->r.op == CHECKIN_DONE ? 0 : q->r.release_t - time(NULL)));
	json_object_set_new(a, "ttl", json_string(buf));
	json_object_set_new(a, "op", json_string(checkin_op_name(q->r.op)));
	if (q->r.op == CHECKIN_DONE || q->r.duress)
		return a;
	/* Reminded remind_before ahead, or halfway for a short one. */
	if (remind > (deadline_ms - now) / 2)
		remind = (deadline_ms - now) / 2;
	json_object_set_new(a, "aid", json_string(q->r.alert_id));
	json_object_set_new(a, "env", json_string(q->env64));
	json_object_set_new(a, "sig", json_string(q->sig64));
	json_object_set_new(a, "hash", json_string(q->hash));
	json_object_set_new(a, "deadline", json_string(q->r.deadline));
	json_object_set_new(a, "release", json_string(q->r.release_at));
	snprintf(buf, sizeof(buf), "%lld", (long long)release_ms);
	json_object_set_new(a, "release_ms", json_string(buf));
	if (cfg->checkin_remind_before > 0 && remind > 0) {
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)(deadline_ms - remind));
		json_object_set_new(a, "remind_ms", json_string(buf));
	}
	return a;
}

void
checkin_conn_request(struct conn *c, const json_t *o)
{
	static const char *const scripts[] = {script_checkin_start,
	    script_checkin_extend, script_checkin_done};
	const struct device_entry *dev;
	struct checkin_ask q;

	memset(&q, 0, sizeof(q));
	if ((dev = conn_signed_device(c)) == NULL)
		return;
	if (!checkin_limit_take(c->relay->checkin, c->device_id)) {
		conn_error(c, "rate_limited",
		    "too many check-in requests from this device; try again "
		    "shortly",
		    0);
		return;
	}
	if (checkin_conn_signed(c, dev, o, &q) != 0)
		return;
	if (q.r.op != CHECKIN_DONE &&
	    (checkin_conn_times(c, &q.r) != 0 ||
	        checkin_conn_envelope(c, dev, o, &q) != 0))
		return;
	snprintf(c->req_alert_id, sizeof(c->req_alert_id), "%s",
	    q.r.checkin_id);
	snprintf(c->req_type, sizeof(c->req_type), "%s",
	    checkin_op_name(q.r.op));
	c->req_duress = q.r.duress;
	c->req = store_eval(c->relay->store,
	    q.r.duress ? script_checkin_duress : scripts[q.r.op],
	    checkin_conn_args(c, &q), checkin_conn_answer_cb, c);
	free(q.env64);
	free(q.sig64);
}
