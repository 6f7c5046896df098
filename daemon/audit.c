/*
 * The relay's audit chain: records are numbered and linked here, in the
 * order audit_log() is called, then sent to Redis in order, one batch
 * at a time (script_audit_append, which skips what it already has, so a
 * batch sent again after a lost answer is not doubled) and copied to the
 * file.  Until the chain's last record has been read from Redis
 * (script_audit_load) new records wait, unnumbered.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "audit_file.h"
#include "audit_record.h"
#include "audit_tail.h"
#include "keyfile.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "retention_scripts.h"
#include "store.h"
#include "util.h"
#include "workers.h"
#include "xmalloc.h"

#define AUDIT_QUEUE_MAX 100000 /* records waiting; beyond, dropped */
/* Records made before the chain's head is read, whole (about 2 KiB each):
 * refused peers make records too, so this stays small. */
#define AUDIT_WAITING_MAX 4096
#define AUDIT_BATCH 200 /* records per script run */
/* A record of an alert's own path (accepted, delivered) goes to Redis
 * this much later, with whatever else came meanwhile.  Sent at once, its
 * write would land in the same turn of Redis's loop as the alert's
 * delivery lookup, whose answer would then wait for the write's fsync:
 * the audit copy in Redis is not what an alert waits for (the file, when
 * kept, is written at once).  Other records (refusals, administration)
 * go at once, taking any waiting ones with them. */
#define AUDIT_SEND_DELAY_MS 5

struct audit {
	struct relay *relay;
	char instance[AUDIT_FIELD_MAX];
	unsigned char *sk; /* sodium_malloc'd; NULL: heads unsigned */
	long sign_every;
	struct audit_file *file;
	char *path; /* of the file, read back at load (audit_tail.h) */
	int loaded; /* the head was read from Redis */
	int load_failing; /* said once until it is read */
	int loading;
	int stopped; /* audit_stop() ran: relay.stop is made */
	void (*drained)(void *); /* audit_drain()'s, until it is done */
	void *drained_arg;
	long long seq; /* of the last record made */
	char prev[AUDIT_HASH_HEX];
	long unsigned_n; /* records since the last signed head */
	struct audit_record *waiting; /* before the head is known */
	size_t nwaiting;
	char **lines; /* made, not yet confirmed by Redis */
	long long *seqs;
	size_t nlines;
	size_t inflight; /* the first inflight lines are being sent */
	struct store_req *req;
	struct event *retry_ev; /* after a refused batch */
	struct event *send_ev; /* AUDIT_SEND_DELAY_MS after a new record */
	unsigned long dropped;
	unsigned long dropped_waiting; /* before the head was read */
	unsigned long refused; /* since it was last said (audit_refused) */
	int64_t refused_said_ms;
};

static void audit_send(struct audit *a);
static void audit_check_drained(struct audit *a);

static const struct timeval audit_retry_tv = {1, 0};
static const struct timeval audit_send_tv = {0, AUDIT_SEND_DELAY_MS * 1000};

static void
audit_send_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	audit_send(arg);
}

static void
audit_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	/* sends what waits, or reads the chain's head again first */
	audit_store_ready(arg);
	/* a stop waiting for Redis that has gone meanwhile waits no more */
	audit_check_drained(arg);
}

struct audit *
audit_new(struct relay *relay, int worker)
{
	const struct relay_config *cfg = relay->cfg;
	struct audit *a = xcalloc(1, sizeof(*a));
	char err[512], *file = workers_audit_file(cfg->audit_file, worker);
	char *id = workers_instance_id(cfg->instance_id, worker);

	a->relay = relay;
	snprintf(a->instance, sizeof(a->instance), "%s", id);
	free(id);
	a->sign_every = cfg->audit_sign_every;
	a->retry_ev = evtimer_new(relay->base, audit_retry_cb, a);
	a->send_ev = evtimer_new(relay->base, audit_send_cb, a);
	if (a->retry_ev == NULL || a->send_ev == NULL) {
		log_warnx("audit: cannot make its timers");
		audit_free(a);
		free(file);
		return NULL;
	}
	if (cfg->audit_key_file[0] != '\0') {
		a->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		if (a->sk == NULL ||
		    keyfile_read(cfg->audit_key_file, a->sk,
		        crypto_sign_SECRETKEYBYTES, 1, err, sizeof(err)) != 0) {
			log_warnx("[audit] key_file: %s",
			    a->sk ? err : "out of memory");
			audit_free(a);
			free(file);
			return NULL;
		}
	}
	if (file[0] != '\0' && (a->file = audit_file_open(file)) == NULL) {
		audit_free(a);
		free(file);
		return NULL;
	}
	if (file[0] != '\0')
		a->path = file;
	else
		free(file);
	return a;
}

static void
audit_field(char *dst, size_t len, const char *v)
{
	size_t i;

	snprintf(dst, len, "%s", v != NULL ? v : "");
	/* One line of plain ASCII: identifiers, addresses, the relay's
	 * own words; anything else (and invalid UTF-8, which JSON cannot
	 * carry) becomes '?'. */
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 ||
		    (unsigned char)dst[i] >= 0x7f)
			dst[i] = '?';
}

/* Numbers and links r, keeps its line to send and to write. */
static void
audit_chain(struct audit *a, struct audit_record *r)
{
	char *line;

	r->seq = ++a->seq;
	memcpy(r->prev, a->prev, sizeof(r->prev));
	if (strcmp(r->action, AUDIT_SIGNED) == 0 && a->sk != NULL &&
	    audit_record_sign(r, a->sk) != 0)
		log_warnx("audit: cannot sign the head");
	if ((line = audit_record_line(r)) == NULL) {
		log_warnx("audit: record %lld cannot be written", r->seq);
		a->seq--;
		return;
	}
	audit_record_hash(line, strlen(line), a->prev);
	audit_file_append(a->file, line);
	if (a->nlines >= AUDIT_QUEUE_MAX) {
		metrics.audit_dropped++;
		if (a->dropped++ == 0)
			log_warnx("audit: Redis has not taken records for too "
			          "long; records are dropped (the chain there "
			          "will show a gap)");
		free(line);
		return;
	}
	a->lines = xreallocarray(a->lines, a->nlines + 1, sizeof(*a->lines));
	a->seqs = xreallocarray(a->seqs, a->nlines + 1, sizeof(*a->seqs));
	a->lines[a->nlines] = line;
	a->seqs[a->nlines++] = r->seq;
}

static void
audit_sign_head(struct audit *a)
{
	struct audit_record r;
	char t[40];

	if (a->sk == NULL || a->unsigned_n == 0 || !a->loaded)
		return;
	memset(&r, 0, sizeof(r));
	time_rfc3339_ms(t, now_ms());
	snprintf(r.time, sizeof(r.time), "%s", t);
	snprintf(r.instance, sizeof(r.instance), "%s", a->instance);
	snprintf(r.action, sizeof(r.action), AUDIT_SIGNED);
	snprintf(r.object, sizeof(r.object), "record:%lld", a->seq);
	snprintf(r.result, sizeof(r.result), "ok");
	snprintf(r.channel, sizeof(r.channel), "relay");
	snprintf(r.actor, sizeof(r.actor), "relay:%.200s", a->instance);
	a->unsigned_n = 0;
	audit_chain(a, &r);
}

static void
audit_add(struct audit *a, struct audit_record *r)
{
	audit_chain(a, r);
	if (++a->unsigned_n >= a->sign_every)
		audit_sign_head(a);
}

static int
audit_on_alert_path(const char *action)
{
	return action != NULL &&
	    (strcmp(action, "alert.accepted") == 0 ||
	        strcmp(action, "delivery") == 0);
}

void
audit_log(struct audit *a, const char *action, const char *object,
    const char *result, const char *address, const char *channel,
    const char *actor, const char *reason)
{
	struct audit_record r;
	char t[40];

	if (a == NULL)
		return;
	memset(&r, 0, sizeof(r));
	time_rfc3339_ms(t, now_ms());
	snprintf(r.time, sizeof(r.time), "%s", t);
	snprintf(r.instance, sizeof(r.instance), "%s", a->instance);
	audit_field(r.action, sizeof(r.action), action);
	audit_field(r.object, sizeof(r.object), object);
	audit_field(r.result, sizeof(r.result), result);
	audit_field(r.address, sizeof(r.address), address);
	audit_field(r.channel, sizeof(r.channel), channel);
	audit_field(r.actor, sizeof(r.actor), actor);
	audit_field(r.reason, sizeof(r.reason), reason);
	if (!a->loaded) {
		if (a->nwaiting >= AUDIT_WAITING_MAX) {
			metrics.audit_dropped++;
			if (a->dropped_waiting++ == 0)
				log_warnx("audit: %d records wait for the "
				          "chain's head in Redis; further "
				          "records are dropped (counted; an "
				          "audit.dropped record says how many)",
				    AUDIT_WAITING_MAX);
			return;
		}
		a->waiting = xreallocarray(a->waiting, a->nwaiting + 1,
		    sizeof(*a->waiting));
		a->waiting[a->nwaiting++] = r;
		return;
	}
	audit_add(a, &r);
	if (!audit_on_alert_path(action))
		audit_send(a);
	else if (!evtimer_pending(a->send_ev, NULL))
		evtimer_add(a->send_ev, &audit_send_tv);
}

void
audit_relay(struct relay *relay, const char *action, const char *object,
    const char *result, const char *address, const char *channel,
    const char *actor, const char *reason)
{
	if (relay != NULL)
		audit_log(relay->audit, action, object, result, address,
		    channel, actor, reason);
}

/* Records skipped that were not a resend: Redis's chain for this
 * instance already has those numbers from another writer, so two relays
 * run with one instance_id and the chain in Redis is theirs, not ours
 * (the file, when kept, still has ours).  Said at once, then at most
 * once a minute with the count. */
static void
audit_refused(struct audit *a, const json_t *reply)
{
	json_int_t n = json_integer_value(json_object_get(reply, "skipped"));
	int64_t now = monotonic_ms();

	if (n <= 0 || json_is_true(json_object_get(reply, "resent")))
		return;
	metrics.audit_refused += (uint64_t)n;
	a->refused += (unsigned long)n;
	if (a->refused_said_ms != 0 && now - a->refused_said_ms < 60000)
		return;
	log_warnx("audit: %lu records of ours carry numbers that Redis's "
	          "chain for instance %s already has, with other content: "
	          "another relay runs with this instance_id (give each relay "
	          "its own); they were not added",
	    a->refused, a->instance);
	a->refused = 0;
	a->refused_said_ms = now;
}

static void
audit_sent_cb(json_t *reply, const char *err, void *arg)
{
	struct audit *a = arg;
	size_t i;

	a->req = NULL;
	if (reply == NULL) {
		/* Sent again at the next ready, in the same order. */
		log_warnx("audit: records not stored yet: %s", err);
		a->inflight = 0;
		evtimer_add(a->retry_ev, &audit_retry_tv);
		return;
	}
	/* said once per outage, with its count, when it ends */
	if (a->dropped > 0)
		log_warnx("audit: Redis takes records again; %lu were dropped "
		          "meanwhile (the chain there shows a gap)",
		    a->dropped);
	a->dropped = 0;
	audit_refused(a, reply);
	for (i = 0; i < a->inflight; i++)
		free(a->lines[i]);
	memmove(a->lines, a->lines + a->inflight,
	    (a->nlines - a->inflight) * sizeof(*a->lines));
	memmove(a->seqs, a->seqs + a->inflight,
	    (a->nlines - a->inflight) * sizeof(*a->seqs));
	a->nlines -= a->inflight;
	a->inflight = 0;
	audit_send(a);
	audit_check_drained(a);
}

static void
audit_send(struct audit *a)
{
	json_t *lines, *seqs;
	const char *head = NULL;
	size_t i;

	if (a->req != NULL || a->nlines == 0 || !a->loaded ||
	    !store_ready(a->relay->store))
		return;
	a->inflight = a->nlines < AUDIT_BATCH ? a->nlines : AUDIT_BATCH;
	lines = json_array();
	seqs = json_array();
	for (i = 0; i < a->inflight; i++) {
		json_array_append_new(lines, json_string(a->lines[i]));
		json_array_append_new(seqs, json_integer(a->seqs[i]));
		if (strstr(a->lines[i], "\"action\":\"" AUDIT_SIGNED "\"") !=
		    NULL)
			head = a->lines[i];
	}
	a->req = store_eval(a->relay->store, script_audit_append,
	    json_pack("{s:s, s:o, s:o, s:s?}", "inst", a->instance, "lines",
	        lines, "seqs", seqs, "head", head),
	    audit_sent_cb, a);
}

/* Records dropped before they had a number leave no gap in the chain:
 * the chain itself says how many, in a record of its own. */
static void
audit_dropped_record(struct audit *a)
{
	char actor[AUDIT_FIELD_MAX + 8], why[64];

	if (a->dropped_waiting == 0)
		return;
	log_warnx("audit: %lu records dropped while the chain's head was "
	          "unknown",
	    a->dropped_waiting);
	snprintf(actor, sizeof(actor), "relay:%s", a->instance);
	snprintf(why, sizeof(why), "n=%lu before the chain's head was read",
	    a->dropped_waiting);
	a->dropped_waiting = 0;
	audit_log(a, "audit.dropped", "records", "failed", NULL, "relay", actor,
	    why);
}

/* Takes the file's records that follow Redis's last one (all of t) as
 * the next to send; 0, or -1 when they do not follow it. */
static int
audit_take_tail(struct audit *a, struct audit_tail *t)
{
	struct audit_record r;
	const char *why;
	size_t i;

	if (t->seqs[0] != a->seq + 1 ||
	    audit_record_parse(t->lines[0], strlen(t->lines[0]), &r, &why) !=
	        0 ||
	    strcmp(r.prev, a->prev) != 0)
		return -1;
	a->lines = xreallocarray(a->lines, a->nlines + t->n, sizeof(*a->lines));
	a->seqs = xreallocarray(a->seqs, a->nlines + t->n, sizeof(*a->seqs));
	for (i = 0; i < t->n; i++) {
		a->lines[a->nlines] = t->lines[i];
		a->seqs[a->nlines++] = t->seqs[i];
		t->lines[i] = NULL;
	}
	return 0;
}

/* The record that names numbers one copy of the chain lacks; the
 * other has them.  It goes to both, at the chain's next number. */
static void
audit_gap(struct audit *a, long long from, long long to, const char *where)
{
	char actor[AUDIT_FIELD_MAX + 8], why[128];

	snprintf(actor, sizeof(actor), "relay:%s", a->instance);
	snprintf(why, sizeof(why), "records %lld..%lld are in %s only", from,
	    to, where);
	log_warnx("audit: %s; the chain goes on after %lld: an audit.gap "
	          "record says so",
	    why, a->seq);
	audit_log(a, "audit.gap", "records", "failed", NULL, "relay", actor,
	    why);
}

/*
 * The file behind Redis (cut back, or restored from an older copy):
 * the chain goes on after Redis's last record, so the file would jump
 * from its last number to the next one without a word; its audit.gap
 * record names what it lacks (Redis has those).  An empty file (rotated
 * by copytruncate) starts anew and lacks nothing.
 */
static void
audit_file_behind(struct audit *a, long long file_last)
{
	if (file_last <= 0 || file_last >= a->seq)
		return;
	log_warnx("audit: the file %s ends at record %lld, Redis's chain at "
	          "%lld (cut back, or an older copy)",
	    a->path, file_last, a->seq);
	audit_gap(a, file_last + 1, a->seq, "Redis");
}

/*
 * The file ahead of Redis: records made while Redis was away, or in the
 * batching delay, before a stop or a crash.  Their numbers are never
 * given out again: the chain goes on after the file's last record.
 * Those records go to Redis first, as they are; when they do not follow
 * Redis's last record (not all read back, or the copies differ), an
 * audit.gap record names the numbers Redis will not have.
 */
static void
audit_catch_up(struct audit *a)
{
	struct audit_tail t;
	char prev[AUDIT_HASH_HEX];
	long long from = a->seq + 1, to;
	int taken;

	if (a->file == NULL ||
	    audit_tail_read(audit_file_fd(a->file), a->path, a->instance,
	        a->seq, &t) != 0)
		return;
	if (t.n == 0) {
		audit_file_behind(a, t.last_seq);
		audit_tail_clear(&t);
		return;
	}
	to = t.seqs[t.n - 1];
	audit_record_hash(audit_tail_last(&t), strlen(audit_tail_last(&t)),
	    prev);
	taken = audit_take_tail(a, &t) == 0;
	audit_tail_clear(&t);
	a->seq = to;
	memcpy(a->prev, prev, sizeof(a->prev));
	if (taken) {
		log_warnx("audit: records %lld..%lld were in the file only; "
		          "sent to Redis now",
		    from, to);
		return;
	}
	log_warnx("audit: records %lld..%lld do not follow Redis's last "
	          "record",
	    from, to);
	audit_gap(a, from, to, "the file");
}

static void
audit_loaded_cb(json_t *reply, const char *err, void *arg)
{
	struct audit *a = arg;
	const char *last = json_string_value(json_object_get(reply, "last"));
	struct audit_record r;
	const char *why;
	size_t i;

	a->req = NULL;
	a->loading = 0;
	if (reply == NULL) {
		if (!a->load_failing++)
			log_warnx("audit: reading the chain's head: %s; "
			          "trying again every second",
			    err ? err : "?");
		evtimer_add(a->retry_ev, &audit_retry_tv);
		return;
	}
	a->load_failing = 0;
	memcpy(a->prev, audit_record_genesis, sizeof(a->prev));
	a->seq = 0;
	if (last != NULL) {
		audit_record_hash(last, strlen(last), a->prev);
		if (audit_record_parse(last, strlen(last), &r, &why) == 0)
			a->seq = r.seq;
		else
			log_warnx("audit: the chain's last record in Redis "
			          "does not parse (%s): continuing after it",
			    why);
	}
	a->loaded = 1;
	audit_catch_up(a);
	log_info("audit: chain instance=%s continues after record %lld",
	    a->instance, a->seq);
	for (i = 0; i < a->nwaiting; i++)
		audit_add(a, &a->waiting[i]);
	free(a->waiting);
	a->waiting = NULL;
	a->nwaiting = 0;
	audit_dropped_record(a);
	/* stopped before the head was known: relay.stop was among those
	 * waiting, and the head it signs could not be made then */
	if (a->stopped)
		audit_sign_head(a);
	audit_send(a);
}

void
audit_store_ready(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->loaded) {
		audit_send(a);
		return;
	}
	if (a->loading)
		return;
	a->loading = 1;
	a->req = store_eval(a->relay->store, script_audit_load,
	    json_pack("{s:s}", "inst", a->instance), audit_loaded_cb, a);
}

static void
audit_rest_cb(json_t *reply, const char *err, void *arg)
{
	(void)reply;
	(void)arg;
	if (err != NULL)
		log_debug("audit: last records not stored: %s", err);
}

static void
audit_send_rest(struct audit *a)
{
	json_t *lines, *seqs;
	const char *head = NULL;
	size_t i;

	if (!store_ready(a->relay->store) || a->nlines <= a->inflight)
		return;
	lines = json_array();
	seqs = json_array();
	for (i = a->inflight; i < a->nlines; i++) {
		json_array_append_new(lines, json_string(a->lines[i]));
		json_array_append_new(seqs, json_integer(a->seqs[i]));
		if (strstr(a->lines[i], "\"action\":\"" AUDIT_SIGNED "\"") !=
		    NULL)
			head = a->lines[i];
	}
	store_eval(a->relay->store, script_audit_append,
	    json_pack("{s:s, s:o, s:o, s:s?}", "inst", a->instance, "lines",
	        lines, "seqs", seqs, "head", head),
	    audit_rest_cb, NULL);
}

void
audit_stop(struct audit *a)
{
	char actor[AUDIT_FIELD_MAX + 8];

	if (a == NULL || a->stopped)
		return;
	a->stopped = 1;
	snprintf(actor, sizeof(actor), "relay:%s", a->instance);
	audit_log(a, "relay.stop", "relay", "ok", NULL, "relay", actor, NULL);
	audit_sign_head(a);
	/* A batch on its way: the rest goes behind it now, not after its
	 * answer, which may come after the loop ends.  (The script skips
	 * what Redis has, should the batch be sent again.) */
	if (a->req == NULL)
		audit_send(a);
	else
		audit_send_rest(a);
	store_flush(a->relay->store);
}

/* Nothing left that Redis could still take: it has every record made,
 * or it is away (what it lacks is then said at exit, audit_free). */
static int
audit_settled(const struct audit *a)
{
	if (a->relay->store == NULL || !store_ready(a->relay->store))
		return 1;
	return a->loaded && a->nlines == 0 && a->nwaiting == 0;
}

static void
audit_check_drained(struct audit *a)
{
	void (*done)(void *) = a->drained;

	if (done == NULL || !audit_settled(a))
		return;
	a->drained = NULL;
	done(a->drained_arg);
}

/*
 * A stop right after the start comes before Redis has answered the read
 * of the chain's head: relay.start and relay.stop still wait for it,
 * unnumbered, in neither the file nor Redis.  So the loop ends only once
 * they are chained, written and confirmed (the caller bounds the wait:
 * shutdown_timeout).
 */
void
audit_drain(struct audit *a, void (*done)(void *), void *arg)
{
	if (a == NULL) {
		done(arg);
		return;
	}
	a->drained = done;
	a->drained_arg = arg;
	audit_check_drained(a);
}

/*
 * At exit with Redis away since the start, the chain's head was never
 * read: the records waiting for it (relay.start, relay.stop, ...) go on
 * from the file's last record instead, to the file only, as records made
 * while Redis is away do; the next start sends them to Redis, or names
 * them by an audit.gap record (audit_catch_up).  A file without a record
 * of this instance gives no number to go on from: they are lost, said
 * in the log.
 */
static void
audit_chain_from_file(struct audit *a)
{
	struct audit_tail t;
	size_t i;

	if (a->loaded || a->nwaiting == 0 || a->file == NULL ||
	    store_ready(a->relay->store) ||
	    audit_tail_read(audit_file_fd(a->file), a->path, a->instance, 0,
	        &t) != 0)
		return;
	if (t.n > 0) {
		a->seq = t.seqs[t.n - 1];
		audit_record_hash(audit_tail_last(&t),
		    strlen(audit_tail_last(&t)), a->prev);
		a->loaded = 1;
		log_warnx("audit: Redis never answered; %zu records go on from "
		          "the file's record %lld, in the file only until the "
		          "next start sends them",
		    a->nwaiting, a->seq);
		for (i = 0; i < a->nwaiting; i++)
			audit_add(a, &a->waiting[i]);
		a->nwaiting = 0;
		audit_dropped_record(a);
		audit_sign_head(a);
	}
	audit_tail_clear(&t);
}

void
audit_free(struct audit *a)
{
	size_t i;

	if (a == NULL)
		return;
	if (a->relay->store != NULL)
		audit_chain_from_file(a);
	/* The loop has ended, the connection has not: what waits goes out
	 * now, behind the batch on its way (audit_free is called before
	 * store_free). */
	if (a->nlines > 0 && a->loaded && a->relay->store != NULL &&
	    store_ready(a->relay->store)) {
		audit_send_rest(a);
		store_flush(a->relay->store);
	}
	if (a->nwaiting > 0 || a->dropped_waiting > 0)
		log_warnx("audit: %zu records lost at exit: Redis never "
		          "answered, so the chain could not go on",
		    a->nwaiting + (size_t)a->dropped_waiting);
	else if (a->nlines > 0 &&
	    !(a->loaded && a->relay->store != NULL &&
	        store_ready(a->relay->store)))
		log_warnx("audit: %zu records not sent to Redis at exit "
		          "(Redis unavailable)%s",
		    a->nlines, a->file != NULL ? "; the file has them" : "");
	store_req_cancel(a->req);
	if (a->retry_ev != NULL)
		event_free(a->retry_ev);
	if (a->send_ev != NULL)
		event_free(a->send_ev);
	audit_file_close(a->file);
	free(a->path);
	for (i = 0; i < a->nlines; i++)
		free(a->lines[i]);
	free(a->lines);
	free(a->seqs);
	free(a->waiting);
	if (a->sk != NULL)
		sodium_free(a->sk);
	free(a);
}
