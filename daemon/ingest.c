/*
 * Accepting an alert: the ingest script, the spool when Redis fails,
 * the answer to the device (ingest.h).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ack_parse.h"
#include "dispatch.h"
#include "duress.h"
#include "escalate.h"
#include "evtimer_ms.h"
#include "ingest.h"
#include "log.h"
#include "relay.h"
#include "spool.h"
#include "store_scripts.h"
#include "xmalloc.h"

/* References: ACK_REF_LEN letters of ack_ref_alphabet, 40 bits; why
 * that is enough against guessing is in ack_limit.h.  One lives as
 * long as its alert is open, however long that is ("OK ref" must work
 * until it is taken), and [retention] sms_references after the close
 * (retire() in retention_scripts.h), so they recycle. */
#define REF_CANDIDATES 4
#define REF_LEN ACK_REF_LEN

struct ingest_req {
	long max_age_s; /* of the alert's policy, for the answer */
	ingest_cb cb;
	void *arg;
	struct store_req *sreq;
	struct relay *relay;
	json_t *args; /* kept for the spool, should Redis fail */
	struct ingest_reply reply; /* held while replicas catch up */
	struct event *spooled; /* answering a resend from the spool */
	struct spool_wait wait; /* for the spool's sync */
	const char *spool_why; /* the answer should it fail */
	int drill;
	/* The alert as script_meta will give it, for its first deliveries
	 * (dispatch_fresh.h); NULL when not offered there. */
	char alert_id[ID_MAX + 1];
	json_t *fresh_base, *fresh_cts;
};

/* The candidate references, from one call for random bytes: libsodium
 * makes a system call per call, and one per character was a visible part
 * of the relay's time per alert (make bench).  32 letters: a byte's low
 * five bits pick one uniformly. */
void
ingest_refs(json_t *refs)
{
	unsigned char rnd[REF_CANDIDATES * REF_LEN];
	char ref[REF_LEN + 1];
	size_t i, j;

	_Static_assert(sizeof(ACK_REF_ALPHABET) - 1 == 32, "32 letters");
	randombytes_buf(rnd, sizeof(rnd));
	for (i = 0; i < REF_CANDIDATES; i++) {
		for (j = 0; j < REF_LEN; j++)
			ref[j] = ack_ref_alphabet[rnd[i * REF_LEN + j] & 31];
		ref[REF_LEN] = '\0';
		json_array_append_new(refs, json_string(ref));
	}
}

static void ingest_fresh_answer(struct ingest_req *ir, const char *ref);

static void
ingest_answer(struct ingest_req *ir, struct ingest_reply *out)
{
	out->max_age_s = ir->max_age_s;
	out->drill = ir->drill;
	ir->cb(out, ir->arg);
	json_decref(ir->args);
	if (ir->spooled != NULL)
		event_free(ir->spooled);
	free(ir);
}

static void
ingest_spool_failed(struct ingest_reply *out, const char *why)
{
	memset(out, 0, sizeof(*out));
	out->result = INGEST_UNAVAILABLE;
	out->error = why;
}

/* The spool's sync returned (out), or failed (NULL). */
static void
ingest_spooled_cb(const struct ingest_reply *out, void *arg)
{
	struct ingest_req *ir = arg;
	struct ingest_reply r;

	if (out != NULL)
		r = *out;
	else
		ingest_spool_failed(&r, ir->spool_why);
	ingest_answer(ir, &r);
}

/* Into the local spool: answered now, or once its sync returned. */
static void
ingest_spool(struct ingest_req *ir, struct ingest_reply *out, const char *why)
{
	ir->spool_why = why;
	switch (spool_accept(ir->relay->spool, ir->args, out, &ir->wait,
	    ingest_spooled_cb, ir)) {
	case 0:
		return;
	case -1:
		ingest_spool_failed(out, why);
		break;
	}
	ingest_answer(ir, out);
}

static void
ingest_finish(struct ingest_req *ir, struct ingest_reply *out)
{
	ingest_fresh_answer(ir, NULL); /* answered before, unless no reply */
	/* Redis cannot take it now: the local spool can. */
	if (out->result == INGEST_UNAVAILABLE && ir->args != NULL)
		ingest_spool(ir, out, "redis and the local spool both failed");
	else
		ingest_answer(ir, out);
}

static void
ingest_from_spool_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest_req *ir = arg;
	struct ingest_reply out;

	(void)fd;
	(void)what;
	ingest_spool(ir, &out, "the local spool failed");
}

/* With min_replicas, "accepted" also means that many replicas have it,
 * so a failover cannot lose it. */
static void
ingest_replicated_cb(int ok, const char *err, void *arg)
{
	struct ingest_req *ir = arg;

	ir->sreq = NULL;
	if (!ok) {
		log_warnx("alert not on enough replicas: %s", err);
		ir->reply.result = INGEST_UNAVAILABLE;
		ir->reply.error = "not on enough replicas";
		ir->reply.unconfirmed = 1;
	}
	ingest_finish(ir, &ir->reply);
}

/* What the dispatcher needs for the alert's first deliveries, known here
 * before Redis has it: what script_meta would read back, but the
 * reference (chosen by the script) and each recipient's box (cts). */
static void
ingest_fresh_offer(struct ingest_req *ir, const struct envelope *env,
    const char *received_at, const char *envelope_hash, json_t *cts)
{
	if (ir->relay->dispatch == NULL)
		return;
	snprintf(ir->alert_id, sizeof(ir->alert_id), "%s", env->alert_id);
	ir->fresh_base =
	    json_pack("{s:b, s:b, s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s}",
	        "exists", 1, "unreached", 0, "done", 0, "state", "open",
	        "device_id", env->device_id, "alert_type", env->alert_type,
	        "created_at", env->created_at, "received_at", received_at,
	        "drill", env->drill, "duress", 0, "envelope_hash",
	        envelope_hash);
	if (ir->fresh_base == NULL)
		return;
	ir->fresh_cts = json_incref(cts);
	dispatch_fresh_expect(ir->relay->dispatch, ir->alert_id);
}

/* ref: the alert was stored as new with it; NULL: not new, or not
 * answered: the dispatcher reads Redis for it. */
static void
ingest_fresh_answer(struct ingest_req *ir, const char *ref)
{
	if (ir->fresh_base == NULL)
		return;
	if (ref != NULL) {
		json_object_set_new(ir->fresh_base, "ref", json_string(ref));
		dispatch_fresh_ready(ir->relay->dispatch, ir->alert_id,
		    ir->fresh_base, ir->fresh_cts);
	} else
		dispatch_fresh_ready(ir->relay->dispatch, ir->alert_id, NULL,
		    NULL);
	json_decref(ir->fresh_base);
	json_decref(ir->fresh_cts);
	ir->fresh_base = ir->fresh_cts = NULL;
}

static void
ingest_reply_cb(json_t *reply, const char *err, void *arg)
{
	struct ingest_req *ir = arg;
	struct ingest_reply out;
	const char *r = json_string_value(json_object_get(reply, "r"));

	memset(&out, 0, sizeof(out));
	out.result = INGEST_UNAVAILABLE;
	out.error = err;
	if (r != NULL && strcmp(r, "conflict") == 0)
		out.result = INGEST_CONFLICT;
	else if (r != NULL &&
	    (strcmp(r, "new") == 0 || strcmp(r, "dup") == 0)) {
		out.result = r[0] == 'd' ? INGEST_DUPLICATE : INGEST_NEW;
		snprintf(out.relay_id, sizeof(out.relay_id), "%s",
		    json_string_value(json_object_get(reply, "id")));
		snprintf(out.received_at, sizeof(out.received_at), "%s",
		    json_string_value(json_object_get(reply, "received_at")));
		snprintf(out.ref, sizeof(out.ref), "%s",
		    json_string_value(json_object_get(reply, "ref")));
	} else if (r != NULL)
		out.error = "no free reference";
	ir->sreq = NULL;
	ingest_fresh_answer(ir, out.result == INGEST_NEW ? out.ref : NULL);
	if ((out.result == INGEST_NEW || out.result == INGEST_DUPLICATE) &&
	    ir->relay->cfg->redis_min_replicas > 0) {
		ir->reply = out;
		ir->sreq = store_wait_replicas(ir->relay->store,
		    ir->relay->cfg->redis_min_replicas,
		    ir->relay->cfg->redis_timeout * 1000, ingest_replicated_cb,
		    ir);
		return;
	}
	ingest_finish(ir, &out);
}

static char *
ingest_recipients_csv(const struct envelope *env)
{
	size_t i, len = 1;
	char *csv;

	for (i = 0; i < env->nrecipients; i++)
		len += strlen(env->recipients[i].id) + 1;
	csv = xcalloc(1, len);
	for (i = 0; i < env->nrecipients; i++) {
		if (i > 0)
			strcat(csv, ",");
		strcat(csv, env->recipients[i].id);
	}
	return csv;
}

/* The first tier goes out now unless the policy delays it; the timer of
 * the one after (or of the first) goes with the alert into Redis. */
static void
ingest_plan(struct relay *relay, const struct envelope *env, const char *csv,
    int64_t received, json_t *args)
{
	const struct policy *p =
	    policy_for(relay->cfg, env->alert_type, env->drill);
	json_t *next;
	char due[24];

	json_object_set_new(args, "policy", json_string(p->name));
	json_object_set_new(args, "tier", json_string("0"));
	if (policy_due(p, 0, received) <= received) {
		json_object_set_new(args, "now",
		    escalate_tier(relay->cfg, p, 0, csv, env->drill));
		next = escalate_next(p, env->alert_id, 0, received);
	} else {
		char member[40];

		json_object_set_new(args, "now", json_array());
		snprintf(member, sizeof(member), "%s|0", env->alert_id);
		snprintf(due, sizeof(due), "%lld",
		    (long long)policy_due(p, 0, received));
		next = json_pack("[s, s]", member, due);
	}
	if (next != NULL)
		json_object_set_new(args, "next", next);
	if (p->max_age_s > 0) {
		snprintf(due, sizeof(due), "%lld",
		    (long long)(received + p->max_age_s * 1000));
		json_object_set_new(args, "expire", json_string(due));
	}
}

/* A check-in ended or extended under duress (checkin.h): every tier at
 * once, as alert.duress, repeating as after a duress cancel (duress.h);
 * the device's view of it is never published (store_scripts.h, ev). */
static void
ingest_plan_duress(struct relay *relay, const struct envelope *env,
    const char *csv, int64_t received, json_t *args)
{
	const struct policy *p =
	    policy_for(relay->cfg, env->alert_type, env->drill);
	size_t last = p->ntiers > 0 ? p->ntiers - 1 : 0;
	json_t *next;
	char buf[24];

	snprintf(buf, sizeof(buf), "%zu", last);
	json_object_set_new(args, "policy", json_string(p->name));
	json_object_set_new(args, "tier", json_string(buf));
	json_object_set_new(args, "duress", json_string("1"));
	json_object_set_new(args, "event", json_string("alert.duress"));
	json_object_set_new(args, "now",
	    duress_deliveries(relay->cfg, p, csv, env->drill));
	if (p->ntiers > 0 &&
	    (next = duress_next(relay->cfg, p, env->alert_id, last, received,
	         received)) != NULL)
		json_object_set_new(args, "next", next);
	/* its SMS reference lives while it is open, as every alert's */
}

struct ingest_req *
ingest_alert(struct relay *relay, const struct envelope *env,
    const char *envelope_hash, ingest_cb cb, void *arg)
{
	return ingest_alert_as(relay, env, envelope_hash, 0, cb, arg);
}

struct ingest_req *
ingest_alert_as(struct relay *relay, const struct envelope *env,
    const char *envelope_hash, int duress, ingest_cb cb, void *arg)
{
	struct ingest_req *ir = xcalloc(1, sizeof(*ir));
	int64_t received = now_ms();
	char received_at[RFC3339_LEN], ms[24];
	char *csv = ingest_recipients_csv(env);
	json_t *args, *cts = json_object(), *refs = json_array();
	size_t i;

	ir->cb = cb;
	ir->arg = arg;
	/* A drill escalates by the drill policy, and expires by it. */
	ir->max_age_s =
	    policy_for(relay->cfg, env->alert_type, env->drill)->max_age_s;
	ir->drill = env->drill;
	time_rfc3339_ms(received_at, received);
	snprintf(ms, sizeof(ms), "%lld", (long long)received);
	for (i = 0; i < env->nrecipients; i++)
		json_object_set_new(cts, env->recipients[i].id,
		    json_string(env->recipients[i].ciphertext));
	ingest_refs(refs);
	args = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
	    "aid", env->alert_id, "hash", envelope_hash, "dev", env->device_id,
	    "type", env->alert_type, "created", env->created_at, "received",
	    received_at, "received_ms", ms, "recipients", csv, "cts", cts,
	    "refs", refs);
	if (env->drill)
		json_object_set_new(args, "drill", json_string("1"));
	if (duress)
		ingest_plan_duress(relay, env, csv, received, args);
	else
		ingest_plan(relay, env, csv, received, args);
	free(csv);
	ir->relay = relay;
	if (relay->spool != NULL && spool_holds(relay->spool, env->alert_id)) {
		/* Answered from the loop, like every other reply. */
		ir->args = args;
		ir->spooled =
		    evtimer_new(relay->base, ingest_from_spool_cb, ir);
		evtimer_add_ms(ir->spooled, 0);
		return ir;
	}
	/* Kept for the spool, should Redis fail; without one, not needed. */
	if (relay->spool != NULL)
		ir->args = json_deep_copy(args);
	if (!duress) /* script_meta gives the duress it is marked with */
		ingest_fresh_offer(ir, env, received_at, envelope_hash, cts);
	ir->sreq =
	    store_eval(relay->store, script_ingest, args, ingest_reply_cb, ir);
	return ir;
}

void
ingest_cancel(struct ingest_req *ir)
{
	if (ir == NULL)
		return;
	store_req_cancel(ir->sreq);
	spool_accept_cancel(&ir->wait);
	/* The script may still run: its deliveries go by Redis. */
	ingest_fresh_answer(ir, NULL);
	json_decref(ir->args);
	if (ir->spooled != NULL)
		event_free(ir->spooled);
	free(ir);
}
