/*
 * A device's "checkin" frame: start, extend or done (checkin.h), each
 * signed by the device; start and extend carry the prepared alert.
 * Checked here, then one script (checkin_scripts.h), whose answer
 * checkin_reply.c records and gives; the connection reads no further
 * frame meanwhile, so answers keep the order of the frames.
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
	/* a duress extend's prepared alert is not used (the one before is
	 * released), its deadline is: the reminder comes as after a real
	 * extend (DURESS_REMIND in checkin_scripts.c) */
	if (q->r.op == CHECKIN_DONE)
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
	checkin_reply_run(c, q.r.checkin_id, checkin_op_name(q.r.op),
	    q.r.duress, q.r.duress ? script_checkin_duress : scripts[q.r.op],
	    checkin_conn_args(c, &q));
	free(q.env64);
	free(q.sig64);
}
