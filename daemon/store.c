#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "redis_conn.h"
#include "store.h"
#include "xmalloc.h"

#define ALERTS_MAXLEN "1000000"

/*
 * Accept one alert, atomically.
 * KEYS: alert hash, alerts stream, deliveries stream.
 * ARGV: envelope_hash alert_id device_id alert_type created_at received_at
 *       recipients_csv ndeliver rid... nct (rid ct)...
 */
static const char ingest_script[] =
    "local h = redis.call('HMGET', KEYS[1], 'envelope_hash', 'relay_id',"
    "  'received_at')\n"
    "if h[1] then\n"
    "  if h[1] == ARGV[1] then return {'dup', h[2], h[3]} end\n"
    "  return {'conflict'}\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', " ALERTS_MAXLEN
    ", '*',"
    "  'alert_id', ARGV[2], 'device_id', ARGV[3], 'alert_type', ARGV[4],"
    "  'created_at', ARGV[5], 'received_at', ARGV[6], 'recipients', ARGV[7])\n"
    "redis.call('HSET', KEYS[1], 'relay_id', id, 'envelope_hash', ARGV[1],"
    "  'device_id', ARGV[3], 'alert_type', ARGV[4], 'created_at', ARGV[5],"
    "  'received_at', ARGV[6], 'recipients', ARGV[7])\n"
    "local i = 9\n"
    "for j = 1, tonumber(ARGV[8]) do\n"
    "  redis.call('XADD', KEYS[3], '*', 'alert_id', ARGV[2],"
    "    'recipient_id', ARGV[i], 'event', 'alert.raised')\n"
    "  i = i + 1\n"
    "end\n"
    "local nct = tonumber(ARGV[i])\n"
    "i = i + 1\n"
    "for j = 1, nct do\n"
    "  redis.call('HSET', KEYS[1], 'ct:' .. ARGV[i], ARGV[i + 1])\n"
    "  i = i + 2\n"
    "end\n"
    "return {'new', id, ARGV[6]}\n";

/*
 * A delivery is done: record it, acknowledge it in the group, delete it.
 * KEYS: alert hash, deliveries stream.  ARGV: recipient, stream id, now.
 */
static const char done_script[] =
    "redis.call('HSET', KEYS[1], 'delivered:' .. ARGV[1], ARGV[3])\n"
    "redis.call('XACK', KEYS[2], '" STORE_GROUP "', ARGV[2])\n"
    "redis.call('XDEL', KEYS[2], ARGV[2])\n"
    "return 1\n";

/* KEYS: deliveries stream.  ARGV: stream id. */
static const char drop_script[] =
    "redis.call('XACK', KEYS[1], '" STORE_GROUP "', ARGV[1])\n"
    "redis.call('XDEL', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* KEYS: deliveries stream.  Completed entries are deleted, so its length
 * is the queue. */
static const char queue_script[] =
    "local n = redis.call('XLEN', KEYS[1])\n"
    "local f = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)\n"
    "if f[1] then return {n, f[1][1]} end\n"
    "return {n}\n";

struct store {
	struct event_base *base;
	char *prefix; /* copies: the configuration may be reloaded */
	char *instance_id; /* consumer name in the group */
	struct store_callbacks cbs;
	struct redis_conn *cmd; /* ordinary commands */
	struct redis_conn *blk; /* the dispatcher's blocking reads */
	long timeout_ms;
	char *k_alerts;
	char *k_deliveries;
};

struct store_req {
	struct store *st;
	struct redis_req *rreq;
	union {
		store_ingest_cb ingest;
		store_read_cb read;
		store_meta_cb meta;
		store_done_cb done;
		store_queue_cb queue;
	} cb;
	void *arg;
	char *recipient_id; /* for store_alert_meta */
};

static void
store_check_durability_cb(redisReply *r, const char *err, void *arg)
{
	size_t i;
	const char *aof = "?", *fsync = "?";

	(void)arg;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		log_warnx("redis: cannot verify durability settings (%s)",
		    err ? err : (r && r->str ? r->str : "CONFIG GET refused"));
		return;
	}
	for (i = 0; i + 1 < r->elements; i += 2) {
		if (strcmp(r->element[i]->str, "appendonly") == 0)
			aof = r->element[i + 1]->str;
		if (strcmp(r->element[i]->str, "appendfsync") == 0)
			fsync = r->element[i + 1]->str;
	}
	if (strcmp(aof, "yes") != 0 || strcmp(fsync, "always") != 0)
		log_warnx("redis runs appendonly=%s appendfsync=%s: an "
		          "accepted "
		          "alert may be lost if Redis crashes; set appendonly "
		          "yes and appendfsync always",
		    aof, fsync);
}

static void
store_conn_ready(void *arg)
{
	struct store *st = arg;

	if (!redis_conn_ready(st->cmd) || !redis_conn_ready(st->blk))
		return;
	metrics.redis_up = 1;
	redis_conn_command(st->cmd, st->timeout_ms, store_check_durability_cb,
	    st, "CONFIG GET append*");
	if (st->cbs.ready != NULL)
		st->cbs.ready(st->cbs.arg);
}

static void
store_conn_lost(void *arg)
{
	struct store *st = arg;

	metrics.redis_up = 0;
	if (st->cbs.lost != NULL)
		st->cbs.lost(st->cbs.arg);
}

struct store *
store_new(struct event_base *base, const struct relay_config *cfg,
    const struct store_callbacks *cbs)
{
	struct store *st = xcalloc(1, sizeof(*st));

	st->base = base;
	st->prefix = xstrdup(cfg->redis_prefix);
	st->instance_id = xstrdup(cfg->instance_id);
	st->cbs = *cbs;
	st->timeout_ms = cfg->redis_timeout * 1000;
	st->k_alerts = xasprintf("%s:alerts", cfg->redis_prefix);
	st->k_deliveries = xasprintf("%s:deliveries", cfg->redis_prefix);
	st->cmd = redis_conn_new(base, cfg->redis_address, "commands",
	    store_conn_ready, store_conn_lost, st);
	st->blk = redis_conn_new(base, cfg->redis_address, "dispatch",
	    store_conn_ready, store_conn_lost, st);
	return st;
}

void
store_start(struct store *st)
{
	redis_conn_start(st->cmd);
	redis_conn_start(st->blk);
}

int
store_ready(const struct store *st)
{
	return redis_conn_ready(st->cmd) && redis_conn_ready(st->blk);
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	redis_conn_free(st->cmd);
	redis_conn_free(st->blk);
	free(st->prefix);
	free(st->instance_id);
	free(st->k_alerts);
	free(st->k_deliveries);
	free(st);
}

static struct store_req *
store_req_new(struct store *st, void *arg)
{
	struct store_req *req = xcalloc(1, sizeof(*req));

	req->st = st;
	req->arg = arg;
	return req;
}

static void
store_req_free(struct store_req *req)
{
	free(req->recipient_id);
	free(req);
}

void
store_req_cancel(struct store_req *req)
{
	if (req == NULL)
		return;
	redis_req_cancel(req->rreq);
	store_req_free(req);
}

/* --- ingest --- */

static void
store_ingest_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	struct ingest_reply out;

	memset(&out, 0, sizeof(out));
	out.result = INGEST_UNAVAILABLE;
	if (r == NULL)
		out.error = err;
	else if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("redis refused an alert: %s", r->str);
		out.error = "refused by redis";
	} else if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		out.error = "unexpected reply";
	else if (strcmp(r->element[0]->str, "conflict") == 0)
		out.result = INGEST_CONFLICT;
	else if (r->elements == 3 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    r->element[2]->type == REDIS_REPLY_STRING) {
		out.result = strcmp(r->element[0]->str, "dup") == 0
		    ? INGEST_DUPLICATE
		    : INGEST_NEW;
		snprintf(out.relay_id, sizeof(out.relay_id), "%s",
		    r->element[1]->str);
		snprintf(out.received_at, sizeof(out.received_at), "%s",
		    r->element[2]->str);
	} else
		out.error = "unexpected reply";
	req->cb.ingest(&out, req->arg);
	store_req_free(req);
}

struct store_req *
store_ingest(struct store *st, const struct envelope *env,
    const char *envelope_hash, const char *const *deliver_to, size_t ndeliver,
    store_ingest_cb cb, void *arg)
{
	struct store_req *req = store_req_new(st, arg);
	char received_at[RFC3339_LEN], ndel[16], nct[16];
	char *k_alert, *csv;
	const char **argv;
	size_t i, argc = 0, cap, csvlen = 1;

	time_rfc3339_ms(received_at, now_ms());
	for (i = 0; i < env->nrecipients; i++)
		csvlen += strlen(env->recipients[i].id) + 1;
	csv = xcalloc(1, csvlen);
	for (i = 0; i < env->nrecipients; i++) {
		if (i > 0)
			strcat(csv, ",");
		strcat(csv, env->recipients[i].id);
	}
	k_alert = xasprintf("%s:alert:%s", st->prefix, env->alert_id);
	snprintf(ndel, sizeof(ndel), "%zu", ndeliver);
	snprintf(nct, sizeof(nct), "%zu", env->nrecipients);

	cap = 16 + ndeliver + 2 * env->nrecipients;
	argv = xcalloc(cap, sizeof(*argv));
	argv[argc++] = "EVAL";
	argv[argc++] = ingest_script;
	argv[argc++] = "3";
	argv[argc++] = k_alert;
	argv[argc++] = st->k_alerts;
	argv[argc++] = st->k_deliveries;
	argv[argc++] = envelope_hash;
	argv[argc++] = env->alert_id;
	argv[argc++] = env->device_id;
	argv[argc++] = env->alert_type;
	argv[argc++] = env->created_at;
	argv[argc++] = received_at;
	argv[argc++] = csv;
	argv[argc++] = ndel;
	for (i = 0; i < ndeliver; i++)
		argv[argc++] = deliver_to[i];
	argv[argc++] = nct;
	for (i = 0; i < env->nrecipients; i++) {
		argv[argc++] = env->recipients[i].id;
		argv[argc++] = env->recipients[i].ciphertext;
	}
	req->cb.ingest = cb;
	/* hiredis copies the arguments into its output buffer. */
	req->rreq = redis_conn_commandv(st->cmd, st->timeout_ms,
	    store_ingest_reply_cb, req, (int)argc, argv, NULL);
	free(argv);
	free(csv);
	free(k_alert);
	return req;
}

/* --- deliveries --- */

static void
store_parse_entry(const redisReply *e, struct delivery_entry *d)
{
	const redisReply *f;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return;
	snprintf(d->stream_id, sizeof(d->stream_id), "%s", e->element[0]->str);
	f = e->element[1];
	if (f->type != REDIS_REPLY_ARRAY) /* deleted while pending */
		return;
	for (i = 0; i + 1 < f->elements; i += 2) {
		const char *k = f->element[i]->str, *v = f->element[i + 1]->str;

		if (k == NULL || v == NULL)
			continue;
		if (strcmp(k, "alert_id") == 0)
			snprintf(d->alert_id, sizeof(d->alert_id), "%s", v);
		else if (strcmp(k, "recipient_id") == 0)
			snprintf(d->recipient_id, sizeof(d->recipient_id), "%s",
			    v);
		else if (strcmp(k, "event") == 0)
			snprintf(d->event, sizeof(d->event), "%s", v);
	}
	d->valid = alert_id_valid(d->alert_id) && id_valid(d->recipient_id) &&
	    d->event[0] != '\0';
}

static void
store_read_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	struct delivery_entry *entries = NULL;
	const redisReply *list;
	size_t i, n = 0;

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		req->cb.read(NULL, 0, r ? r->str : err, req->arg);
		store_req_free(req);
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2) {
		list = r->element[0]->element[1];
		if (list->type == REDIS_REPLY_ARRAY && list->elements > 0) {
			n = list->elements;
			entries = xcalloc(n, sizeof(*entries));
			for (i = 0; i < n; i++)
				store_parse_entry(list->element[i],
				    &entries[i]);
		}
	}
	req->cb.read(entries, n, NULL, req->arg);
	free(entries);
	store_req_free(req);
}

static void
store_group_create_cb(redisReply *r, const char *err, void *arg)
{
	(void)arg;
	if (r == NULL)
		log_warnx("redis: creating consumer group: %s", err);
	else if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "BUSYGROUP", 9) != 0)
		log_warnx("redis: creating consumer group: %s", r->str);
}

struct store_req *
store_read_deliveries(struct store *st, const char *from, long count,
    long block_ms, store_read_cb cb, void *arg)
{
	struct store_req *req = store_req_new(st, arg);
	char countbuf[24], blockbuf[24];

	/* Every reading cycle starts with the pending ones: make sure the
	 * group exists first (commands on one connection run in order). */
	if (strcmp(from, ">") != 0)
		redis_conn_command(st->blk, st->timeout_ms,
		    store_group_create_cb, st,
		    "XGROUP CREATE %s " STORE_GROUP " 0 MKSTREAM",
		    st->k_deliveries);
	snprintf(countbuf, sizeof(countbuf), "%ld", count);
	snprintf(blockbuf, sizeof(blockbuf), "%ld", block_ms);
	req->cb.read = cb;
	if (strcmp(from, ">") == 0)
		req->rreq = redis_conn_command(st->blk,
		    block_ms + st->timeout_ms, store_read_reply_cb, req,
		    "XREADGROUP GROUP " STORE_GROUP " %s COUNT %s BLOCK %s "
		    "STREAMS %s >",
		    st->instance_id, countbuf, blockbuf, st->k_deliveries);
	else
		req->rreq = redis_conn_command(st->blk, st->timeout_ms,
		    store_read_reply_cb, req,
		    "XREADGROUP GROUP " STORE_GROUP
		    " %s COUNT %s STREAMS %s %s",
		    st->instance_id, countbuf, st->k_deliveries, from);
	return req;
}

static void
store_meta_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	struct alert_meta m;
	char *const dst[] = {m.device_id, m.alert_type, m.created_at,
	    m.received_at};
	const size_t dstlen[] = {sizeof(m.device_id), sizeof(m.alert_type),
	    sizeof(m.created_at), sizeof(m.received_at)};
	size_t i;

	memset(&m, 0, sizeof(m));
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
		req->cb.meta(NULL, r && r->str ? r->str : err, req->arg);
		store_req_free(req);
		return;
	}
	m.exists = r->element[0]->type == REDIS_REPLY_STRING;
	for (i = 0; i < 4; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			snprintf(dst[i], dstlen[i], "%s", r->element[i]->str);
	if (r->element[4]->type == REDIS_REPLY_STRING)
		m.ciphertext = r->element[4]->str;
	m.delivered = r->element[5]->type == REDIS_REPLY_STRING;
	req->cb.meta(&m, NULL, req->arg);
	store_req_free(req);
}

struct store_req *
store_alert_meta(struct store *st, const char *alert_id,
    const char *recipient_id, store_meta_cb cb, void *arg)
{
	struct store_req *req = store_req_new(st, arg);

	req->cb.meta = cb;
	req->rreq = redis_conn_command(st->cmd, st->timeout_ms,
	    store_meta_reply_cb, req,
	    "HMGET %s:alert:%s device_id alert_type created_at received_at "
	    "ct:%s delivered:%s",
	    st->prefix, alert_id, recipient_id, recipient_id);
	return req;
}

static void
store_done_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;

	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		err = r->str;
	req->cb.done(r == NULL || r->type == REDIS_REPLY_ERROR ? err : NULL,
	    req->arg);
	store_req_free(req);
}

struct store_req *
store_delivery_done(struct store *st, const char *stream_id,
    const char *alert_id, const char *recipient_id, store_done_cb cb, void *arg)
{
	struct store_req *req = store_req_new(st, arg);
	char *k_alert = xasprintf("%s:alert:%s", st->prefix, alert_id);
	char now[24];

	snprintf(now, sizeof(now), "%lld", (long long)now_ms());
	req->cb.done = cb;
	req->rreq = redis_conn_command(st->cmd, st->timeout_ms,
	    store_done_reply_cb, req, "EVAL %s 2 %s %s %s %s %s", done_script,
	    k_alert, st->k_deliveries, recipient_id, stream_id, now);
	free(k_alert);
	return req;
}

struct store_req *
store_delivery_drop(struct store *st, const char *stream_id, store_done_cb cb,
    void *arg)
{
	struct store_req *req = store_req_new(st, arg);

	req->cb.done = cb;
	req->rreq = redis_conn_command(st->cmd, st->timeout_ms,
	    store_done_reply_cb, req, "EVAL %s 1 %s %s", drop_script,
	    st->k_deliveries, stream_id);
	return req;
}

static void
store_queue_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	long long depth = 0, oldest = 0;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		req->cb.queue(0, 0, r && r->str ? r->str : err, req->arg);
		store_req_free(req);
		return;
	}
	depth = r->element[0]->integer;
	if (r->elements > 1 && r->element[1]->type == REDIS_REPLY_STRING)
		oldest = strtoll(r->element[1]->str, NULL, 10);
	req->cb.queue(depth, oldest, NULL, req->arg);
	store_req_free(req);
}

struct store_req *
store_queue_summary(struct store *st, store_queue_cb cb, void *arg)
{
	struct store_req *req = store_req_new(st, arg);

	req->cb.queue = cb;
	req->rreq =
	    redis_conn_command(st->cmd, st->timeout_ms, store_queue_reply_cb,
	        req, "EVAL %s 1 %s", queue_script, st->k_deliveries);
	return req;
}
