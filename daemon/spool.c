/*
 * The local spool (spool.h): what an alert Redis could not take goes
 * through, from its record in the file to its move into Redis.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dispatch.h"
#include "evtimer_ms.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "relay_config.h"
#include "sms_gateway.h"
#include "spool.h"
#include "spool_adopt.h"
#include "spool_file.h"
#include "spool_meta.h"
#include "spool_record.h"
#include "store.h"
#include "store_scripts.h"
#include "util.h"
#include "xmalloc.h"

/*
 * Moving alerts into Redis is tried again on a timer of the spool's own,
 * not only when Redis connects again: a Redis that refuses writes
 * (maxmemory), loads its data, runs a long script or is paused keeps the
 * connection up, and its alerts would wait for a reconnect that never
 * comes.  The first failure in a row is logged, then one line every 30 s.
 */
#define SPOOL_RETRY_MIN_MS 500
#define SPOOL_RETRY_MAX_MS 5000
#define SPOOL_FAIL_LOG_MS 30000

struct spool_alert {
	TAILQ_ENTRY(spool_alert) entry;
	struct spool *sp;
	TAILQ_HEAD(, spool_wait) waits; /* devices told once it is durable */
	char aid[33];
	json_t *args; /* the ingest script's arguments */
	json_t *done; /* ["rid|channel", ...] delivered from here */
	json_t *queued; /* ["rid|channel", ...] an SMS gateway keeps */
	int migrated;
	int stored; /* in Redis, waiting for replicas: Redis delivers it */
	int held; /* Redis refused it for good: kept (spool_hold) */
	int durable; /* its record synced: accepted, delivered, moved */
	size_t active; /* local deliveries not finished */
};

struct spool {
	struct relay *relay;
	char *path;
	struct spool_file *file;
	TAILQ_HEAD(, spool_alert) alerts;
	struct spool_alert *migrating;
	json_t *moved; /* its script's answer, while WAIT runs */
	struct store_req *req;
	struct event *retry; /* the next attempt; never armed with req */
	long backoff_ms;
	unsigned long nfail; /* attempts failed in a row */
	int64_t fail_logged_ms; /* monotonic */
	size_t skipped; /* lines not read back at start */
};

/*
 * A mark ("done", "queued", "migrated"), one line, synced by the next
 * group commit but waited for by nobody: no device or recipient is told
 * anything on its strength.  Lost to a crash (or a failed sync, as when
 * each was synced alone and its failure ignored), it costs what a mark
 * not written costs: a notification made again (at least once, same
 * webhook-id) or a move into Redis tried again ("dup").  Each follows
 * its alert's record in the file, which a sync covers first.
 */
static int
spool_append(struct spool *sp, json_t *rec)
{
	return spool_file_append(sp->file, rec, NULL, NULL);
}

static struct spool_alert *
spool_find(struct spool *sp, const char *aid)
{
	struct spool_alert *a;

	TAILQ_FOREACH(a, &sp->alerts, entry)
	if (strcmp(a->aid, aid) == 0)
		return a;
	return NULL;
}

static struct spool_alert *
spool_add(struct spool *sp, json_t *args, int durable)
{
	struct spool_alert *a = xcalloc(1, sizeof(*a));

	a->sp = sp;
	a->durable = durable;
	TAILQ_INIT(&a->waits);
	snprintf(a->aid, sizeof(a->aid), "%s",
	    json_string_value(json_object_get(args, "aid")));
	a->args = json_incref(args);
	a->done = json_array();
	a->queued = json_array();
	TAILQ_INSERT_TAIL(&sp->alerts, a, entry);
	return a;
}

/* An alert no longer in the list. */
static void
spool_release_alert(struct spool_alert *a)
{
	struct spool_wait *w;

	while ((w = TAILQ_FIRST(&a->waits)) != NULL) /* not told */
		spool_accept_cancel(w);
	json_decref(a->args);
	json_decref(a->done);
	json_decref(a->queued);
	free(a);
}

static void
spool_free_alert(struct spool *sp, struct spool_alert *a)
{
	TAILQ_REMOVE(&sp->alerts, a, entry);
	spool_release_alert(a);
}

/* A "done" or "queued" record for each "rid|channel" of keys. */
static void
spool_key_records(json_t *recs, const char *op, const struct spool_alert *a,
    json_t *keys)
{
	json_t *v;
	const char *bar, *key;
	size_t i;

	json_array_foreach(keys, i, v)
	{
		key = json_string_value(v);
		if ((bar = strrchr(key, '|')) == NULL)
			continue;
		json_array_append_new(recs,
		    json_pack("{s:s, s:s, s:s%, s:s}", "op", op, "aid", a->aid,
		        "rid", key, (size_t)(bar - key), "ch", bar + 1));
	}
}

/* The records that bring a held alert back at the next start. */
static json_t *
spool_held_records(struct spool *sp)
{
	json_t *recs = json_array();
	struct spool_alert *a;

	TAILQ_FOREACH(a, &sp->alerts, entry)
	{
		if (!a->held)
			continue;
		json_array_append_new(recs,
		    json_pack("{s:s, s:O}", "op", "alert", "args", a->args));
		spool_key_records(recs, "done", a, a->done);
		spool_key_records(recs, "queued", a, a->queued);
	}
	return recs;
}

/*
 * Every alert is in Redis or held, and nothing is in flight: what is in
 * Redis leaves the file.  Without held alerts the file is emptied; with
 * them it is replaced by one with only theirs (and only when that drops
 * something, not after each of their deliveries).  Not while a sync runs
 * or lines wait for one: tried again when the file is idle.
 */
static void
spool_compact(struct spool *sp)
{
	struct spool_alert *a, *next;
	size_t nheld = 0, nmigrated = 0;

	if (!spool_file_idle(sp->file))
		return;
	TAILQ_FOREACH(a, &sp->alerts, entry)
	{
		if ((!a->migrated && !a->held) || a->active > 0)
			return;
		nheld += a->held != 0;
		nmigrated += a->migrated != 0;
	}
	if (nheld == 0) {
		while ((a = TAILQ_FIRST(&sp->alerts)) != NULL)
			spool_free_alert(sp, a);
		if (spool_file_size(sp->file) > 0 &&
		    spool_file_truncate(sp->file) == 0)
			log_info("spool emptied: every alert is in redis");
		return;
	}
	if (nmigrated == 0 ||
	    spool_file_replace(sp->file, spool_held_records(sp)) != 0)
		return; /* on failure the old file stays, with everything */
	for (a = TAILQ_FIRST(&sp->alerts); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (a->migrated)
			spool_free_alert(sp, a);
	}
	log_info("spool compacted: it holds only the alerts redis refused "
	         "(held=%zu)",
	    nheld);
}

static void spool_migrate_next(struct spool *sp);

/*
 * Delivered, or queued by an SMS gateway: either is recorded, so that
 * neither a restart nor the move into Redis sends it again (a queued SMS
 * sent again would be one more copy in the gateway's queue).  A failure
 * is not: Redis tries it again once the alert is there.
 */
static void
spool_local_done(const struct delivery_entry *e, enum local_result res,
    void *arg)
{
	struct spool *sp = arg;
	struct spool_alert *a = spool_find(sp, e->alert_id);
	const char *op = res == LOCAL_DONE ? "done" : "queued";
	char key[ID_MAX + 24];

	if (a == NULL)
		return;
	a->active--;
	if (res != LOCAL_FAILED) {
		snprintf(key, sizeof(key), "%s|%s", e->recipient_id,
		    e->channel);
		json_array_append_new(res == LOCAL_DONE ? a->done : a->queued,
		    json_string(key));
		spool_append(sp,
		    json_pack("{s:s, s:s, s:s, s:s}", "op", op, "aid", a->aid,
		        "rid", e->recipient_id, "ch", e->channel));
	}
	spool_compact(sp);
}

static int
spool_has_key(json_t *keys, const char *key)
{
	json_t *v;
	size_t i;

	json_array_foreach(keys, i,
	    v) if (strcmp(json_string_value(v), key) == 0) return 1;
	return 0;
}

/* Delivered from here, or queued by an SMS gateway: not sent again. */
static int
spool_done(const struct spool_alert *a, const char *rid, const char *ch)
{
	char key[ID_MAX + 24];

	snprintf(key, sizeof(key), "%s|%s", rid, ch);
	return spool_has_key(a->done, key) || spool_has_key(a->queued, key);
}

/* The first notifications, from memory: Redis is not there to hold
 * them.  A check-in released under duress goes out as it would from
 * Redis: alert.duress to every tier, marked (spool_meta.h). */
static void
spool_deliver(struct spool *sp, struct spool_alert *a)
{
	json_t *now = json_object_get(a->args, "now"), *d, *meta;
	struct delivery_entry e;
	size_t i;

	json_array_foreach(now, i, d)
	{
		if (spool_done(a, json_string_value(json_array_get(d, 0)),
		        json_string_value(json_array_get(d, 1))))
			continue;
		memset(&e, 0, sizeof(e));
		snprintf(e.alert_id, sizeof(e.alert_id), "%s", a->aid);
		snprintf(e.recipient_id, sizeof(e.recipient_id), "%s",
		    json_string_value(json_array_get(d, 0)));
		snprintf(e.channel, sizeof(e.channel), "%s",
		    json_string_value(json_array_get(d, 1)));
		/* Like a stream id, it starts with the time it was decided. */
		snprintf(e.stream_id, sizeof(e.stream_id), "%s-s%.8s%zu",
		    json_string_value(json_object_get(a->args, "received_ms")),
		    a->aid, i);
		spool_meta_event(a->args, &e);
		e.valid = 1;
		meta = spool_meta(a->args, e.recipient_id);
		a->active++;
		dispatch_add_local(sp->relay->dispatch, &e, meta,
		    spool_local_done, sp);
		json_decref(meta);
	}
}

static void
spool_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spool *sp = arg;

	(void)fd;
	(void)what;
	/* Not connected: spool_resume() starts again once it is. */
	if (store_ready(sp->relay->store))
		spool_migrate_next(sp);
}

/* The next attempt after a backoff, unless one is on its way. */
static void
spool_retry_later(struct spool *sp)
{
	if (sp->req != NULL || evtimer_pending(sp->retry, NULL))
		return;
	evtimer_add_ms(sp->retry, sp->backoff_ms);
	sp->backoff_ms *= 2;
	if (sp->backoff_ms > SPOOL_RETRY_MAX_MS)
		sp->backoff_ms = SPOOL_RETRY_MAX_MS;
}

/*
 * Redis did not take the alert now: it stays pending, and is tried again
 * after a backoff whether the connection stays up or not.  It goes after
 * the others, so that one Redis refuses for a reason of its own does not
 * hold them up.
 */
static void
spool_migrate_failed(struct spool *sp, struct spool_alert *a, const char *why)
{
	int64_t now = monotonic_ms();
	long next_ms = sp->backoff_ms;

	TAILQ_REMOVE(&sp->alerts, a, entry);
	TAILQ_INSERT_TAIL(&sp->alerts, a, entry);
	spool_retry_later(sp);
	if (sp->nfail++ == 0 || now - sp->fail_logged_ms >= SPOOL_FAIL_LOG_MS) {
		sp->fail_logged_ms = now;
		log_warnx("spool: moving alert=%s into redis failed "
		          "(failures=%lu pending=%zu retry_ms=%ld): %s",
		    a->aid, sp->nfail, spool_pending(sp), next_ms, why);
	} else
		log_debug("spool: moving alert=%s into redis failed "
		          "(failures=%lu pending=%zu retry_ms=%ld): %s",
		    a->aid, sp->nfail, spool_pending(sp), next_ms, why);
}

/*
 * "noref": every candidate reference of the alert is taken in Redis, and
 * they stay taken for weeks, so the same ones would fail as long.  The
 * next attempt offers the one the device was given first (should it be
 * free by then), then fresh ones.
 */
static void
spool_fresh_refs(struct spool_alert *a)
{
	json_t *refs = json_array();

	json_array_append(refs, json_object_get(a->args, "ref_local"));
	ingest_refs(refs);
	json_object_set_new(a->args, "refs", refs);
}

/*
 * "conflict": Redis holds another alert with this id and a different
 * envelope, so this one can never be moved there; dropping it would lose
 * an alert its device was told is accepted.  It stays in the spool, and
 * in its file through every compaction, without escalation: an operator
 * must look, so it is logged as an error (again after each start) and
 * counted in alertrelay_spool_refused.
 */
static void
spool_hold(struct spool *sp, struct spool_alert *a)
{
	a->held = 1;
	metrics.spool_refused++;
	log_errorx("spool: alert=%s refused by redis (conflict): it holds "
	           "another alert with this id and a different envelope; "
	           "kept in %s without escalation; an operator must look "
	           "(alertrelayd(8), LOCAL SPOOL)",
	    a->aid, sp->path);
}

static void
spool_moved(struct spool *sp, struct spool_alert *a, json_t *reply)
{
	const char *ref = json_string_value(json_object_get(reply, "ref"));
	const char *told =
	    json_string_value(json_object_get(a->args, "ref_local"));

	log_info("spool: alert=%s moved into redis relay_id=%s", a->aid,
	    json_string_value(json_object_get(reply, "id")));
	/* The device and the first tier had ref_local, taken meanwhile. */
	if (ref != NULL && told != NULL && strcmp(ref, told) != 0)
		log_warnx("spool: alert=%s has another reference in redis "
		          "than its device and first tier were given (that "
		          "one was taken)",
		    a->aid);
	a->migrated = 1;
	spool_append(sp,
	    json_pack("{s:s, s:s}", "op", "migrated", "aid", a->aid));
}

/* One alert is done with: on to the next, without a backoff. */
static void
spool_migrate_on(struct spool *sp)
{
	sp->nfail = 0;
	sp->backoff_ms = SPOOL_RETRY_MIN_MS;
	spool_migrate_next(sp);
}

/*
 * With [redis] min_replicas an alert counts as moved only once that many
 * replicas hold it, as an alert Redis took directly counts as accepted
 * only then (ingest.c): the spool is the alert's only copy a failover
 * cannot lose, so it keeps the alert until then, and tries again after a
 * backoff (the script then answers "dup" and WAIT runs again).
 */
static void
spool_replicated_cb(int ok, const char *err, void *arg)
{
	struct spool *sp = arg;
	struct spool_alert *a = sp->migrating;
	json_t *reply = sp->moved;
	char why[160];

	sp->req = NULL;
	sp->migrating = NULL;
	sp->moved = NULL;
	if (ok)
		spool_moved(sp, a, reply);
	else {
		snprintf(why, sizeof(why),
		    "in redis, not on enough replicas: %s",
		    err != NULL ? err : "?");
		spool_migrate_failed(sp, a, why);
	}
	json_decref(reply);
	if (ok)
		spool_migrate_on(sp);
}

/*
 * Redis holds it ("new" or "dup"): on the replicas too, if asked for.
 * Until they hold it the alert stays in the spool, but it is Redis's to
 * deliver, escalate and close: marked "stored", a restart does not send
 * its first notifications again from here (it could not know the alert
 * was cancelled meanwhile), it only tries the move, WAIT, again.  Should
 * the mark not reach the disk, a restart sends them again, as before.
 */
/* Nobody waits for the mark (WAIT runs meanwhile); not on disk, it is
 * written again at the next attempt, as when its write failed.  The alert
 * outlives the wait: it is freed only when the file is idle. */
static void
spool_stored_synced(int ok, void *arg)
{
	struct spool_alert *a = arg;

	if (!ok)
		a->stored = 0;
}

static void
spool_stored(struct spool *sp, struct spool_alert *a, json_t *reply)
{
	const struct relay_config *cfg = sp->relay->cfg;

	if (cfg->redis_min_replicas <= 0) {
		spool_moved(sp, a, reply);
		spool_migrate_on(sp);
		return;
	}
	if (!a->stored &&
	    spool_file_append(sp->file,
	        json_pack("{s:s, s:s}", "op", "stored", "aid", a->aid),
	        spool_stored_synced, a) == 0)
		a->stored = 1;
	sp->migrating = a;
	sp->moved = json_incref(reply);
	sp->req = store_wait_replicas(sp->relay->store, cfg->redis_min_replicas,
	    cfg->redis_timeout * 1000, spool_replicated_cb, sp);
}

static void
spool_migrated_cb(json_t *reply, const char *err, void *arg)
{
	struct spool *sp = arg;
	struct spool_alert *a = sp->migrating;
	const char *r = json_string_value(json_object_get(reply, "r"));

	sp->req = NULL;
	sp->migrating = NULL;
	if (r != NULL && strcmp(r, "conflict") == 0) {
		spool_hold(sp, a);
		spool_migrate_on(sp);
	} else if (r != NULL &&
	    (strcmp(r, "new") == 0 || strcmp(r, "dup") == 0))
		spool_stored(sp, a, reply);
	else if (r != NULL && strcmp(r, "noref") == 0) {
		spool_fresh_refs(a);
		spool_migrate_failed(sp, a,
		    "no free reference among its candidates; fresh ones next");
	} else
		spool_migrate_failed(sp, a,
		    err != NULL ? err : "unexpected answer");
}

/* What an SMS gateway keeps, for the ingest script to give up as
 * script_fail gives up an SMS queued with Redis up: [rid, channel,
 * alias] each, and the reason. */
static void
spool_queued_args(struct spool *sp, const struct spool_alert *a, json_t *args)
{
	const struct recipient_entry *r;
	json_t *q = json_array(), *v;
	const char *key, *bar;
	char rid[ID_MAX + 1];
	size_t i;

	json_array_foreach(a->queued, i, v)
	{
		key = json_string_value(v);
		if ((bar = strrchr(key, '|')) == NULL)
			continue;
		snprintf(rid, sizeof(rid), "%.*s", (int)(bar - key), key);
		r = relay_config_recipient(sp->relay->cfg, rid);
		json_array_append_new(q,
		    json_pack("[s, s, s]", rid, bar + 1,
		        r != NULL && r->alias != NULL ? r->alias : rid));
	}
	json_object_set_new(args, "queued", q);
	json_object_set_new(args, "queued_reason",
	    json_string(SMS_QUEUED_REASON));
}

static void
spool_migrate_next(struct spool *sp)
{
	struct spool_alert *a;
	json_t *args;

	if (sp->req != NULL || evtimer_pending(sp->retry, NULL))
		return;
	/* Not waiting for its notifications from here to end: one whose
	 * receiver is down is retried for minutes, and the alert would not
	 * escalate meanwhile.  So one under way when the alert moves is
	 * made again from Redis (docs/RELIABILITY.md, at least once). */
	TAILQ_FOREACH(a, &sp->alerts, entry)
	if (!a->migrated && !a->held && a->durable)
		break;
	if (a == NULL) {
		spool_compact(sp);
		return;
	}
	args = json_deep_copy(a->args);
	json_object_set(args, "done", a->done);
	spool_queued_args(sp, a, args);
	json_object_del(args, "ref_local");
	sp->migrating = a;
	sp->req = store_eval(sp->relay->store, script_ingest, args,
	    spool_migrated_cb, sp);
}

void
spool_resume(struct spool *sp)
{
	if (sp == NULL || spool_pending(sp) == 0)
		return;
	log_info("redis is back: moving %zu spooled alerts into it",
	    spool_pending(sp));
	evtimer_del(sp->retry);
	sp->backoff_ms = SPOOL_RETRY_MIN_MS;
	sp->nfail = 0;
	spool_migrate_next(sp);
}

int
spool_holds(const struct spool *sp, const char *alert_id)
{
	const struct spool_alert *a;

	TAILQ_FOREACH(a, &sp->alerts, entry)
	if (!a->migrated && strcmp(a->aid, alert_id) == 0)
		return 1;
	return 0;
}

size_t
spool_pending(const struct spool *sp)
{
	const struct spool_alert *a;
	size_t n = 0;

	TAILQ_FOREACH(a, &sp->alerts, entry)
	n += !a->migrated && !a->held;
	return n;
}

/* The answer to a device for a, as result. */
static void
spool_reply(const struct spool_alert *a, int result, struct ingest_reply *out)
{
	memset(out, 0, sizeof(*out));
	out->result = result;
	snprintf(out->relay_id, sizeof(out->relay_id), "spool-%.16s", a->aid);
	snprintf(out->received_at, sizeof(out->received_at), "%s",
	    json_string_value(json_object_get(a->args, "received")));
	snprintf(out->ref, sizeof(out->ref), "%s",
	    json_string_value(json_object_get(a->args, "ref_local")));
}

/*
 * The alert's record synced, or not.  Synced, its devices hear
 * "accepted", its first tier goes out and its move into Redis may start;
 * not, they hear that the spool failed, and it is gone from memory as
 * from the file, as if never written (the devices send it again).
 */
static void
spool_alert_synced(int ok, void *arg)
{
	struct spool_alert *a = arg;
	struct spool *sp = a->sp;
	struct ingest_reply out;
	struct spool_wait *w;

	if (ok) {
		a->durable = 1;
		log_warnx("alert alert=%s accepted into the local spool: "
		          "redis unavailable",
		    a->aid);
	} else /* a resend its answer brings makes a new record */
		TAILQ_REMOVE(&sp->alerts, a, entry);
	/* One at a time: an answer may cancel another device's wait. */
	while ((w = TAILQ_FIRST(&a->waits)) != NULL) {
		TAILQ_REMOVE(&a->waits, w, entry);
		w->alert = NULL;
		if (ok)
			spool_reply(a, w->result, &out);
		w->cb(ok ? &out : NULL, w->arg);
	}
	if (!ok) {
		spool_release_alert(a);
		return;
	}
	/* Stopping (its device no longer waits): no delivery starts in
	 * the drain; the next start delivers it from the file. */
	if (sp->relay->stopping)
		return;
	spool_deliver(sp, a);
	/* Redis answered, but not with the alert stored, or too late: the
	 * connection may well stay up, so no reconnect will start the
	 * move. */
	if (store_ready(sp->relay->store))
		spool_retry_later(sp);
}

static void
spool_wait_on(struct spool_alert *a, struct spool_wait *w, int result,
    spool_accepted_cb cb, void *arg)
{
	w->alert = a;
	w->result = result;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&a->waits, w, entry);
}

int
spool_accept(struct spool *sp, json_t *args, struct ingest_reply *out,
    struct spool_wait *w, spool_accepted_cb cb, void *arg)
{
	const char *aid = json_string_value(json_object_get(args, "aid"));
	const char *hash = json_string_value(json_object_get(args, "hash"));
	const char *ref =
	    json_string_value(json_array_get(json_object_get(args, "refs"), 0));
	struct spool_alert *a = spool_find(sp, aid);
	int result;

	if (a != NULL) {
		result = strcmp(hash,
		             json_string_value(
		                 json_object_get(a->args, "hash"))) == 0
		    ? INGEST_DUPLICATE
		    : INGEST_CONFLICT;
		/* A resend while the first copy's sync runs: the same
		 * answer, at the same time. */
		if (!a->durable) {
			spool_wait_on(a, w, result, cb, arg);
			return 0;
		}
		spool_reply(a, result, out);
		return 1;
	}
	json_object_set_new(args, "ref_local", json_string(ref));
	a = spool_add(sp, args, 0);
	if (spool_file_append(sp->file,
	        json_pack("{s:s, s:O}", "op", "alert", "args", args),
	        spool_alert_synced, a) != 0) {
		spool_free_alert(sp, a);
		return -1;
	}
	spool_wait_on(a, w, INGEST_NEW, cb, arg);
	return 0;
}

void
spool_accept_cancel(struct spool_wait *w)
{
	if (w->alert == NULL)
		return;
	TAILQ_REMOVE(&w->alert->waits, w, entry);
	w->alert = NULL;
}

/* One record read back; a second copy of an alert is ignored. */
static void
spool_replay_record(struct spool *sp, struct spool_record *rec)
{
	struct spool_alert *a = spool_find(sp, rec->aid);

	if (rec->op == SPOOL_ALERT) {
		if (a == NULL)
			spool_add(sp, rec->args, 1);
	} else if (a == NULL)
		;
	else if (rec->op == SPOOL_MIGRATED)
		a->migrated = 1;
	else if (rec->op == SPOOL_STORED)
		a->stored = 1;
	else if (!spool_done(a, rec->rid, rec->ch)) /* taken over twice */
		json_array_append_new(rec->op == SPOOL_DONE ? a->done
		                                            : a->queued,
		    json_sprintf("%s|%s", rec->rid, rec->ch));
}

/* A line of the file at start.  A torn one (the last, without its
 * newline) was never acknowledged: even if it parses, it is skipped. */
static void
spool_replay_line(const char *line, size_t len, int torn, void *arg)
{
	struct spool *sp = arg;
	struct spool_record rec;

	if (torn || spool_record_parse(line, len, &rec) != 0) {
		sp->skipped++;
		return;
	}
	spool_replay_record(sp, &rec);
	spool_record_clear(&rec);
}

/* The last sync a compaction waited for has returned. */
static void
spool_idle_cb(void *arg)
{
	spool_compact(arg);
}

/* After a restart: what was accepted but not yet moved into Redis. */
struct spool *
spool_open(struct relay *relay, const char *dir)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));
	struct spool_alert *a;

	sp->relay = relay;
	/* Worker i > 0 has a file of its own (workers.h): one replays only
	 * what it wrote itself; worker 0 also those no worker runs for. */
	if (relay->worker > 0)
		sp->path = xasprintf("%s/spool.log.%d", dir, relay->worker);
	else
		sp->path = xasprintf("%s/spool.log", dir);
	TAILQ_INIT(&sp->alerts);
	sp->retry = evtimer_new(relay->base, spool_retry_cb, sp);
	sp->backoff_ms = SPOOL_RETRY_MIN_MS;
	if ((sp->file = spool_file_open(relay->base, sp->path,
	         spool_replay_line, sp)) == NULL) {
		spool_close(sp);
		return NULL;
	}
	spool_file_on_idle(sp->file, spool_idle_cb, sp);
	/* The files of workers a restart with fewer no longer runs: their
	 * records reach memory (durable) only once our copy is synced. */
	if (relay->worker <= 0)
		spool_adopt(dir, relay->cfg->workers, sp->file,
		    spool_replay_line, sp);
	if (sp->skipped > 0)
		log_warnx("spool %s: %zu lines skipped (torn or damaged)",
		    sp->path, sp->skipped);
	if (spool_pending(sp) > 0)
		log_warnx("spool holds %zu alerts not yet in redis; they move "
		          "there once it is reachable",
		    spool_pending(sp));
	/* Whatever a crash interrupted goes out again (same webhook-id);
	 * not what Redis holds already, and may have closed (spool_stored). */
	TAILQ_FOREACH(a, &sp->alerts, entry)
	if (!a->migrated && !a->stored)
		spool_deliver(sp, a);
	return sp;
}

void
spool_close(struct spool *sp)
{
	struct spool_alert *a;

	if (sp == NULL)
		return;
	store_req_cancel(sp->req);
	json_decref(sp->moved);
	if (sp->retry != NULL)
		event_free(sp->retry);
	/* First: a sync under way reaches the disk before the exit. */
	spool_file_close(sp->file);
	while ((a = TAILQ_FIRST(&sp->alerts)) != NULL)
		spool_free_alert(sp, a);
	free(sp->path);
	free(sp);
}
