#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <adapters/libevent.h>
#include <async.h>
#include <sds.h>
#include <event2/util.h>

#include "evtimer_ms.h"
#include "log.h"
#include "redis_conn.h"
#include "redis_sentinel.h"
#include "util.h"
#include "xmalloc.h"

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
/* While Redis cannot be reached: the first failure is logged at once,
 * then one line this often, with a count, until it connects. */
#define FAIL_LOG_INTERVAL_MS 30000

struct redis_conn {
	struct event_base *base;
	char *host; /* NULL for a unix socket */
	int port;
	char *unix_path;
	char *name;
	redisAsyncContext *ac;
	int ready;
	long backoff_ms;
	struct event *retry_ev;
	redis_state_cb on_ready;
	redis_state_cb on_lost;
	void *arg;
	char *sentinels; /* when set, the master is looked up first */
	char *master;
	int resolving;
	char *sub_channel; /* subscriber mode when set */
	redis_message_cb sub_cb;
	void *sub_arg;
	unsigned long nfail; /* failed attempts since the last connect */
	int64_t fail_since_ms; /* monotonic, first of them */
	int64_t fail_logged_ms; /* monotonic, last line about them */
};

struct redis_req {
	redis_reply_cb cb; /* NULL once cancelled or answered */
	void *arg;
	struct event *deadline;
	int queued; /* handed to hiredis, which will call back */
	const char *fail; /* why it failed before being sent */
};

int
redis_address_valid(const char *address)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	if (strncmp(address, "unix:", 5) == 0)
		return address[5] == '/';
	return evutil_parse_sockaddr_port(address, (struct sockaddr *)&ss,
	           &sslen) == 0;
}

static void redis_conn_connect(struct redis_conn *rc);

/* Where this connection goes, for the log (with sentinels: the master
 * they named last). */
static void
redis_conn_where(const struct redis_conn *rc, char *buf, size_t len)
{
	if (rc->unix_path != NULL)
		snprintf(buf, len, "unix:%s", rc->unix_path);
	else if (rc->host != NULL && strchr(rc->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", rc->host, rc->port);
	else
		snprintf(buf, len, "%s:%d", rc->host ? rc->host : "?",
		    rc->port);
}

static void redis_conn_failed(struct redis_conn *rc, const char *where,
    const char *why);

/* A direct connect that failed. */
static void
redis_conn_failed_direct(struct redis_conn *rc, const char *why)
{
	char where[300];

	redis_conn_where(rc, where, sizeof(where));
	redis_conn_failed(rc, where, why);
}

/*
 * A connect that failed.  An operator must see at once that Redis cannot
 * be reached, and where, even when it never was (a relay started before
 * Redis accepts no alert without a spool); retries every few seconds must
 * not flood the log, so later failures are summed up every 30 s.
 */
static void
redis_conn_failed(struct redis_conn *rc, const char *where, const char *why)
{
	int64_t now = monotonic_ms();

	if (rc->nfail++ == 0) {
		rc->fail_since_ms = rc->fail_logged_ms = now;
		log_warnx("redis %s: cannot connect to %s: %s; retrying",
		    rc->name, where, why);
	} else if (now - rc->fail_logged_ms >= FAIL_LOG_INTERVAL_MS) {
		rc->fail_logged_ms = now;
		log_warnx("redis %s: still cannot connect to %s: %s "
		          "(attempts=%lu for %llds)",
		    rc->name, where, why, rc->nfail,
		    (long long)((now - rc->fail_since_ms) / 1000));
	} else
		log_debug("redis %s connect to %s failed: %s", rc->name, where,
		    why);
}

static void
redis_conn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redis_conn_connect(arg);
}

static void
redis_conn_schedule(struct redis_conn *rc)
{
	evtimer_add_ms(rc->retry_ev, rc->backoff_ms);
	rc->backoff_ms *= 2;
	if (rc->backoff_ms > RECONNECT_MAX_MS)
		rc->backoff_ms = RECONNECT_MAX_MS;
}

static void
redis_conn_lost(struct redis_conn *rc, const char *why)
{
	int was_ready = rc->ready;

	rc->ready = 0;
	rc->ac = NULL;
	if (was_ready)
		log_warnx("redis %s connection lost: %s", rc->name, why);
	else
		redis_conn_failed_direct(rc, why);
	redis_conn_schedule(rc);
	if (was_ready && rc->on_lost != NULL)
		rc->on_lost(rc->arg);
}

static void
redis_conn_message_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_conn *rc = privdata;
	redisReply *reply = r;

	(void)ac;
	/* ["message", channel, payload]; "subscribe" confirms. */
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	rc->sub_cb(reply->element[2]->str, reply->element[2]->len, rc->sub_arg);
}

static void
redis_conn_resubscribe(struct redis_conn *rc)
{
	if (rc->sub_channel != NULL && rc->ready)
		redisAsyncCommand(rc->ac, redis_conn_message_cb, rc,
		    "SUBSCRIBE %s", rc->sub_channel);
}

void
redis_conn_subscribe(struct redis_conn *rc, const char *channel,
    redis_message_cb cb, void *arg)
{
	free(rc->sub_channel);
	rc->sub_channel = xstrdup(channel);
	rc->sub_cb = cb;
	rc->sub_arg = arg;
	redis_conn_resubscribe(rc);
}

static void
redis_conn_connect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;
	char where[300];

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		redis_conn_lost(rc, ac->errstr);
		return;
	}
	rc->ready = 1;
	rc->backoff_ms = RECONNECT_MIN_MS;
	redis_conn_where(rc, where, sizeof(where));
	if (rc->nfail > 0)
		log_info("redis connected (%s) to %s after %lu failed attempts "
		         "in %llds",
		    rc->name, where, rc->nfail,
		    (long long)((monotonic_ms() - rc->fail_since_ms) / 1000));
	else
		log_info("redis connected (%s) to %s", rc->name, where);
	rc->nfail = 0;
	redis_conn_resubscribe(rc);
	if (rc->on_ready != NULL)
		rc->on_ready(rc->arg);
}

static void
redis_conn_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;

	if (rc == NULL) /* freed on purpose by redis_conn_free() */
		return;
	redis_conn_lost(rc, status == REDIS_OK ? "closed" : ac->errstr);
}

static void redis_conn_connect_direct(struct redis_conn *rc);

static void
redis_conn_resolved_cb(const char *host, int port, const char *err, void *arg)
{
	struct redis_conn *rc = arg;
	char where[600];

	rc->resolving = 0;
	if (host == NULL) {
		snprintf(where, sizeof(where),
		    "a master %s through sentinels %s", rc->master,
		    rc->sentinels);
		redis_conn_failed(rc, where, err);
		redis_conn_schedule(rc);
		return;
	}
	if (rc->host == NULL || strcmp(rc->host, host) != 0 || rc->port != port)
		log_info("redis %s: master %s is at %s:%d", rc->name,
		    rc->master, host, port);
	free(rc->host);
	rc->host = xstrdup(host);
	rc->port = port;
	redis_conn_connect_direct(rc);
}

/* With sentinels, every connect asks them where the master is now. */
static void
redis_conn_connect(struct redis_conn *rc)
{
	if (rc->sentinels == NULL) {
		redis_conn_connect_direct(rc);
		return;
	}
	if (rc->resolving)
		return;
	rc->resolving = 1;
	sentinel_lookup(rc->base, rc->sentinels, rc->master,
	    redis_conn_resolved_cb, rc);
}

void
redis_conn_use_sentinels(struct redis_conn *rc, const char *sentinels,
    const char *master)
{
	rc->sentinels = xstrdup(sentinels);
	rc->master = xstrdup(master);
}

void
redis_conn_reconnect(struct redis_conn *rc)
{
	if (rc->ac != NULL && rc->ready)
		redisAsyncDisconnect(rc->ac); /* -> lost -> reconnect */
}

static void
redis_conn_connect_direct(struct redis_conn *rc)
{
	redisAsyncContext *ac;

	if (rc->unix_path != NULL)
		ac = redisAsyncConnectUnix(rc->unix_path);
	else
		ac = redisAsyncConnect(rc->host, rc->port);
	if (ac == NULL) {
		log_warnx("redis %s: out of memory", rc->name);
		redis_conn_schedule(rc);
		return;
	}
	if (ac->err) {
		redis_conn_failed_direct(rc, ac->errstr);
		redisAsyncFree(ac);
		redis_conn_schedule(rc);
		return;
	}
	ac->data = rc;
	rc->ac = ac;
	redisLibeventAttach(ac, rc->base);
	redisAsyncSetConnectCallback(ac, redis_conn_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redis_conn_disconnect_cb);
}

struct redis_conn *
redis_conn_new(struct event_base *base, const char *address, const char *name,
    redis_state_cb on_ready, redis_state_cb on_lost, void *arg)
{
	struct redis_conn *rc = xcalloc(1, sizeof(*rc));

	rc->base = base;
	rc->name = xstrdup(name);
	if (strncmp(address, "unix:", 5) == 0)
		rc->unix_path = xstrdup(address + 5);
	else if (address[0] != '\0' &&
	    hostport_parse(address, &rc->host, &rc->port) != 0)
		log_fatalx("bad redis address %s", address);
	rc->backoff_ms = RECONNECT_MIN_MS;
	rc->retry_ev = evtimer_new(base, redis_conn_retry_cb, rc);
	rc->on_ready = on_ready;
	rc->on_lost = on_lost;
	rc->arg = arg;
	return rc;
}

void
redis_conn_start(struct redis_conn *rc)
{
	redis_conn_connect(rc);
}

int
redis_conn_ready(const struct redis_conn *rc)
{
	return rc->ready;
}

void
redis_conn_free(struct redis_conn *rc)
{
	if (rc == NULL)
		return;
	if (rc->ac != NULL) {
		rc->ac->data = NULL;
		/* Runs every pending callback with a NULL reply. */
		redisAsyncFree(rc->ac);
	}
	event_free(rc->retry_ev);
	free(rc->host);
	free(rc->unix_path);
	free(rc->name);
	free(rc->sub_channel);
	free(rc->sentinels);
	free(rc->master);
	free(rc);
}

static void
redis_req_finish(struct redis_req *req, redisReply *reply, const char *err)
{
	redis_reply_cb cb = req->cb;

	req->cb = NULL;
	if (cb != NULL)
		cb(reply, err, req->arg);
}

static void
redis_req_free(struct redis_req *req)
{
	event_free(req->deadline);
	free(req);
}

static void
redis_req_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_req *req = privdata;

	(void)ac;
	redis_req_finish(req, r, r == NULL ? "disconnected" : NULL);
	redis_req_free(req);
}

static void
redis_req_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_req *req = arg;

	(void)fd;
	(void)what;
	redis_req_finish(req, NULL,
	    req->fail != NULL ? req->fail : "timed out");
	/* A queued request stays with hiredis, which frees it on reply. */
	if (!req->queued)
		redis_req_free(req);
}

static struct redis_req *
redis_req_new(struct redis_conn *rc, long timeout_ms, redis_reply_cb cb,
    void *arg)
{
	struct redis_req *req = xcalloc(1, sizeof(*req));

	req->cb = cb;
	req->arg = arg;
	req->deadline = evtimer_new(rc->base, redis_req_deadline_cb, req);
	evtimer_add_ms(req->deadline, timeout_ms);
	return req;
}

/* Failures are reported from the loop, never from inside the call, so
 * callers need not handle a callback that runs before they return. */
static void
redis_req_fail_soon(struct redis_req *req, const char *why)
{
	struct timeval now = {0, 0};

	req->fail = why;
	evtimer_add(req->deadline, &now);
}

/*
 * hiredis writes only when the loop next finds the socket writable.  The
 * commands made while a burst of alerts is read in one pass of the loop
 * would reach Redis only after the whole burst was verified, with Redis
 * idle meanwhile (make bench).  Past REDIS_EARLY_WRITE bytes queued, they
 * are written now, without blocking, so Redis works while the relay goes
 * on.  A write error is left to hiredis, which meets it again from the
 * loop and disconnects there: never from inside a caller's command.
 */
#define REDIS_EARLY_WRITE (64 * 1024)

static void
redis_conn_write_early(struct redis_conn *rc)
{
	int done;

	if (sdslen(rc->ac->c.obuf) >= REDIS_EARLY_WRITE)
		(void)redisBufferWrite(&rc->ac->c, &done);
}

void
redis_conn_flush(struct redis_conn *rc)
{
	int done = 0, n;

	if (!rc->ready)
		return;
	for (n = 0; n < 64 && !done; n++) /* bounded: a blocking write */
		if (redisBufferWrite(&rc->ac->c, &done) != REDIS_OK)
			return;
}

struct redis_req *
redis_conn_commandv(struct redis_conn *rc, long timeout_ms, redis_reply_cb cb,
    void *arg, int argc, const char **argv, const size_t *argvlen)
{
	struct redis_req *req = redis_req_new(rc, timeout_ms, cb, arg);

	if (!rc->ready)
		redis_req_fail_soon(req, "not connected");
	else if (redisAsyncCommandArgv(rc->ac, redis_req_reply_cb, req, argc,
	             argv, argvlen) != REDIS_OK)
		redis_req_fail_soon(req, "send failed");
	else {
		req->queued = 1;
		redis_conn_write_early(rc);
	}
	return req;
}

struct redis_req *
redis_conn_command(struct redis_conn *rc, long timeout_ms, redis_reply_cb cb,
    void *arg, const char *fmt, ...)
{
	struct redis_req *req = redis_req_new(rc, timeout_ms, cb, arg);
	va_list ap;
	int rv;

	if (!rc->ready) {
		redis_req_fail_soon(req, "not connected");
		return req;
	}
	va_start(ap, fmt);
	rv = redisvAsyncCommand(rc->ac, redis_req_reply_cb, req, fmt, ap);
	va_end(ap);
	if (rv != REDIS_OK)
		redis_req_fail_soon(req, "send failed");
	else {
		req->queued = 1;
		redis_conn_write_early(rc);
	}
	return req;
}

void
redis_req_cancel(struct redis_req *req)
{
	if (req == NULL)
		return;
	req->cb = NULL;
	if (!req->queued)
		redis_req_free(req);
	else
		evtimer_del(req->deadline);
}
