#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "spool.h"
#include "spool_record.h"
#include "store.h"
#include "store_scripts.h"
#include "xmalloc.h"

struct spool_alert {
	TAILQ_ENTRY(spool_alert) entry;
	char aid[33];
	json_t *args; /* the ingest script's arguments */
	json_t *done; /* ["rid|channel", ...] delivered from here */
	int migrated;
	size_t active; /* local deliveries not finished */
};

struct spool {
	struct relay *relay;
	char *path;
	int fd;
	off_t size;
	TAILQ_HEAD(, spool_alert) alerts;
	struct spool_alert *migrating;
	struct store_req *req;
};

/* One record, one line, on disk before anything depends on it. */
static int
spool_append(struct spool *sp, json_t *rec)
{
	char *line = json_dumps(rec, JSON_COMPACT);
	size_t len = strlen(line);
	int rc = 0;

	line[len] = '\n'; /* json_dumps leaves room: len + 1 bytes */
	if (write(sp->fd, line, len + 1) != (ssize_t)(len + 1) ||
	    fdatasync(sp->fd) != 0) {
		log_warn("spool %s: writing", sp->path);
		rc = -1;
	} else
		sp->size += (off_t)(len + 1);
	metrics.spool_bytes = (uint64_t)sp->size;
	free(line);
	json_decref(rec);
	return rc;
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
spool_add(struct spool *sp, json_t *args)
{
	struct spool_alert *a = xcalloc(1, sizeof(*a));

	snprintf(a->aid, sizeof(a->aid), "%s",
	    json_string_value(json_object_get(args, "aid")));
	a->args = json_incref(args);
	a->done = json_array();
	TAILQ_INSERT_TAIL(&sp->alerts, a, entry);
	return a;
}

static void
spool_free_alert(struct spool *sp, struct spool_alert *a)
{
	TAILQ_REMOVE(&sp->alerts, a, entry);
	json_decref(a->args);
	json_decref(a->done);
	free(a);
}

/* Everything is in Redis and nothing is in flight: start a new file. */
static void
spool_compact(struct spool *sp)
{
	struct spool_alert *a;

	TAILQ_FOREACH(a, &sp->alerts, entry)
	if (!a->migrated || a->active > 0)
		return;
	while ((a = TAILQ_FIRST(&sp->alerts)) != NULL)
		spool_free_alert(sp, a);
	if (sp->size > 0 &&
	    (ftruncate(sp->fd, 0) != 0 || fdatasync(sp->fd) != 0))
		log_warn("spool %s: truncating", sp->path);
	else if (sp->size > 0)
		log_info("spool emptied: every alert is in redis");
	sp->size = 0;
	metrics.spool_bytes = 0;
}

static void
spool_local_done(const struct delivery_entry *e, int ok, void *arg)
{
	struct spool *sp = arg;
	struct spool_alert *a = spool_find(sp, e->alert_id);
	char key[ID_MAX + 24];

	if (a == NULL)
		return;
	a->active--;
	if (ok) {
		snprintf(key, sizeof(key), "%s|%s", e->recipient_id,
		    e->channel);
		json_array_append_new(a->done, json_string(key));
		spool_append(sp,
		    json_pack("{s:s, s:s, s:s, s:s}", "op", "done", "aid",
		        a->aid, "rid", e->recipient_id, "ch", e->channel));
	}
	spool_compact(sp);
}

static int
spool_done(const struct spool_alert *a, const char *rid, const char *ch)
{
	json_t *v;
	size_t i;
	char key[ID_MAX + 24];

	snprintf(key, sizeof(key), "%s|%s", rid, ch);
	json_array_foreach(a->done, i,
	    v) if (strcmp(json_string_value(v), key) == 0) return 1;
	return 0;
}

/* The first tier, from memory: Redis is not there to hold it. */
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
		snprintf(e.event, sizeof(e.event), "alert.raised");
		snprintf(e.tier, sizeof(e.tier), "0");
		e.valid = 1;
		meta = json_pack("{s:b, s:b, s:s, s:O, s:O, s:O, s:O, s:O}",
		    "exists", 1, "done", 0, "state", "open", "device_id",
		    json_object_get(a->args, "dev"), "alert_type",
		    json_object_get(a->args, "type"), "created_at",
		    json_object_get(a->args, "created"), "received_at",
		    json_object_get(a->args, "received"), "ref",
		    json_object_get(a->args, "ref_local"));
		json_object_set_new(meta, "drill",
		    json_boolean(json_object_get(a->args, "drill") != NULL));
		json_object_set(meta, "ciphertext",
		    json_object_get(json_object_get(a->args, "cts"),
		        e.recipient_id));
		a->active++;
		dispatch_add_local(sp->relay->dispatch, &e, meta,
		    spool_local_done, sp);
		json_decref(meta);
	}
}

static void spool_migrate_next(struct spool *sp);

static void
spool_migrated_cb(json_t *reply, const char *err, void *arg)
{
	struct spool *sp = arg;
	struct spool_alert *a = sp->migrating;
	const char *r = json_string_value(json_object_get(reply, "r"));

	sp->req = NULL;
	sp->migrating = NULL;
	if (reply == NULL) {
		log_warnx("spool: moving alert=%s into redis: %s; later",
		    a->aid, err);
		return; /* tried again when Redis is ready again */
	}
	if (r == NULL || (strcmp(r, "new") != 0 && strcmp(r, "dup") != 0))
		log_warnx("spool: alert=%s refused by redis (%s); kept only "
		          "in the spool's history",
		    a->aid, r != NULL ? r : "no answer");
	else
		log_info("spool: alert=%s moved into redis relay_id=%s", a->aid,
		    json_string_value(json_object_get(reply, "id")));
	a->migrated = 1;
	spool_append(sp,
	    json_pack("{s:s, s:s}", "op", "migrated", "aid", a->aid));
	spool_migrate_next(sp);
}

static void
spool_migrate_next(struct spool *sp)
{
	struct spool_alert *a;
	json_t *args;

	if (sp->req != NULL)
		return;
	TAILQ_FOREACH(a, &sp->alerts, entry)
	if (!a->migrated)
		break;
	if (a == NULL) {
		spool_compact(sp);
		return;
	}
	args = json_deep_copy(a->args);
	json_object_set(args, "done", a->done);
	json_object_del(args, "ref_local");
	sp->migrating = a;
	sp->req = store_eval(sp->relay->store, script_ingest, args,
	    spool_migrated_cb, sp);
}

void
spool_resume(struct spool *sp)
{
	if (sp != NULL && spool_pending(sp) > 0) {
		log_info("redis is back: moving %zu spooled alerts into it",
		    spool_pending(sp));
		spool_migrate_next(sp);
	}
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
	n += !a->migrated;
	return n;
}

int
spool_accept(struct spool *sp, json_t *args, struct ingest_reply *out)
{
	const char *aid = json_string_value(json_object_get(args, "aid"));
	const char *hash = json_string_value(json_object_get(args, "hash"));
	const char *ref =
	    json_string_value(json_array_get(json_object_get(args, "refs"), 0));
	struct spool_alert *a = spool_find(sp, aid);

	memset(out, 0, sizeof(*out));
	if (a != NULL) {
		out->result = strcmp(hash,
		                  json_string_value(
		                      json_object_get(a->args, "hash"))) == 0
		    ? INGEST_DUPLICATE
		    : INGEST_CONFLICT;
		args = a->args;
	} else {
		json_object_set_new(args, "ref_local", json_string(ref));
		if (spool_append(sp,
		        json_pack("{s:s, s:O}", "op", "alert", "args", args)) !=
		    0)
			return -1;
		a = spool_add(sp, args);
		out->result = INGEST_NEW;
		log_warnx("alert alert=%s accepted into the local spool: redis "
		          "unavailable",
		    aid);
		spool_deliver(sp, a);
	}
	snprintf(out->relay_id, sizeof(out->relay_id), "spool-%.16s", aid);
	snprintf(out->received_at, sizeof(out->received_at), "%s",
	    json_string_value(json_object_get(args, "received")));
	snprintf(out->ref, sizeof(out->ref), "%s",
	    json_string_value(json_object_get(args, "ref_local")));
	return 0;
}

/* One record read back; a second copy of an alert is ignored. */
static void
spool_replay_record(struct spool *sp, struct spool_record *rec)
{
	struct spool_alert *a = spool_find(sp, rec->aid);

	if (rec->op == SPOOL_ALERT) {
		if (a == NULL)
			spool_add(sp, rec->args);
	} else if (a == NULL)
		;
	else if (rec->op == SPOOL_MIGRATED)
		a->migrated = 1;
	else
		json_array_append_new(a->done,
		    json_sprintf("%s|%s", rec->rid, rec->ch));
}

/* After a restart: what was accepted but not yet moved into Redis. */
static void
spool_replay(struct spool *sp)
{
	FILE *f = fopen(sp->path, "r");
	char *line = NULL;
	size_t cap = 0, skipped = 0;
	ssize_t n;
	struct spool_record rec;

	if (f == NULL)
		return;
	while ((n = getline(&line, &cap, f)) > 0) {
		/* A torn last line was never acknowledged: skip it. */
		if (spool_record_parse(line, (size_t)n, &rec) != 0) {
			skipped++;
			continue;
		}
		spool_replay_record(sp, &rec);
		spool_record_clear(&rec);
	}
	free(line);
	fclose(f);
	if (skipped > 0)
		log_warnx("spool %s: %zu lines skipped (torn or damaged)",
		    sp->path, skipped);
	if (spool_pending(sp) > 0)
		log_warnx("spool holds %zu alerts not yet in redis; they move "
		          "there once it is reachable",
		    spool_pending(sp));
}

struct spool *
spool_open(struct relay *relay, const char *dir)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));
	struct spool_alert *a;
	struct stat st;

	sp->relay = relay;
	/* Worker i > 0 has a file of its own (workers.h): one replays only
	 * what it wrote itself. */
	if (relay->worker > 0)
		sp->path = xasprintf("%s/spool.log.%d", dir, relay->worker);
	else
		sp->path = xasprintf("%s/spool.log", dir);
	TAILQ_INIT(&sp->alerts);
	spool_replay(sp);
	sp->fd =
	    open(sp->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (sp->fd == -1 || fstat(sp->fd, &st) != 0) {
		log_warn("spool %s", sp->path);
		spool_close(sp);
		return NULL;
	}
	sp->size = st.st_size;
	metrics.spool_bytes = (uint64_t)sp->size;
	/* Whatever a crash interrupted goes out again (same webhook-id). */
	TAILQ_FOREACH(a, &sp->alerts, entry)
	if (!a->migrated)
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
	while ((a = TAILQ_FIRST(&sp->alerts)) != NULL)
		spool_free_alert(sp, a);
	if (sp->fd > 0)
		close(sp->fd);
	free(sp->path);
	free(sp);
}
