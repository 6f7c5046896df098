/*
 * The notice of a missed check-in that no recipient can open any more
 * (checkin_unsealed.h): who is told, and under which id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "checkin_unsealed.h"
#include "envelope.h"
#include "policy.h"
#include "relay.h"
#include "util.h"

#define CHECKIN_UNSEALED_TTL_S (7L * 86400) /* the notice's record */

/* Every webhook recipient of every tier, once: nobody can read the
 * alert, so there is nothing to wait for before telling the later ones. */
static json_t *
checkin_unsealed_notify(const struct relay_config *cfg, const struct policy *p)
{
	struct policy_delivery *d;
	json_t *out = json_array(), *seen = json_object();
	size_t t, i, n;

	for (t = 0; t < p->ntiers; t++) {
		d = policy_deliveries(cfg, p, t, &n);
		for (i = 0; i < n; i++) {
			if (strcmp(d[i].channel, "webhook") != 0 ||
			    json_object_get(seen, d[i].rid) != NULL)
				continue;
			json_object_set_new(seen, d[i].rid, json_true());
			json_array_append_new(out, json_string(d[i].rid));
		}
		free(d);
	}
	json_decref(seen);
	return out;
}

/* Not the check-in id itself: a device chooses that, and could make it
 * one of its alerts' ids. */
static void
checkin_unsealed_id(const char *cid, char eid[33])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char in[64];

	snprintf(in, sizeof(in), "checkin_failed|%s", cid);
	crypto_hash_sha256(h, (const unsigned char *)in, strlen(in));
	sodium_bin2hex(eid, 33, h, 16);
}

json_t *
checkin_unsealed_args(const struct relay *relay, const struct envelope *env,
    const char *cid)
{
	const struct relay_config *cfg = relay->cfg;
	char eid[33], now[RFC3339_LEN], ttl[24];

	checkin_unsealed_id(cid, eid);
	time_rfc3339_ms(now, now_ms());
	snprintf(ttl, sizeof(ttl), "%ld", CHECKIN_UNSEALED_TTL_S);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "eid", eid,
	    "cid", cid, "dev", env->device_id, "type", env->alert_type, "drill",
	    env->drill ? "1" : "0", "now", now, "ttl", ttl, "notify",
	    checkin_unsealed_notify(cfg,
	        policy_for(cfg, env->alert_type, env->drill)));
}

json_t *
checkin_unsealed_unreached(const struct relay *relay,
    const struct envelope *env)
{
	const struct relay_config *cfg = relay->cfg;
	const struct policy *p = policy_for(cfg, env->alert_type, env->drill);
	const struct recipient_entry *r;
	json_t *rids = checkin_unsealed_notify(cfg, p), *who = json_array();
	json_t *rid;
	const char *id, *alias;
	char now[RFC3339_LEN], ms[24];
	int64_t t = now_ms();
	size_t i;

	/* as a delivery names them (delivery_alias) */
	json_array_foreach(rids, i, rid)
	{
		id = json_string_value(rid);
		r = relay_config_recipient(cfg, id);
		alias = r != NULL && r->alias != NULL ? r->alias : id;
		json_array_append_new(who, json_pack("[s, s]", id, alias));
	}
	json_decref(rids);
	time_rfc3339_ms(now, t);
	snprintf(ms, sizeof(ms), "%lld", (long long)t);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "aid", env->alert_id,
	    "ch", "webhook", "now", now, "now_ms", ms, "reason",
	    "cannot open it: sealed to recipients no longer in the "
	    "directory",
	    "who", who);
}
