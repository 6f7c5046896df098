/*
 * The relay's data in Redis: the connections and the scripts' calls
 * (store.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "metrics.h"
#include "redis_conn.h"
#include "store.h"
#include "store_scripts.h"
#include "store_wait.h"
#include "xmalloc.h"

/*
 * A script goes whole (EVAL) once per connection, then by its SHA-1
 * (EVALSHA): Redis hashes the whole text of every EVAL, 7% of its time
 * during a burst (make bench).  Commands on one connection run in order,
 * so every EVALSHA after the first EVAL finds the script.
 */
#define STORE_SCRIPTS_MAX 32
#define STORE_SHA_LEN 41

struct store_script {
	const char *text;
	char sha[STORE_SHA_LEN];
	unsigned long conn_gen; /* the connection that has it; 0: none */
};

struct store {
	struct event_base *base;
	char *prefix; /* copies: the configuration may be reloaded */
	char *instance_id; /* consumer name in the group */
	struct store_callbacks cbs;
	struct redis_conn *cmd; /* ordinary commands */
	struct redis_conn *blk; /* the dispatcher's blocking reads */
	struct redis_conn *sub; /* subscribed to receipts */
	struct redis_conn *rep; /* WAIT for replicas, or NULL (store_wait.h) */
	struct store_waits *waits; /* on rep, which it owns */
	char *address; /* for rep, made when first needed */
	char *sentinels;
	char *master;
	long timeout_ms;
	char *k_alerts;
	char *k_deliveries;
	struct store_script scripts[STORE_SCRIPTS_MAX];
	size_t nscripts;
	unsigned long conn_gen; /* counts connections made */
	json_t *rt; /* retention periods for the scripts, or NULL */
};

struct store_req {
	struct store *st;
	struct redis_req *rreq;
	union {
		store_json_cb json;
		store_read_cb read;
		store_claim_cb claim;
		store_due_cb due;
		store_wait_cb wait;
	} cb;
	void *arg;
	struct store_script *script; /* an EVALSHA Redis may not know */
	char *json; /* its argument, to send again with EVAL */
	long replicas; /* store_eval_replicated(): WAIT for these */
	long replicas_ms;
	const char *const *at_once; /* its answers that wrote nothing */
	json_t *kept; /* the script's answer, meanwhile */
	struct store_waiter *waiter; /* in the WAIT's queue */
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
store_all_ready(struct store *st)
{
	if (!store_ready(st))
		return;
	metrics.redis_up = 1;
	redis_conn_command(st->cmd, st->timeout_ms, store_check_durability_cb,
	    st, "CONFIG GET append*");
	if (st->cbs.ready != NULL)
		st->cbs.ready(st->cbs.arg);
}

static void
store_conn_ready(void *arg)
{
	struct store *st = arg;

	st->conn_gen++; /* a new connection knows no script */
	store_all_ready(st);
}

/* Not part of store_ready(): a WAIT connection that reconnects alone
 * (it does after a WAIT error, or off the master) must not re-run the
 * relay's whole "Redis is back" sequence; a request waiting for
 * replicas meanwhile fails on its own ("no connection for WAIT"). */
static void
store_rep_ready(void *arg)
{
	(void)arg;
}

/*
 * A Redis that stopped answering one connection holds the others as
 * well, which would each wait out their own deadline (the dispatcher's
 * blocking read: 5 s more) or their next PING: all leave it at once.
 */
static void
store_leave_hung(struct store *st)
{
	struct redis_conn *c[4] = {st->cmd, st->blk, st->sub, st->rep};
	size_t i, j, n = st->rep != NULL ? 4 : 3;

	for (i = 0; i < n; i++) {
		if (!redis_conn_take_hung(c[i]))
			continue;
		for (j = 0; j < n; j++)
			redis_conn_leave(c[j], c[i]);
	}
}

static void
store_sub_lost(void *arg)
{
	store_leave_hung(arg);
}

static void
store_rep_lost(void *arg)
{
	struct store *st = arg;

	store_waits_lost(st->waits);
	store_leave_hung(st);
}

/* The connection for WAIT, made only where min_replicas is set (at
 * start, or the first time a reload set it). */
static void
store_rep_new(struct store *st)
{
	char *channel = xasprintf("%s:wait", st->prefix);

	st->rep = redis_conn_new(st->base, st->address, "replicas",
	    store_rep_ready, store_rep_lost, st);
	redis_conn_set_timeout(st->rep, st->timeout_ms);
	if (st->sentinels[0] != '\0')
		redis_conn_use_sentinels(st->rep, st->sentinels, st->master);
	st->waits = store_waits_new(st->base, st->rep, channel, st->timeout_ms);
	free(channel);
}

static void
store_conn_lost(void *arg)
{
	struct store *st = arg;

	metrics.redis_up = 0;
	store_leave_hung(st);
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
	st->address = xstrdup(cfg->redis_address);
	st->sentinels = xstrdup(cfg->redis_sentinels);
	st->master = xstrdup(cfg->redis_master);
	st->cmd = redis_conn_new(base, cfg->redis_address, "commands",
	    store_conn_ready, store_conn_lost, st);
	st->blk = redis_conn_new(base, cfg->redis_address, "dispatch",
	    store_conn_ready, store_conn_lost, st);
	st->sub = redis_conn_new(base, cfg->redis_address, "receipts", NULL,
	    store_sub_lost, st);
	redis_conn_set_timeout(st->cmd, st->timeout_ms);
	redis_conn_set_timeout(st->blk, st->timeout_ms);
	redis_conn_set_timeout(st->sub, st->timeout_ms);
	if (cfg->redis_sentinels[0] != '\0') {
		redis_conn_use_sentinels(st->cmd, cfg->redis_sentinels,
		    cfg->redis_master);
		redis_conn_use_sentinels(st->blk, cfg->redis_sentinels,
		    cfg->redis_master);
		redis_conn_use_sentinels(st->sub, cfg->redis_sentinels,
		    cfg->redis_master);
	}
	if (cfg->redis_min_replicas > 0)
		store_rep_new(st);
	return st;
}

void
store_start(struct store *st)
{
	redis_conn_start(st->cmd);
	redis_conn_start(st->blk);
	redis_conn_start(st->sub);
	if (st->rep != NULL)
		redis_conn_start(st->rep);
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
	redis_conn_free(st->sub);
	store_waits_free(st->waits); /* and rep */
	free(st->address);
	free(st->sentinels);
	free(st->master);
	free(st->prefix);
	free(st->instance_id);
	free(st->k_alerts);
	free(st->k_deliveries);
	json_decref(st->rt);
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
	free(req->json);
	json_decref(req->kept);
	free(req);
}

void
store_req_cancel(struct store_req *req)
{
	if (req == NULL)
		return;
	redis_req_cancel(req->rreq);
	store_waiter_cancel(req->waiter);
	store_req_free(req);
}

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
		else if (strcmp(k, "channel") == 0)
			snprintf(d->channel, sizeof(d->channel), "%s", v);
		else if (strcmp(k, "tier") == 0)
			snprintf(d->tier, sizeof(d->tier), "%s", v);
		else if (strcmp(k, "replay") == 0)
			d->replay = strcmp(v, "1") == 0;
	}
	d->valid = alert_id_valid(d->alert_id) && id_valid(d->recipient_id) &&
	    d->event[0] != '\0' &&
	    (strcmp(d->channel, "webhook") == 0 ||
	        strcmp(d->channel, "sms") == 0);
}

/* The entries of a reply, NULL with *n == 0 when there are none. */
static struct delivery_entry *
store_parse_entries(const redisReply *list, size_t *n)
{
	struct delivery_entry *entries;
	size_t i;

	*n = 0;
	if (list == NULL || list->type != REDIS_REPLY_ARRAY ||
	    list->elements == 0)
		return NULL;
	*n = list->elements;
	entries = xcalloc(*n, sizeof(*entries));
	for (i = 0; i < *n; i++)
		store_parse_entry(list->element[i], &entries[i]);
	return entries;
}

static void
store_read_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	struct delivery_entry *entries;
	const redisReply *list = NULL;
	size_t n;

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		req->cb.read(NULL, 0, r ? r->str : err, req->arg);
		store_req_free(req);
		return;
	}
	/* XREADGROUP: [[stream, entries]], or nil when nothing came */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2)
		list = r->element[0]->element[1];
	entries = store_parse_entries(list, &n);
	req->cb.read(entries, n, NULL, req->arg);
	free(entries);
	store_req_free(req);
}

/* XAUTOCLAIM: [cursor, entries, deleted ids]. */
static void
store_claim_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	struct delivery_entry *entries;
	size_t n;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		if (r != NULL)
			err = r->type == REDIS_REPLY_ERROR ? r->str
			                                   : "unexpected reply";
		req->cb.claim(NULL, 0, NULL, err, req->arg);
		store_req_free(req);
		return;
	}
	entries = store_parse_entries(r->element[1], &n);
	req->cb.claim(entries, n, r->element[0]->str, NULL, req->arg);
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

/* The script's entry, its SHA-1 computed on first use; NULL if the table
 * is full (then it always goes whole). */
static struct store_script *
store_script(struct store *st, const char *text)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	struct store_script *sc;
	size_t i, mdlen = 0;

	for (i = 0; i < st->nscripts; i++)
		if (st->scripts[i].text == text)
			return &st->scripts[i];
	if (st->nscripts == STORE_SCRIPTS_MAX ||
	    EVP_Q_digest(NULL, "SHA1", NULL, text, strlen(text), md, &mdlen) !=
	        1 ||
	    mdlen * 2 + 1 != STORE_SHA_LEN)
		return NULL;
	sc = &st->scripts[st->nscripts++];
	sc->text = text;
	for (i = 0; i < mdlen; i++)
		snprintf(sc->sha + 2 * i, 3, "%02x", md[i]);
	return sc;
}

static void store_eval_reply_cb(redisReply *r, const char *err, void *arg);
static void store_eval_replicate(struct store_req *req, json_t *j);

/* A refusal the script made without writing: nothing for replicas to
 * have, so it is answered at once, lagging replicas or not. */
static int
store_wrote_nothing(const struct store_req *req, const json_t *j)
{
	const char *r = json_string_value(json_object_get(j, "r"));
	size_t i;

	for (i = 0; r != NULL && req->at_once != NULL && req->at_once[i]; i++)
		if (strcmp(r, req->at_once[i]) == 0)
			return 1;
	return 0;
}

static void
store_eval_send(struct store_req *req, const char *how, const char *what)
{
	const char *argv[4] = {how, what, "0", req->json};

	req->rreq = redis_conn_commandv(req->st->cmd, req->st->timeout_ms,
	    store_eval_reply_cb, req, 4, argv, NULL);
}

static void
store_eval_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	json_error_t jerr;
	json_t *j = NULL;

	if (r == NULL)
		;
	else if (r->type == REDIS_REPLY_ERROR) {
		err = r->str;
		/* Redis forgot its scripts (SCRIPT FLUSH): send it whole. */
		if (req->script != NULL &&
		    strncmp(r->str, "NOSCRIPT", 8) == 0) {
			req->script->conn_gen = 0;
			store_eval_send(req, "EVAL", req->script->text);
			req->script = NULL;
			return;
		}
		/* A failover made this node a replica: find the master. */
		if (strncmp(r->str, "READONLY", 8) == 0) {
			log_warnx("redis: connected to a replica; looking for "
			          "the master again");
			redis_conn_reconnect(req->st->cmd);
			redis_conn_reconnect(req->st->blk);
			redis_conn_reconnect(req->st->sub);
			if (req->st->rep != NULL)
				redis_conn_reconnect(req->st->rep);
		}
	} else if (r->type != REDIS_REPLY_STRING ||
	    (j = json_loadb(r->str, r->len, 0, &jerr)) == NULL)
		err = "unexpected reply from a script";
	if (j != NULL && req->replicas > 0 && !store_wrote_nothing(req, j)) {
		store_eval_replicate(req, j);
		return;
	}
	req->cb.json(j, j != NULL ? NULL : err, req->arg);
	json_decref(j);
	store_req_free(req);
}

struct store_req *
store_eval(struct store *st, const char *script, json_t *args, store_json_cb cb,
    void *arg)
{
	struct store_req *req = store_req_new(st, arg);
	struct store_script *sc = store_script(st, script);

	json_object_set_new(args, "p", json_string(st->prefix));
	if (st->rt != NULL)
		json_object_set(args, "rt", st->rt);
	req->json = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	req->cb.json = cb;
	if (sc != NULL && sc->conn_gen == st->conn_gen) {
		req->script = sc;
		store_eval_send(req, "EVALSHA", sc->sha);
	} else {
		if (sc != NULL)
			sc->conn_gen = st->conn_gen;
		store_eval_send(req, "EVAL", script);
	}
	return req;
}

void
store_flush(struct store *st)
{
	redis_conn_flush(st->cmd);
}

void
store_set_retention(struct store *st, json_t *rt)
{
	json_decref(st->rt);
	st->rt = rt;
}

static void
store_due_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_req *req = arg;
	char **members = NULL;
	size_t i, n = 0;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
		n = r->elements;
		if (n > 0)
			members = xcalloc(n, sizeof(*members));
		for (i = 0; i < n; i++)
			members[i] = r->element[i]->str;
		err = NULL;
	} else if (r != NULL)
		err =
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply";
	req->cb.due(members, n, err, req->arg);
	free(members);
	store_req_free(req);
}

struct store_req *
store_due_timers(struct store *st, int64_t now_ms, long count, store_due_cb cb,
    void *arg)
{
	struct store_req *req = store_req_new(st, arg);

	req->cb.due = cb;
	req->rreq =
	    redis_conn_command(st->cmd, st->timeout_ms, store_due_reply_cb, req,
	        "ZRANGEBYSCORE %s:timers -inf %lld LIMIT 0 %ld", st->prefix,
	        (long long)now_ms, count);
	return req;
}

void
store_subscribe_receipts(struct store *st, store_receipt_cb cb, void *arg)
{
	char *channel = xasprintf("%s:receipts", st->prefix);

	redis_conn_subscribe(st->sub, channel, cb, arg);
	free(channel);
}

struct store_req *
store_claim_stale(struct store *st, const char *start, long min_idle_ms,
    long count, store_claim_cb cb, void *arg)
{
	struct store_req *req = store_req_new(st, arg);

	req->cb.claim = cb;
	req->rreq =
	    redis_conn_command(st->cmd, st->timeout_ms, store_claim_reply_cb,
	        req, "XAUTOCLAIM %s " STORE_GROUP " %s %ld %s COUNT %ld",
	        st->k_deliveries, st->instance_id, min_idle_ms, start, count);
	return req;
}

static void
store_touch_reply_cb(redisReply *r, const char *err, void *arg)
{
	(void)arg;
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		log_debug("redis: refreshing deliveries in flight: %s",
		    r ? r->str : err);
}

void
store_touch(struct store *st, const char *const *ids, size_t n)
{
	const char **argv;
	size_t i, argc = 0;

	if (n == 0 || !redis_conn_ready(st->cmd))
		return;
	argv = xcalloc(n + 7, sizeof(*argv));
	argv[argc++] = "XCLAIM";
	argv[argc++] = st->k_deliveries;
	argv[argc++] = STORE_GROUP;
	argv[argc++] = st->instance_id;
	argv[argc++] = "0";
	for (i = 0; i < n; i++)
		argv[argc++] = ids[i];
	argv[argc++] = "JUSTID";
	redis_conn_commandv(st->cmd, st->timeout_ms, store_touch_reply_cb, st,
	    (int)argc, argv, NULL);
	free(argv);
}

static void
store_give_back_cb(json_t *reply, const char *err, void *arg)
{
	(void)arg;
	/* not given back: claimed again once idle claim_idle_ms */
	if (reply == NULL)
		log_debug("redis: giving a delivery back: %s", err);
}

void
store_give_back(struct store *st, const char *id, const char *alert_id,
    long idle_ms, int64_t now_ms, int restart)
{
	store_eval(st, script_give_back,
	    json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}", "consumer",
	        st->instance_id, "sid", id, "aid", alert_id, "idle_ms",
	        (json_int_t)idle_ms, "now_ms", (json_int_t)now_ms, "restart",
	        restart),
	    store_give_back_cb, NULL);
}

void
store_taken_back(struct store *st, const char *id, const char *alert_id)
{
	store_eval(st, script_taken_back,
	    json_pack("{s:s, s:s}", "sid", id, "aid", alert_id),
	    store_give_back_cb, NULL);
}

/* The first WAIT after a reload set min_replicas makes the connection:
 * it fails ("not on the master"), the ones after it do not. */
static struct store_waits *
store_waits_of(struct store *st)
{
	if (st->waits == NULL) {
		store_rep_new(st);
		redis_conn_start(st->rep);
	}
	return st->waits;
}

/* The WAIT's end: the waiter is freed by now. */
static void
store_wait_done_cb(int ok, const char *err, void *arg)
{
	struct store_req *req = arg;

	req->waiter = NULL;
	req->cb.wait(ok, err, req->arg);
	store_req_free(req);
}

struct store_req *
store_wait_replicas(struct store *st, long n, long timeout_ms, store_wait_cb cb,
    void *arg)
{
	struct store_req *req = store_req_new(st, arg);

	req->cb.wait = cb;
	req->waiter = store_waits_add(store_waits_of(st), st->cmd, n,
	    timeout_ms, store_wait_done_cb, req);
	return req;
}

/* Too few replicas: the caller still hears what the script did (the
 * master has it), with err, so that it logs and audits the deed and
 * only its answer says "try again". */
static void
store_eval_replicated_cb(int ok, const char *err, void *arg)
{
	struct store_req *req = arg;

	req->waiter = NULL;
	req->cb.json(req->kept, ok ? NULL : err, req->arg);
	store_req_free(req);
}

/* The script answered j: its caller hears it once the replicas have
 * what it wrote. */
static void
store_eval_replicate(struct store_req *req, json_t *j)
{
	struct store *st = req->st;

	req->rreq = NULL; /* answered: freed */
	req->kept = j;
	req->waiter = store_waits_add(store_waits_of(st), st->cmd,
	    req->replicas, req->replicas_ms, store_eval_replicated_cb, req);
}

struct store_req *
store_eval_replicated(struct store *st, const char *script, json_t *args,
    long n, long timeout_ms, const char *const *at_once, store_json_cb cb,
    void *arg)
{
	struct store_req *req = store_eval(st, script, args, cb, arg);

	req->replicas = n;
	req->replicas_ms = timeout_ms;
	req->at_once = at_once;
	return req;
}
