/*
 * One asynchronous hiredis connection with reconnect, backoff and command
 * deadlines (redis_conn.h).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
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
/* A subscriber sends nothing of its own: it PINGs this often to learn
 * that its peer still answers. */
#define SUB_PING_INTERVAL_MS 5000
/* Until redis_conn_set_timeout(). */
#define REDIS_CONN_TIMEOUT_MS 5000
#define RUN_ID_LEN 40 /* INFO server's run_id: 40 hex digits */

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
	struct sentinel_lookup *lookup; /* in progress */
	long timeout_ms; /* to connect and be answered; for each PING */
	struct event *connect_ev; /* deadline to connect and be answered */
	struct event *ping_ev; /* subscriber: next PING, or its deadline */
	int ping_out; /* its PING not answered yet */
	int hung; /* dropped because Redis stopped answering */
	char *sub_channel; /* subscriber mode when set */
	char *sub_alive; /* pattern for its PING's answer */
	redis_message_cb sub_cb;
	void *sub_arg;
	char run_id[RUN_ID_LEN + 1]; /* of the server it is on; "" unknown */
	unsigned long nfail; /* failed attempts since the last connect */
	int64_t fail_since_ms; /* monotonic, first of them */
	int64_t fail_logged_ms; /* monotonic, last line about them */
};

struct redis_req {
	struct redis_conn *rc;
	redis_reply_cb cb; /* NULL once cancelled or answered */
	void *arg;
	struct event *deadline;
	int queued; /* handed to hiredis, which will call back */
	const char *fail; /* why it failed: before being sent, or timed out */
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
	rc->ping_out = 0;
	evtimer_del(rc->connect_ev);
	evtimer_del(rc->ping_ev);
	if (was_ready)
		log_warnx("redis %s connection lost: %s", rc->name, why);
	else
		redis_conn_failed_direct(rc, why);
	redis_conn_schedule(rc);
	if (was_ready && rc->on_lost != NULL)
		rc->on_lost(rc->arg);
}

/*
 * Ends the connection now, whatever is pending on it.  A peer that
 * stopped answering (stopped, hung, partitioned without a reset) is not
 * left by redisAsyncDisconnect(), which waits for every pending reply;
 * redisAsyncFree() answers each pending command with a NULL reply
 * ("disconnected") and closes the socket.  ac->data is cleared first, so
 * the disconnect callback hiredis runs while freeing finds no
 * connection: the loss is handled here, once.  Inside a reply callback
 * of this context hiredis frees it when the callback returns; never
 * called inside a connect callback, after which hiredis goes on using
 * the context.
 */
static void
redis_conn_drop(struct redis_conn *rc, const char *why, int hung)
{
	redisAsyncContext *ac = rc->ac;

	if (ac == NULL)
		return;
	ac->data = NULL;
	rc->hung = hung && rc->ready;
	redis_conn_lost(rc, why);
	redisAsyncFree(ac);
}

/*
 * The subscriber's PING.  hiredis 0.14 keeps a callback for a command
 * sent in subscriber mode until a reply that is not an array, and PING
 * is answered there by ["pong", arg]: each PING through
 * redisAsyncCommand() would keep one for the life of the connection.
 * Appended as bytes, no callback is kept.  hiredis hands ["pong", arg]
 * to the callback of the pattern named arg (it reads "pong" as a
 * p-variant, like "pmessage"), so the connection also subscribes to the
 * pattern sub_alive, which nothing publishes to, and PINGs with it.
 */
static void
redis_conn_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_conn *rc = arg;
	redisAsyncContext *ac = rc->ac;
	char *cmd;
	int len;

	(void)fd;
	(void)what;
	if (!rc->ready || rc->sub_channel == NULL)
		return;
	if (rc->ping_out) {
		redis_conn_drop(rc, "no answer to PING", 1);
		return;
	}
	if (!(ac->c.flags & REDIS_SUBSCRIBED) ||
	    (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) ||
	    (len = redisFormatCommand(&cmd, "PING %s", rc->sub_alive)) < 0) {
		evtimer_add_ms(rc->ping_ev, SUB_PING_INTERVAL_MS);
		return;
	}
	redisAppendFormattedCommand(&ac->c, cmd, len);
	redisFreeCommand(cmd);
	ac->ev.addWrite(ac->ev.data);
	rc->ping_out = 1;
	evtimer_add_ms(rc->ping_ev, rc->timeout_ms);
}

static void
redis_conn_message_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_conn *rc = privdata;
	redisReply *reply = r;

	/* ["message", channel, payload]; "subscribe" confirms; "pong"
	 * answers the PING. */
	if (ac->data == NULL || reply == NULL ||
	    reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "pong") == 0) {
		rc->ping_out = 0;
		evtimer_add_ms(rc->ping_ev, SUB_PING_INTERVAL_MS);
		return;
	}
	if (reply->elements != 3 ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	rc->sub_cb(reply->element[2]->str, reply->element[2]->len, rc->sub_arg);
}

static void
redis_conn_resubscribe(struct redis_conn *rc)
{
	if (rc->sub_channel == NULL || !rc->ready)
		return;
	redisAsyncCommand(rc->ac, redis_conn_message_cb, rc, "SUBSCRIBE %s",
	    rc->sub_channel);
	redisAsyncCommand(rc->ac, redis_conn_message_cb, rc, "PSUBSCRIBE %s",
	    rc->sub_alive);
	rc->ping_out = 0;
	evtimer_add_ms(rc->ping_ev, SUB_PING_INTERVAL_MS);
}

void
redis_conn_subscribe(struct redis_conn *rc, const char *channel,
    redis_message_cb cb, void *arg)
{
	free(rc->sub_channel);
	free(rc->sub_alive);
	rc->sub_channel = xstrdup(channel);
	rc->sub_alive = xasprintf("%s:alive", channel);
	rc->sub_cb = cb;
	rc->sub_arg = arg;
	redis_conn_resubscribe(rc);
}

/* Redis answered: the connection is ready. */
static void
redis_conn_up(struct redis_conn *rc)
{
	char where[300];

	evtimer_del(rc->connect_ev);
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
redis_conn_hello_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply *reply = r;

	if (ac->data == NULL || reply == NULL) /* dropped or lost: handled */
		return;
	if (reply->type == REDIS_REPLY_ERROR)
		redis_conn_drop(privdata, reply->str, 0);
}

/*
 * Which server the connection reached, by its run_id (INFO server):
 * behind one address two connections may reach two servers (a TCP proxy
 * that keeps its sessions on the old master while it sends new ones to
 * the new), and WAIT counts only its own server's replicas.  A Redis
 * that refuses INFO (renamed) leaves it unknown: the addresses decide.
 */
static void
redis_conn_info_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_conn *rc = privdata;
	redisReply *reply = r;
	const char *id;

	if (ac->data == NULL || reply == NULL) /* dropped or lost: handled */
		return;
	rc->run_id[0] = '\0';
	if (reply->type == REDIS_REPLY_STRING && reply->str != NULL &&
	    (id = strstr(reply->str, "\nrun_id:")) != NULL &&
	    strspn(id + 8, "0123456789abcdef") == RUN_ID_LEN)
		snprintf(rc->run_id, sizeof(rc->run_id), "%.*s", RUN_ID_LEN,
		    id + 8);
	redis_conn_up(rc);
}

/*
 * A connection is ready only once Redis answered a PING: the kernel of
 * a stopped or hung Redis still accepts connections, and a relay that
 * counted that as up would say so on /healthz and send it alerts.
 */
static void
redis_conn_connect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;

	if (rc == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this. */
		redis_conn_lost(rc, ac->errstr);
		return;
	}
	/* Cannot fail on a new connection; if they did, the deadline ends
	 * it.  Ready once both are answered. */
	(void)redisAsyncCommand(rc->ac, redis_conn_hello_cb, rc, "PING");
	(void)redisAsyncCommand(rc->ac, redis_conn_info_cb, rc, "INFO server");
}

static void
redis_conn_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;

	if (rc == NULL) /* dropped, or freed by redis_conn_free() */
		return;
	redis_conn_lost(rc, status == REDIS_OK ? "closed" : ac->errstr);
}

/* Neither connected nor answered in time. */
static void
redis_conn_connect_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_conn *rc = arg;
	char why[64];

	(void)fd;
	(void)what;
	if (rc->ready)
		return;
	snprintf(why, sizeof(why), "no answer within %ld ms", rc->timeout_ms);
	redis_conn_drop(rc, why, 0);
}

static void redis_conn_connect_direct(struct redis_conn *rc);

static void
redis_conn_resolved_cb(const char *host, int port, const char *err, void *arg)
{
	struct redis_conn *rc = arg;
	char where[600];

	rc->lookup = NULL; /* it frees itself */
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
	if (rc->lookup != NULL)
		return;
	rc->lookup = sentinel_lookup(rc->base, rc->sentinels, rc->master,
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
redis_conn_set_timeout(struct redis_conn *rc, long timeout_ms)
{
	rc->timeout_ms = timeout_ms;
}

int
redis_conn_take_hung(struct redis_conn *rc)
{
	int hung = rc->hung;

	rc->hung = 0;
	return hung;
}

static int
redis_conn_same_peer(const struct redis_conn *a, const struct redis_conn *b)
{
	if (a->unix_path != NULL || b->unix_path != NULL)
		return a->unix_path != NULL && b->unix_path != NULL &&
		    strcmp(a->unix_path, b->unix_path) == 0;
	return a->host != NULL && b->host != NULL &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port;
}

int
redis_conn_same_redis(const struct redis_conn *a, const struct redis_conn *b)
{
	if (!a->ready || !b->ready)
		return 0;
	if (a->run_id[0] != '\0' && b->run_id[0] != '\0')
		return strcmp(a->run_id, b->run_id) == 0;
	return redis_conn_same_peer(a, b);
}

void
redis_conn_leave(struct redis_conn *rc, const struct redis_conn *hung)
{
	if (rc != hung && rc->ready && redis_conn_same_peer(rc, hung))
		redis_conn_drop(rc,
		    "this Redis stopped answering another connection", 0);
}

/* A clean close: the replies on their way still come (a replica answers
 * READONLY at once); a connection that stops answering meanwhile is
 * dropped by the deadline of a command waiting on it. */
void
redis_conn_reconnect(struct redis_conn *rc)
{
	if (rc->ac != NULL && rc->ready)
		redisAsyncDisconnect(rc->ac); /* -> lost -> reconnect */
}

/*
 * A peer that vanishes without a reset (power loss, a partition) is
 * noticed by the kernel: keepalive probes an idle connection, and
 * TCP_USER_TIMEOUT ends one whose data goes unacknowledged.  A peer
 * whose kernel still acknowledges (a stopped process) is left to the
 * deadlines on commands and PINGs.
 */
static void
redis_conn_tcp_options(struct redis_conn *rc, redisAsyncContext *ac)
{
	unsigned int ms = (unsigned int)rc->timeout_ms * 2;

	if (redisEnableKeepAlive(&ac->c) != REDIS_OK) {
		log_debug("redis %s: keepalive: %s", rc->name, ac->c.errstr);
		/* Not fatal: without it the deadlines still work. */
		ac->c.err = 0;
		ac->c.errstr[0] = '\0';
	}
	if (setsockopt(ac->c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms,
	        sizeof(ms)) == -1)
		log_debug("redis %s: TCP_USER_TIMEOUT: %s", rc->name,
		    strerror(errno));
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
	if (rc->unix_path == NULL)
		redis_conn_tcp_options(rc, ac);
	ac->data = rc;
	rc->ac = ac;
	redisLibeventAttach(ac, rc->base);
	redisAsyncSetConnectCallback(ac, redis_conn_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redis_conn_disconnect_cb);
	evtimer_add_ms(rc->connect_ev, rc->timeout_ms);
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
	rc->timeout_ms = REDIS_CONN_TIMEOUT_MS;
	rc->connect_ev = evtimer_new(base, redis_conn_connect_deadline_cb, rc);
	rc->ping_ev = evtimer_new(base, redis_conn_ping_cb, rc);
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
	sentinel_lookup_cancel(rc->lookup);
	if (rc->ac != NULL) {
		rc->ac->data = NULL;
		/* Runs every pending callback with a NULL reply. */
		redisAsyncFree(rc->ac);
	}
	event_free(rc->retry_ev);
	event_free(rc->connect_ev);
	event_free(rc->ping_ev);
	free(rc->host);
	free(rc->unix_path);
	free(rc->name);
	free(rc->sub_channel);
	free(rc->sub_alive);
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
	redis_req_finish(req, r,
	    r != NULL       ? NULL
	        : req->fail ? req->fail
	                    : "disconnected");
	redis_req_free(req);
}

/*
 * Replies on a connection come in order: a command whose reply did not
 * come in time holds every one behind it, and a master that stopped
 * answering is never left by waiting (Sentinel may have promoted another
 * meanwhile).  The connection is dropped, which answers this command
 * "timed out" and every other pending one "disconnected", and found
 * again, through the sentinels if there are any.  The answer comes
 * through hiredis like any other: the drop tells the store first, whose
 * owners may cancel this very request (and free what its callback
 * would be given), and a cancelled request is not called back.
 */
static void
redis_req_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redis_req *req = arg;

	(void)fd;
	(void)what;
	if (!req->queued) {
		redis_req_finish(req, NULL,
		    req->fail != NULL ? req->fail : "timed out");
		redis_req_free(req);
		return;
	}
	req->fail = "timed out";
	redis_conn_drop(req->rc, "a command got no reply in time", 1);
	/* req is freed by now, or once hiredis has called back */
}

static struct redis_req *
redis_req_new(struct redis_conn *rc, long timeout_ms, redis_reply_cb cb,
    void *arg)
{
	struct redis_req *req = xcalloc(1, sizeof(*req));

	req->rc = rc;
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
