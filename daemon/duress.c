/*
 * Cancel v2 at the relay: the real cancel and the duress cancel
 * (duress.h, docs/SECURITY.md "Duress").
 */
#include <stdio.h>
#include <string.h>

#include "conn_int.h"
#include "duress.h"
#include "escalate.h"
#include "ingest.h"
#include "policy.h"
#include "util.h"

int
duress_flag(const json_t *cancel)
{
	json_t *v = json_object_get(cancel, "v");
	json_t *d = json_object_get(cancel, "duress");

	if (!json_is_integer(v) || json_integer_value(v) != 2 ||
	    !json_is_integer(d) ||
	    (json_integer_value(d) != 0 && json_integer_value(d) != 1))
		return -1;
	return (int)json_integer_value(d);
}

json_t *
duress_deliveries(const struct relay_config *cfg, const struct policy *p,
    const char *recipients, int drill)
{
	json_t *out = json_array(), *seen = json_object();
	size_t t, i;

	for (t = 0; t < p->ntiers; t++) {
		json_t *tier = escalate_tier(cfg, p, t, recipients, drill);

		for (i = 0; i < json_array_size(tier); i++) {
			json_t *d = json_array_get(tier, i);
			char key[2 * ID_MAX + 16];

			snprintf(key, sizeof(key), "%s|%s",
			    json_string_value(json_array_get(d, 0)),
			    json_string_value(json_array_get(d, 1)));
			if (json_object_get(seen, key) != NULL)
				continue;
			json_object_set_new(seen, key, json_true());
			json_array_append(out, d);
		}
		json_decref(tier);
	}
	json_decref(seen);
	return out;
}

/* Planned from when the last repeat fired, not from the duress: a
 * relay back after an outage sends one repeat, not every one it missed
 * (an SMS burst), and the rate stays one per interval whatever the
 * history. */
json_t *
duress_next(const struct relay_config *cfg, const struct policy *p,
    const char *alert_id, size_t t, int64_t duress_ms, int64_t now_ms)
{
	long every = p->repeat_s > 0 ? p->repeat_s : cfg->duress_repeat;
	int64_t due = now_ms + (int64_t)every * 1000;
	char member[64], dues[24];

	if (due > duress_ms + (int64_t)cfg->duress_repeat_max * 1000)
		return NULL;
	snprintf(member, sizeof(member), "%s|%zu", alert_id, t + 1);
	snprintf(dues, sizeof(dues), "%lld", (long long)due);
	return json_pack("[s, s]", member, dues);
}

/* The device's answer is the one of a real cancel (conn_cancel.c); the
 * relay's operator reads the duress on a line of its own: the relay's
 * log is never shown on the device.  Too few replicas (err with the
 * reply): the master has the duress, and its retry says only "already",
 * so this is the one line there is.  Written whether or not the device
 * is still connected. */
static void
duress_answer_cb(json_t *reply, const char *err, void *arg)
{
	struct conn_cancel *k = arg;

	if (reply != NULL && json_is_true(json_object_get(reply, "duress")))
		log_warnx("alert duress alert=%s device=%s "
		          "notifications=%lld%s",
		    k->who.id, k->who.device_id,
		    (long long)json_integer_value(
		        json_object_get(reply, "notifications")),
		    err != NULL ? " unconfirmed" : "");
	k->done(reply, err, arg);
}

/* script_duress's arguments for alert k->who.id, read as reply. */
static json_t *
duress_args(const struct conn_cancel *k, const json_t *reply)
{
	const struct relay_config *cfg = k->who.relay->cfg;
	const struct policy *p;
	json_t *args, *next, *refs;
	const char *rs;
	int drill = json_is_true(json_object_get(reply, "drill"));
	char now[RFC3339_LEN], tier[24], ms[24];
	int64_t nowms = now_ms();

	p = policy_named(cfg, json_str(reply, "policy"));
	if (p == NULL)
		p = policy_for(cfg, json_str(reply, "alert_type"), drill);
	rs = json_str(reply, "recipients");
	time_rfc3339_ms(now, nowms);
	snprintf(tier, sizeof(tier), "%zu", p->ntiers > 0 ? p->ntiers - 1 : 0);
	args = json_pack("{s:s, s:s, s:s, s:s, s:s}", "aid", k->who.id, "dev",
	    k->who.device_id, "now", now, "duress", k->duress ? "1" : "0",
	    "tier", tier);
	snprintf(ms, sizeof(ms), "%lld", (long long)nowms);
	json_object_set_new(args, "now_ms", json_string(ms));
	json_object_update(args, k->signed_cancel);
	if (k->quiet)
		json_object_set_new(args, "quiet", json_true());
	if (k->duress) {
		json_object_set_new(args, "deliveries",
		    duress_deliveries(cfg, p, rs != NULL ? rs : "", drill));
		/* every tier again, every interval from now on */
		if (p->ntiers > 0 &&
		    (next = duress_next(cfg, p, k->who.id, p->ntiers - 1, nowms,
		         nowms)) != NULL)
			json_object_set_new(args, "next", next);
	}
	/* in case its reference is another alert's by now (relive_ref in
	 * retention_scripts.h); made for a real cancel too, alike in time */
	refs = json_array();
	ingest_refs(refs);
	json_object_set_new(args, "refs", refs);
	return args;
}

static void
duress_brief_cb(json_t *reply, const char *err, void *arg)
{
	struct conn_cancel *k = arg;

	k->req = NULL;
	if (reply == NULL || !json_is_true(json_object_get(reply, "exists"))) {
		json_t *r =
		    reply != NULL ? json_pack("{s:s}", "r", "unknown") : NULL;

		/* a duress alarm the device saw close long ago (script_brief):
		 * the device hears "unknown", the relay's operator what was
		 * tried, the duress PIN above all (no device sees the log) */
		if (reply != NULL &&
		    json_is_true(json_object_get(reply, "unseen"))) {
			log_warnx("alert duress alarm alert=%s device=%s "
			          "cancel_unseen pin=%s",
			    k->who.id, k->who.device_id,
			    k->duress ? "duress" : "own");
			conn_job_audit(&k->who,
			    k->duress ? "alert.duress" : "alert.cancel",
			    "alert", "refused", "unseen");
		}
		k->done(r, err, k);
		json_decref(r);
		return;
	}
	/* both wait for the replicas alike, and fail alike */
	k->req = store_eval_replicated(k->who.relay->store, script_duress,
	    duress_args(k, reply), k->who.relay->cfg->redis_min_replicas,
	    k->who.relay->cfg->redis_timeout * 1000, conn_cancel_at_once,
	    duress_answer_cb, k);
}

void
duress_cancel(struct conn_cancel *k, int duress)
{
	char now[RFC3339_LEN];

	k->duress = duress;
	time_rfc3339_ms(now, now_ms());
	/* Read first in both cases: a real cancel and a duress one take
	 * the same round trips.  What the device may not see (another
	 * device's alert, a duress alarm it saw close longer ago than the
	 * history period) ends here, in one, as a gone alert does. */
	k->req = store_eval(k->who.relay->store, script_brief,
	    json_pack("{s:s, s:s, s:s, s:s}", "aid", k->who.id, "dev",
	        k->who.device_id, "duress", duress ? "1" : "0", "now", now),
	    duress_brief_cb, k);
}
