/*
 * A device's alert frame: checked, routed, stored through ingest, and
 * answered "accepted" only once durable; the alert's receipts wait until
 * then (conn_int.h).  What became of it is logged and audited even when
 * its device has gone by then (struct conn_ingest).
 */
#include "conn_int.h"

/*
 * Receipts come from Redis (pub/sub), apart from the answer to the store:
 * when Redis was slow, an alert's first receipt can arrive before its
 * "accepted".  The protocol promises receipts after "accepted", and a
 * device must not hear "delivered" for an alert it still thinks unsent,
 * so they wait here (a few at most: one alert's first events) until the
 * answer has gone out.
 */
#define CONN_HELD_MAX 16

int
conn_hold_receipt(struct conn *c, const char *alert_id, json_t *frame)
{
	if (c->ingest == NULL || strcmp(c->ingest_alert_id, alert_id) != 0)
		return 0;
	if (c->held == NULL)
		c->held = json_array();
	if (json_array_size(c->held) < CONN_HELD_MAX)
		json_array_append(c->held, frame);
	json_decref(frame);
	return 1;
}

static void
conn_release_receipts(struct conn *c)
{
	size_t i;

	if (c->held == NULL)
		return;
	for (i = 0; i < json_array_size(c->held); i++)
		conn_send(c, json_incref(json_array_get(c->held, i)));
	json_decref(c->held);
	c->held = NULL;
}

/* max_age: how long the relay escalates it, so that a device waiting
 * for an acknowledgement knows when no one will come. */
static json_t *
conn_accepted_frame(const struct conn *c, const struct ingest_reply *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "type",
	    "accepted", "alert_id", c->ingest_alert_id, "relay_id", r->relay_id,
	    "received_at", r->received_at, "ref", r->ref, "duplicate",
	    r->result == INGEST_DUPLICATE, "drill", r->drill);

	if (r->max_age_s > 0)
		json_object_set_new(o, "max_age", json_integer(r->max_age_s));
	return o;
}

/*
 * An alert being stored.  Once its script is sent (or its spool record
 * written), the alert is stored and delivered whether or not its device
 * stays, so the request outlives the connection, as a cancel does
 * (conn_cancel.c): what it did is logged and audited either way, and
 * only the answer needs the connection.
 */
struct conn_ingest {
	struct conn_job who; /* who.id: the alert */
	TAILQ_ENTRY(conn_ingest) entry; /* in relay->ingests once detached */
	struct ingest_req *ir;
	int64_t start_ms;
	int64_t stage_ns;
};

/* What the relay did with the alert, in the log and the audit log;
 * device_gone=1 when its connection closed before the answer. */
static void
conn_ingest_record(const struct conn_ingest *j, const struct ingest_reply *r)
{
	long ms = (long)(monotonic_ms() - j->start_ms);
	const char *gone = conn_job_gone(&j->who);

	switch (r->result) {
	case INGEST_NEW:
	case INGEST_DUPLICATE:
		if (r->result == INGEST_DUPLICATE)
			metrics.alerts_duplicate++;
		else if (r->drill)
			metrics.drills_accepted++;
		else
			metrics.alerts_accepted++;
		log_info("alert accepted alert=%s device=%s relay_id=%s "
		         "duplicate=%d store_ms=%ld ref=%s drill=%d%s",
		    j->who.id, j->who.device_id, r->relay_id,
		    r->result == INGEST_DUPLICATE, ms, r->ref, r->drill, gone);
		conn_job_audit(&j->who, "alert.accepted", "alert", "ok",
		    r->result == INGEST_DUPLICATE ? "duplicate" : NULL);
		break;
	case INGEST_CONFLICT: /* nothing stored: the device's error */
		break;
	case INGEST_UNAVAILABLE:
		/* the master ran the script, its deliveries may be under
		 * way: "not stored" would mislead; the device's resend is
		 * answered as the duplicate it is */
		if (r->unconfirmed)
			log_warnx("alert alert=%s device=%s%s stored on the "
			          "master, not confirmed: %s",
			    j->who.id, j->who.device_id, gone, r->error);
		else
			log_warnx("alert alert=%s device=%s%s not stored: %s",
			    j->who.id, j->who.device_id, gone, r->error);
		break;
	}
}

/* The answer, to a device still there. */
static void
conn_ingest_answer(struct conn *c, const struct ingest_reply *r, int64_t stored)
{
	switch (r->result) {
	case INGEST_NEW:
	case INGEST_DUPLICATE:
		conn_send(c, conn_accepted_frame(c, r));
		stage_answered(c->ingest_alert_id, stored);
		stage_observe(STAGE_REPLY, stored);
		break;
	case INGEST_CONFLICT:
		conn_error(c, "conflict",
		    "alert_id already used for a different alert", 0);
		break;
	case INGEST_UNAVAILABLE:
		conn_error(c, "unavailable",
		    "alert could not be stored now; send it again", 0);
		break;
	}
}

static void
conn_ingest_cb(const struct ingest_reply *r, void *arg)
{
	struct conn_ingest *j = arg;
	struct conn *c = j->who.c;
	int64_t stored = stage_observe(STAGE_STORE, j->stage_ns);

	/* the device first: the log and the audit record can wait a few
	 * microseconds, the person pressing should not */
	if (c != NULL) {
		c->ingest = NULL;
		conn_ingest_answer(c, r, stored);
	} else
		TAILQ_REMOVE(&j->who.relay->ingests, j, entry);
	conn_ingest_record(j, r);
	conn_job_release(&j->who);
	free(j);
	if (c == NULL)
		return;
	c->ingest_alert_id[0] = '\0';
	conn_release_receipts(c);
	conn_process(c);
}

/* The device's connection goes: its alert's request goes on without it,
 * in relay->ingests until it completes or the relay stops. */
void
conn_ingest_detach(struct conn *c)
{
	struct conn_ingest *j = c->ingest;

	if (j == NULL)
		return;
	j->who.c = NULL;
	c->ingest = NULL;
	TAILQ_INSERT_TAIL(&j->who.relay->ingests, j, entry);
}

/* At exit, before the spool and the store go: they would end a pending
 * request without its callback (the spool) or with one that reaches a
 * closed spool (the store).  What became of the alert is not known. */
void
conn_ingest_end_all(struct relay *relay)
{
	struct conn_ingest *j;

	while ((j = TAILQ_FIRST(&relay->ingests)) != NULL) {
		TAILQ_REMOVE(&relay->ingests, j, entry);
		log_warnx("alert alert=%s device=%s device_gone=1 "
		          "outcome=unknown: the relay stopped first",
		    j->who.id, j->who.device_id);
		ingest_cancel(j->ir);
		conn_job_release(&j->who);
		free(j);
	}
}

static struct conn_ingest *
conn_ingest_new(struct conn *c)
{
	struct conn_ingest *j = xcalloc(1, sizeof(*j));

	conn_job_init(&j->who, c, c->ingest_alert_id);
	j->start_ms = monotonic_ms();
	j->stage_ns = c->stage_ns;
	return j;
}

/* A captured envelope replayed much later, or one from a device whose
 * clock runs far ahead, is refused; resends within the window are
 * recognised by alert_id instead. */
static int
conn_too_old(struct conn *c, const struct envelope *env)
{
	const struct relay_config *cfg = c->relay->cfg;
	time_t created, now = time(NULL);

	if (time_rfc3339_parse(env->created_at, &created) != 0)
		return 0; /* envelope_decode already checked it */
	if (created > now + cfg->max_clock_skew) {
		conn_error(c, "bad_envelope",
		    "created_at is in the future: check the device's clock", 0);
		return -1;
	}
	if (created < now - cfg->max_alert_age) {
		conn_error(c, "stale", "alert is older than max_alert_age", 0);
		return -1;
	}
	return 0;
}

/* Every recipient the envelope names must be known here.  With a signed
 * directory, a device may have sealed the alert to an older version of
 * it: recipients removed since are left out rather than the alert
 * refused, as long as someone is left to reach. */
static int
conn_route(struct conn *c, struct envelope *env)
{
	size_t i, kept = 0;

	for (i = 0; i < env->nrecipients; i++) {
		if (relay_config_recipient(c->relay->cfg,
		        env->recipients[i].id) != NULL) {
			env->recipients[kept++] = env->recipients[i];
			continue;
		}
		if (c->relay->cfg->dir == NULL) {
			conn_error(c, "unknown_recipient",
			    "envelope names a recipient this relay does not "
			    "know",
			    0);
			return -1;
		}
		log_warnx("alert=%s device=%s: recipient %s is no longer in "
		          "the directory; left out",
		    env->alert_id, c->device_id, env->recipients[i].id);
		free(env->recipients[i].ciphertext);
	}
	env->nrecipients = kept;
	if (kept == 0) {
		conn_error(c, "unknown_recipient",
		    "none of the envelope's recipients is in the directory", 0);
		return -1;
	}
	return 0;
}

static void
conn_store_alert(struct conn *c, const char *json, size_t len,
    struct envelope *env)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];

	snprintf(c->ingest_alert_id, sizeof(c->ingest_alert_id), "%s",
	    env->alert_id);
	if (strcmp(env->device_id, c->device_id) != 0) {
		conn_error(c, "bad_envelope", "envelope is for another device",
		    1);
		return;
	}
	if (conn_too_old(c, env) != 0 || conn_route(c, env) != 0) {
		c->ingest_alert_id[0] = '\0';
		return;
	}
	crypto_hash_sha256(hash, (const unsigned char *)json, len);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	c->stage_ns = stage_observe(STAGE_VERIFY, c->stage_ns);
	c->ingest = conn_ingest_new(c);
	c->ingest->ir =
	    ingest_alert(c->relay, env, hex, conn_ingest_cb, c->ingest);
}

void
conn_alert(struct conn *c, const json_t *o)
{
	const char *b64env = json_str(o, "envelope");
	const char *sigtext = json_str(o, "sig");
	const struct device_entry *dev;
	unsigned char sig[crypto_sign_BYTES], *json = NULL;
	size_t len;
	struct envelope env;

	metrics.alerts_received++;
	c->stage_ns = stage_now();
	if (!ratelimit_take(c->relay->alert_limit, c->device_id,
	        strlen(c->device_id), monotonic_ms()) ||
	    !ratelimit_take(c->relay->addr_alert_limit, c->source,
	        c->source_len, monotonic_ms())) {
		conn_error(c, "rate_limited",
		    "too many alerts from this device or its address; send "
		    "it again shortly",
		    0);
		return;
	}
	if ((dev = conn_signed_device(c)) == NULL)
		return;
	if (conn_signed_decode(b64env, sigtext, 0, &json, &len, sig) != 0) {
		conn_error(c, "bad_envelope",
		    "alert frame needs base64 envelope and sig", 1);
		return;
	}
	if (conn_signed_envelope(c,
	        relay_device_verify_envelope(dev, (const char *)json, len, sig),
	        "envelope signature does not verify", json, len, &env) != 0) {
		free(json);
		return;
	}
	conn_store_alert(c, (const char *)json, len, &env);
	envelope_free(&env);
	free(json);
}
