/*
 * The relay's side of check-in timers over time (checkin.h): reminders
 * pushed to the device before the deadline, and at the deadline plus
 * grace the prepared alert stored like any alert the device had sent
 * (ingest.h), so it escalates by the policy of its type.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "b64.h"
#include "checkin.h"
#include "checkin_int.h"
#include "checkin_scripts.h"
#include "checkin_unsealed.h"
#include "directory.h"
#include "directory_version.h"
#include "duepoll.h"
#include "envelope.h"
#include "ingest.h"
#include "log.h"
#include "log_budget.h"
#include "metrics.h"
#include "ratelimit.h"
#include "relay.h"
#include "store.h"
#include "store_scripts.h"
#include "xmalloc.h"

#define CHECKIN_POLL_MS 250 /* how late a release may be, at most */
#define CHECKIN_LEASE_MS 15000 /* before another instance retries it */
#define CHECKIN_KEEP_S (7L * 86400) /* a released check-in's record */
#define CHECKIN_DEFER_MS 1000 /* given back: due again this much later */
#define CHECKIN_SKIP_MS 5000 /* and not claimed here again before this */
#define CHECKIN_SKIPS 64

/* Give-backs are logged, each one, within a budget: many at once (a
 * relay far behind) cost a few lines and a count. */
static struct log_budget checkin_defer_log = {"check-ins given back", 0, 0, 0};

struct checkin {
	struct relay *relay;
	struct duepoll *poll;
	struct ratelimit *limit;
	struct store_req *req;
	struct ingest_req *ingest;
	char *env64; /* released once its notice is stored (unsealed) */
	json_t *unreached; /* after an unsealed notice: who to mark */
	int duress; /* ended or extended under duress (checkin_pin.h) */
	int revoked; /* its device is revoked since it started */
	char cid[33];
	char lease[24]; /* the claim's lease (ms), for giving it back */
	long long dirv; /* the highest directory version of this Redis */
	long long deferred_ms; /* first given back (claim's), or 0 */
	int newer_alive; /* a relay with directory dirv runs (alive.h) */
	/* Given back here lately: left to the others' polls meanwhile
	 * (script_due passes over them), else this relay, polling in step
	 * with the due time it set, would nearly always claim it first
	 * again. */
	struct {
		char member[36]; /* "C|x" */
		int64_t until; /* monotonic ms */
	} skip[CHECKIN_SKIPS];
	size_t nskip; /* the next slot to use */
	char result[16];
	/* the alert being raised, for its audit record */
	char alert_id[ID_MAX + 1], device_id[ID_MAX + 1];
};

int
checkin_limit_take(struct checkin *ck, const char *device_id)
{
	return ratelimit_take(ck->limit, device_id, strlen(device_id),
	    monotonic_ms());
}

static void
checkin_next_cb(json_t *reply, const char *err, void *arg)
{
	struct checkin *ck = arg;

	ck->req = NULL;
	if (reply == NULL)
		log_warnx("checkin=%s: %s", ck->cid, err);
	duepoll_next(ck->poll);
}

static void
checkin_released(struct checkin *ck, const char *result)
{
	char now[RFC3339_LEN], ttl[24];

	time_rfc3339_ms(now, now_ms());
	snprintf(ttl, sizeof(ttl), "%ld", CHECKIN_KEEP_S);
	ck->req = store_eval(ck->relay->store, script_checkin_released,
	    json_pack("{s:s, s:s, s:s, s:s}", "cid", ck->cid, "now", now,
	        "result", result, "ttl", ttl),
	    checkin_next_cb, ck);
}

static void
checkin_unreached_cb(json_t *reply, const char *err, void *arg)
{
	struct checkin *ck = arg;

	ck->req = NULL;
	if (reply == NULL) {
		/* The lease runs out and it is tried again; the script
		 * marks each recipient once, whichever try gets there. */
		log_warnx("checkin=%s: marking its recipients unreached: %s",
		    ck->cid, err);
		duepoll_next(ck->poll);
		return;
	}
	checkin_released(ck, "raised");
}

/* Accepted like a device's alert, and recorded as one (docs/PRIVACY.md):
 * the device is the actor, the relay raised it for the missed check-in. */
static void
checkin_audit(struct checkin *ck, int duplicate)
{
	char actor[ID_MAX + 8], object[ID_MAX + 8], reason[48];

	snprintf(actor, sizeof(actor), "device:%s", ck->device_id);
	snprintf(object, sizeof(object), "alert:%s", ck->alert_id);
	snprintf(reason, sizeof(reason), "checkin%s%s",
	    duplicate ? " duplicate" : "",
	    ck->revoked ? " device_revoked" : "");
	audit_relay(ck->relay, "alert.accepted", object, "ok", NULL, "checkin",
	    actor, reason);
}

static void
checkin_ingest_cb(const struct ingest_reply *r, void *arg)
{
	struct checkin *ck = arg;

	ck->ingest = NULL;
	switch (r->result) {
	case INGEST_NEW:
	case INGEST_DUPLICATE:
		if (r->result == INGEST_NEW) {
			metrics.alerts_accepted++;
			metrics.checkins_missed++;
		}
		log_info("checkin missed checkin=%s relay_id=%s duplicate=%d "
		         "ref=%s%s",
		    ck->cid, r->relay_id, r->result == INGEST_DUPLICATE, r->ref,
		    ck->revoked ? " device_revoked=1" : "");
		checkin_audit(ck, r->result == INGEST_DUPLICATE);
		if (ck->unreached != NULL) {
			/* nobody told could open it: said on the alert too */
			ck->req =
			    store_eval(ck->relay->store, script_unreached_all,
			        ck->unreached, checkin_unreached_cb, ck);
			ck->unreached = NULL;
			break;
		}
		checkin_released(ck, "raised");
		break;
	case INGEST_CONFLICT:
		log_warnx("checkin missed checkin=%s: its alert_id is taken by "
		          "another alert; not raised",
		    ck->cid);
		checkin_released(ck, "conflict");
		break;
	case INGEST_UNAVAILABLE:
		/* The lease runs out and it is tried again. */
		log_warnx("checkin missed checkin=%s: not stored yet: %s",
		    ck->cid, r->error);
		duepoll_next(ck->poll);
		break;
	}
}

/* What this relay would do (not raise it, or leave recipients out) it
 * may decide on its own directory only when that is the newest: else
 * the claim goes back, due again in a moment, for a relay that has the
 * newer one (a reload not done here yet, or refused).  Never dropped
 * for that: without such a relay it waits, said here with how long. */
static void
checkin_defer(struct checkin *ck, const char *why)
{
	int64_t t = now_ms();
	char due[24];

	if (log_budget_take(&checkin_defer_log))
		log_warnx("checkin=%s: %s in this relay's directory "
		          "(version %lld), but another relay of this Redis "
		          "runs version %lld: left to a relay with it, not "
		          "raised here (reload this relay); given_back_ms=%lld "
		          "newer_alive=%s",
		    ck->cid, why, ck->relay->cfg->dir->version, ck->dirv,
		    ck->deferred_ms > 0 ? (long long)(t - ck->deferred_ms)
		                        : 0LL,
		    ck->newer_alive ? "yes" : "no");
	snprintf(ck->skip[ck->nskip].member, sizeof(ck->skip[0].member), "%s|x",
	    ck->cid);
	ck->skip[ck->nskip].until = monotonic_ms() + CHECKIN_SKIP_MS;
	ck->nskip = (ck->nskip + 1) % CHECKIN_SKIPS;
	snprintf(due, sizeof(due), "%lld", (long long)(t + CHECKIN_DEFER_MS));
	ck->req = store_eval(ck->relay->store, script_checkin_defer,
	    json_pack("{s:s, s:s, s:s, s:I, s:b}", "cid", ck->cid, "lease_ms",
	        ck->lease, "due_ms", due, "now_ms", (json_int_t)t, "restart",
	        ck->newer_alive),
	    checkin_next_cb, ck);
}

/* Recipients no longer known are left out, as for a device's alert. */
static void
checkin_route(const struct checkin *ck, struct envelope *env)
{
	const struct relay_config *cfg = ck->relay->cfg;
	size_t i, kept = 0;

	for (i = 0; i < env->nrecipients; i++) {
		if (relay_config_recipient(cfg, env->recipients[i].id) !=
		    NULL) {
			env->recipients[kept++] = env->recipients[i];
			continue;
		}
		log_warnx("checkin=%s alert=%s: recipient %s is no longer "
		          "known; left out",
		    ck->cid, env->alert_id, env->recipients[i].id);
		free(env->recipients[i].ciphertext);
	}
	env->nrecipients = kept;
}

static size_t
checkin_known(const struct checkin *ck, const struct envelope *env)
{
	size_t i, known = 0;

	for (i = 0; i < env->nrecipients; i++)
		if (relay_config_recipient(ck->relay->cfg,
		        env->recipients[i].id) != NULL)
			known++;
	return known;
}

static void checkin_unsealed_cb(json_t *reply, const char *err, void *arg);

/* A recipient this relay does not know must not hold back the alarm of
 * those it knows for long: with no relay of the newer directory running
 * (one stopped, a rolling upgrade, a rollback), giving it back for ever
 * would raise nothing at all.  After DIRECTORY_GIVEBACK_MAX_MS with
 * none running (the claim's newer_alive, alive.h) it is raised here, the
 * unknown recipients left out (checkin_route says which). */
static int
checkin_waited_enough(const struct checkin *ck)
{
	int64_t waited = now_ms() - ck->deferred_ms;

	/* running, a relay with the newer directory raises it, however
	 * long it takes to get round to it (busy, reloading) */
	if (ck->newer_alive || ck->deferred_ms <= 0 ||
	    waited < DIRECTORY_GIVEBACK_MAX_MS)
		return 0;
	log_warnx("checkin=%s: given back for %lld ms and no relay with "
	          "directory version %lld took it: raised here to the "
	          "recipients this relay knows",
	    ck->cid, (long long)waited, ck->dirv);
	return 1;
}

/* The claimed envelope, verified at start, into the alerts.  route: as
 * claimed; when none of its recipients is known any more, its notice
 * goes first (checkin_unsealed.h), then it comes back here as it is. */
static void
checkin_release(struct checkin *ck, const char *env64, int route)
{
	unsigned char hash[crypto_hash_sha256_BYTES], *json = NULL;
	char hex[crypto_hash_sha256_BYTES * 2 + 1], err[128];
	struct envelope env;
	size_t len, known;

	if (env64 == NULL ||
	    b64_decode(env64, strlen(env64), &json, &len) != 0 ||
	    envelope_decode((const char *)json, len, &env, err, sizeof(err)) !=
	        0) {
		free(json);
		log_warnx("checkin=%s: stored envelope unusable", ck->cid);
		checkin_released(ck, "unusable");
		return;
	}
	crypto_hash_sha256(hash, json, len);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	free(json);
	known = checkin_known(ck, &env);
	if (route && directory_version_behind(ck->relay, ck->dirv) &&
	    known < env.nrecipients && !checkin_waited_enough(ck)) {
		envelope_free(&env);
		checkin_defer(ck, "a recipient of its alert is not known");
		return;
	}
	if (route && known == 0) {
		ck->env64 = xstrdup(env64);
		ck->req = store_eval(ck->relay->store, script_checkin_unsealed,
		    checkin_unsealed_args(ck->relay, &env, ck->cid),
		    checkin_unsealed_cb, ck);
		envelope_free(&env);
		return;
	}
	if (route)
		checkin_route(ck, &env);
	else
		ck->unreached = checkin_unsealed_unreached(ck->relay, &env);
	snprintf(ck->alert_id, sizeof(ck->alert_id), "%s", env.alert_id);
	snprintf(ck->device_id, sizeof(ck->device_id), "%s", env.device_id);
	ck->ingest = ingest_alert_as(ck->relay, &env, hex, ck->duress,
	    checkin_ingest_cb, ck);
	envelope_free(&env);
}

/* Its recipients are told; the alert is stored all the same, for its
 * SMS tiers and for whoever looks at the open alerts. */
static void
checkin_unsealed_cb(json_t *reply, const char *err, void *arg)
{
	struct checkin *ck = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));
	char *env64 = ck->env64;

	ck->req = NULL;
	ck->env64 = NULL;
	if (reply == NULL) {
		/* The lease runs out and it is tried again. */
		log_warnx("checkin=%s: notice not stored yet: %s", ck->cid,
		    err);
		free(env64);
		duepoll_next(ck->poll);
		return;
	}
	if (r != NULL && strcmp(r, "new") == 0) {
		metrics.checkins_unsealed++;
		log_warnx("checkin missed checkin=%s: none of its alert's "
		          "recipients is known any more; raised without "
		          "webhooks, device.checkin_failed to %lld recipients",
		    ck->cid,
		    (long long)json_integer_value(json_object_get(reply, "n")));
	}
	checkin_release(ck, env64, 0);
	free(env64);
}

/* A device removed from the directory since it started the check-in
 * raises nothing (its erasure, alertctl device forget, removes the
 * check-in itself): the check-in ends, and the audit log says so.  A
 * device revoked since raises it all the same: revocation is what a
 * phone lost or stolen gets, and one taken from the official is what
 * the check-in is for.  Its alarm was sealed and signed by the device
 * when it started, while valid; receivers mark a revoked device's alert
 * (hook_judge).  The relay takes nothing else from the device. */
static int
checkin_device_gone(struct checkin *ck, const char *dev)
{
	const struct device_entry *d =
	    dev != NULL ? relay_config_device(ck->relay->cfg, dev) : NULL;
	char actor[ID_MAX + 8], object[48];

	if (d != NULL) {
		if (d->revoked)
			log_warnx("checkin=%s: its device %s is revoked since "
			          "it started (lost or stolen?); raised all "
			          "the same",
			    ck->cid, dev);
		ck->revoked = d->revoked != 0;
		return 0;
	}
	if (directory_version_behind(ck->relay, ck->dirv)) {
		checkin_defer(ck, "its device is not enrolled");
		return 1;
	}
	log_warnx("checkin=%s: its device is no longer enrolled; not raised",
	    ck->cid);
	snprintf(actor, sizeof(actor), "device:%s", dev != NULL ? dev : "?");
	snprintf(object, sizeof(object), "checkin:%s", ck->cid);
	audit_relay(ck->relay, "alert.refused", object, "refused", NULL,
	    "checkin", actor, "unknown_device");
	checkin_released(ck, "unknown_device");
	return 1;
}

static void
checkin_claimed_cb(json_t *reply, const char *err, void *arg)
{
	struct checkin *ck = arg;
	const char *r = json_string_value(json_object_get(reply, "r"));

	ck->req = NULL;
	json_decref(ck->unreached);
	ck->unreached = NULL;
	if (reply == NULL || r == NULL || strcmp(r, "release") != 0) {
		if (reply == NULL)
			log_warnx("checkin=%s: %s", ck->cid, err);
		duepoll_next(ck->poll);
		return;
	}
	ck->dirv = json_is_integer(json_object_get(reply, "dirv"))
	    ? (long long)json_integer_value(json_object_get(reply, "dirv"))
	    : -1;
	ck->deferred_ms = json_is_integer(json_object_get(reply, "deferred_ms"))
	    ? (long long)json_integer_value(
	          json_object_get(reply, "deferred_ms"))
	    : 0;
	ck->newer_alive = json_is_true(json_object_get(reply, "newer_alive"));
	if (checkin_device_gone(ck,
	        json_string_value(json_object_get(reply, "dev"))))
		return;
	ck->duress = json_is_true(json_object_get(reply, "duress"));
	checkin_release(ck,
	    json_string_value(json_object_get(reply, "envelope")), 1);
}

/* script_checkin_claim's argument: with this relay's directory version
 * "v", for the script's newer_alive (alive.h). */
static json_t *
checkin_claim_args(const struct checkin *ck, const char *ms, const char *lease)
{
	const struct directory *dir = ck->relay->cfg->dir;
	json_t *args = json_pack("{s:s, s:s, s:s}", "cid", ck->cid, "now_ms",
	    ms, "lease_ms", lease);

	if (dir != NULL)
		json_object_set_new(args, "v",
		    json_integer((json_int_t)dir->version));
	return args;
}
/* The releases this relay gave back a moment ago, for script_due to
 * pass over (duepoll.h). */
static json_t *
checkin_skipped(void *arg)
{
	const struct checkin *ck = arg;
	int64_t t = monotonic_ms();
	json_t *skip = json_array();
	size_t i;

	for (i = 0; i < CHECKIN_SKIPS; i++)
		if (ck->skip[i].until > t)
			json_array_append_new(skip,
			    json_string(ck->skip[i].member));
	return skip;
}

static void
checkin_due_cb(struct duepoll *p, const char *member, void *arg)
{
	struct checkin *ck = arg;
	const char *bar = strchr(member, '|');
	char now[RFC3339_LEN], ms[24], lease[24];
	int64_t t = now_ms();

	if (bar == NULL || bar - member != 32 ||
	    (bar[1] != 'r' && bar[1] != 'x')) {
		duepoll_next(p);
		return;
	}
	snprintf(ck->cid, sizeof(ck->cid), "%.32s", member);
	time_rfc3339_ms(now, t);
	snprintf(ms, sizeof(ms), "%lld", (long long)t);
	snprintf(lease, sizeof(lease), "%lld",
	    (long long)(t + CHECKIN_LEASE_MS));
	snprintf(ck->lease, sizeof(ck->lease), "%s", lease);
	if (bar[1] == 'r')
		ck->req = store_eval(ck->relay->store, script_checkin_remind,
		    json_pack("{s:s, s:s}", "cid", ck->cid, "now", now),
		    checkin_next_cb, ck);
	else
		ck->req = store_eval(ck->relay->store, script_checkin_claim,
		    checkin_claim_args(ck, ms, lease), checkin_claimed_cb, ck);
}

struct checkin *
checkin_new(struct relay *relay)
{
	struct checkin *ck = xcalloc(1, sizeof(*ck));

	ck->relay = relay;
	ck->limit = ratelimit_new(relay->cfg->checkin_rate / 3600.0,
	    (double)relay->cfg->checkin_burst, 16384);
	ck->poll = duepoll_new(relay, script_due, "checkin_timers",
	    CHECKIN_POLL_MS, checkin_due_cb, checkin_skipped, ck);
	return ck;
}

void
checkin_reconfigure(struct checkin *ck)
{
	if (ck == NULL)
		return;
	/* with a newer directory, what it gave back it may raise now */
	memset(ck->skip, 0, sizeof(ck->skip));
	ratelimit_set(ck->limit, ck->relay->cfg->checkin_rate / 3600.0,
	    (double)ck->relay->cfg->checkin_burst);
}

/* Safe to leave at any point, as a crash would: a timer not claimed
 * stays due in Redis; one claimed has a lease (CHECKIN_LEASE_MS), after
 * which any relay claims it again, its state "releasing" still, and
 * raises its alert once (ingest takes a second store of that alert_id
 * as the duplicate it is). */
void
checkin_pause(struct checkin *ck)
{
	if (ck != NULL)
		duepoll_pause(ck->poll);
}

void
checkin_free(struct checkin *ck)
{
	if (ck == NULL)
		return;
	store_req_cancel(ck->req);
	ingest_cancel(ck->ingest);
	free(ck->env64);
	json_decref(ck->unreached);
	duepoll_free(ck->poll);
	ratelimit_free(ck->limit);
	free(ck);
}
