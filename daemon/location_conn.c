/*
 * A device's "location" frame (location.h): checked here, then one
 * script (script_location), a job of the connection (conn_job.c): the
 * device's next frame waits for it, so answers keep the order of the
 * frames, and Redis stores the update whether or not the device stays,
 * so its log line does not depend on the connection.  Errors in what the device
 * signed close the connection, as for alerts; refusals of a good update
 * (closed, too soon, too many) keep it.
 */
#include "conn_int.h"
#include "location.h"

static void
location_conn_refuse(struct conn *c, const char *code, const char *message,
    const json_t *reply, const char *key)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "type", "error", "code",
	    code, "message", message, "alert_id", c->req_alert_id);
	json_t *v = key != NULL ? json_object_get(reply, key) : NULL;

	if (v != NULL)
		json_object_set(e, key, v);
	conn_refuse_send(c, e);
}

/* The script's answer to a device still there. */
static void
location_conn_answer(struct conn *c, const json_t *reply, const char *r)
{
	if (r == NULL)
		conn_error(c, "unavailable", "try again", 0);
	else if (strcmp(r, "unknown") == 0)
		conn_unknown_alert(c);
	else if (strcmp(r, "closed") == 0)
		location_conn_refuse(c, "alert_closed",
		    "the alert is no longer open", reply, "state");
	else if (strcmp(r, "rate") == 0)
		location_conn_refuse(c, "rate_limited",
		    "too soon after the previous update", reply,
		    "retry_after_ms");
	else if (strcmp(r, "limit") == 0)
		location_conn_refuse(c, "limit_reached",
		    "this alert has had its maximum of updates", reply, "max");
	else if (strcmp(r, "mismatch") == 0)
		conn_error(c, "bad_envelope",
		    "the update's type or drill mark differs from its alert",
		    0);
	else
		conn_send(c,
		    json_pack("{s:s, s:s, s:O?, s:O?}", "type", "located",
		        "alert_id", c->req_alert_id, "seq",
		        json_object_get(reply, "seq"), "sent",
		        json_object_get(reply, "sent")));
}

/* What Redis did, in the log whether or not the device stays.  A
 * refusal wrote nothing and is only the device's answer. */
static void
location_conn_record(const struct conn_job *who, const json_t *reply,
    const char *r, const char *err)
{
	if (r == NULL)
		log_warnx("location alert=%s device=%s%s: %s", who->id,
		    who->device_id, conn_job_gone(who),
		    err != NULL ? err : "no answer");
	else if (strcmp(r, "ok") == 0) {
		metrics.location_updates++;
		/* No coordinate here: the relay never has one. */
		log_info("location alert=%s device=%s seq=%lld sent=%lld%s",
		    who->id, who->device_id,
		    json_integer_value(json_object_get(reply, "seq")),
		    json_integer_value(json_object_get(reply, "sent")),
		    conn_job_gone(who));
	}
}

static void
location_conn_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct conn_job *who = arg;
	struct conn *c = who->c;
	const char *r = json_str(reply, "r");

	location_conn_record(who, reply, r, err);
	conn_job_end(who);
	conn_job_release(who);
	free(who);
	if (c == NULL)
		return;
	location_conn_answer(c, reply, r);
	conn_process(c);
}

/* The sealed boxes by recipient, for the script; NULL when none of them
 * is a recipient this relay knows. */
static json_t *
location_conn_boxes(const struct relay_config *cfg, const struct envelope *env)
{
	json_t *cts = json_object();
	size_t i;

	for (i = 0; i < env->nrecipients; i++)
		if (relay_config_recipient(cfg, env->recipients[i].id) != NULL)
			json_object_set_new(cts, env->recipients[i].id,
			    json_string(env->recipients[i].ciphertext));
	if (json_object_size(cts) == 0) {
		json_decref(cts);
		return NULL;
	}
	return cts;
}

/* The fix's time, signed as created_at, near the relay's clock: an
 * update captured on the way and replayed later does nothing. */
static int
location_conn_fresh(const struct conn *c, const struct envelope *env)
{
	time_t t, now = time(NULL);
	long skew = c->relay->cfg->max_clock_skew;

	return time_rfc3339_parse(env->created_at, &t) == 0 &&
	    t >= now - skew && t <= now + skew;
}

static void
location_conn_store(struct conn *c, const struct envelope *env, json_t *cts)
{
	const struct relay_config *cfg = c->relay->cfg;
	int64_t t = now_ms();

	struct conn_job *who = xcalloc(1, sizeof(*who));

	snprintf(c->req_alert_id, sizeof(c->req_alert_id), "%s", env->alert_id);
	snprintf(c->req_type, sizeof(c->req_type), "location");
	conn_job_init(who, c, env->alert_id);
	conn_job_start(who);
	store_eval(c->relay->store, script_location,
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I}",
	        "aid", env->alert_id, "dev", c->device_id, "type",
	        env->alert_type, "drill", env->drill ? "1" : "0", "created",
	        env->created_at, "cts", cts, "now_ms", (json_int_t)t, "min_ms",
	        (json_int_t)cfg->location_min_interval * 1000, "max",
	        (json_int_t)cfg->location_max_updates, "keep",
	        (json_int_t)cfg->location_keep),
	    location_conn_answer_cb, who);
}

/* {"type":"location","envelope":B64,"sig":B64} */
void
location_conn_request(struct conn *c, const json_t *o)
{
	const struct device_entry *dev =
	    relay_config_device(c->relay->cfg, c->device_id);
	const char *e64 = json_str(o, "envelope"), *s64 = json_str(o, "sig");
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	struct envelope env;
	json_t *cts;
	size_t len;

	if (dev == NULL ||
	    conn_signed_decode(e64, s64, 0, &json, &len, sig) != 0) {
		conn_error(c, "bad_envelope",
		    "location needs a base64 envelope and sig", 1);
		return;
	}
	if (conn_signed_envelope(c,
	        sig_verify_ctx(SIGCTX_LOCATION, json, len, sig, dev->sign_pk),
	        "location signature does not verify", json, len, &env) != 0) {
		free(json);
		return;
	}
	free(json);
	if (strcmp(env.device_id, c->device_id) != 0)
		conn_error(c, "bad_envelope", "location is for another device",
		    1);
	else if (!location_conn_fresh(c, &env))
		conn_error(c, "stale",
		    "location created_at is too far from the relay's clock", 0);
	else if ((cts = location_conn_boxes(c->relay->cfg, &env)) == NULL)
		conn_error(c, "unknown_recipient",
		    "none of the update's recipients is known here", 0);
	else
		location_conn_store(c, &env, cts);
	envelope_free(&env);
}
