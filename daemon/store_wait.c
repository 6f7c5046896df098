/*
 * WAIT for replicas on a connection of its own, one WAIT out at a time
 * (store_wait.h says why).
 */
#include <sys/queue.h>

#include <stdlib.h>

#include "evtimer_ms.h"
#include "store_wait.h"
#include "xmalloc.h"

struct store_waiter {
	TAILQ_ENTRY(store_waiter) entry;
	struct store_waits *w;
	long n;
	long timeout_ms;
	store_waiter_cb cb;
	void *arg;
	const char *fail; /* answered so without waiting */
	int sent; /* in the WAIT that is out */
};
TAILQ_HEAD(store_waiter_list, store_waiter);

struct store_waits {
	struct redis_conn *conn;
	char *channel;
	long timeout_ms; /* [redis] timeout, on top of the WAIT's own */
	struct store_waiter_list queue; /* the sent ones first */
	struct event *kick; /* answers failures and sends the next WAIT */
	int out; /* a PUBLISH and WAIT are out */
	int published; /* their PUBLISH was answered */
	int closing;
};

static void
store_waits_kick_soon(struct store_waits *w)
{
	evtimer_add_ms(w->kick, 0);
}

static void
store_waiter_answer(struct store_waits *w, struct store_waiter *wr, int ok,
    const char *err)
{
	TAILQ_REMOVE(&w->queue, wr, entry);
	wr->cb(ok, ok ? NULL : err, wr->arg);
	free(wr);
}

static void
store_waits_publish_cb(redisReply *r, const char *err, void *arg)
{
	struct store_waits *w = arg;

	(void)err;
	w->published = r != NULL && r->type == REDIS_REPLY_INTEGER;
}

/*
 * Answers every waiter the WAIT was sent for.  Taken one by one from the
 * front: a callback may cancel another waiter or add one.  An error
 * reply (a replica after a failover: "WAIT cannot be used with replica
 * instances") sends the connection to look for the master again.
 */
static void
store_waits_reply_cb(redisReply *r, const char *err, void *arg)
{
	struct store_waits *w = arg;
	struct store_waiter *wr;
	long long got = -1;

	w->out = 0;
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && w->published)
		got = r->integer;
	else if (r != NULL) {
		err = r->type == REDIS_REPLY_ERROR
		    ? r->str
		    : "PUBLISH before WAIT failed";
		redis_conn_reconnect(w->conn);
	}
	w->published = 0;
	while ((wr = TAILQ_FIRST(&w->queue)) != NULL && wr->sent)
		store_waiter_answer(w, wr, got >= wr->n,
		    got >= 0 ? "too few replicas have it" : err);
	if (!TAILQ_EMPTY(&w->queue))
		store_waits_kick_soon(w);
}

/* One WAIT for all that wait: the most replicas and the longest time
 * any of them asks; each checks the count against its own. */
static void
store_waits_send(struct store_waits *w)
{
	struct store_waiter *wr;
	long n = 0, t = 0;

	TAILQ_FOREACH(wr, &w->queue, entry)
	{
		wr->sent = 1;
		n = wr->n > n ? wr->n : n;
		t = wr->timeout_ms > t ? wr->timeout_ms : t;
	}
	w->out = 1;
	w->published = 0;
	redis_conn_command(w->conn, w->timeout_ms, store_waits_publish_cb, w,
	    "PUBLISH %s 1", w->channel);
	redis_conn_command(w->conn, w->timeout_ms + t, store_waits_reply_cb, w,
	    "WAIT %ld %ld", n, t);
}

static void
store_waits_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_waits *w = arg;
	struct store_waiter *wr;

	(void)fd;
	(void)what;
	/* from the start after each answer: its callback may cancel
	 * (free) another waiter */
again:
	TAILQ_FOREACH(wr, &w->queue, entry)
	if (!wr->sent && wr->fail != NULL) {
		store_waiter_answer(w, wr, 0, wr->fail);
		goto again;
	}
	if (w->out || TAILQ_EMPTY(&w->queue))
		return;
	if (!redis_conn_ready(w->conn)) {
		store_waits_lost(w);
		return;
	}
	store_waits_send(w);
}

struct store_waits *
store_waits_new(struct event_base *base, struct redis_conn *conn,
    const char *channel, long timeout_ms)
{
	struct store_waits *w = xcalloc(1, sizeof(*w));

	w->conn = conn;
	w->channel = xstrdup(channel);
	w->timeout_ms = timeout_ms;
	TAILQ_INIT(&w->queue);
	w->kick = evtimer_new(base, store_waits_kick_cb, w);
	return w;
}

void
store_waits_lost(struct store_waits *w)
{
	struct store_waiter *wr;

	TAILQ_FOREACH(wr, &w->queue, entry)
	{
		if (!wr->sent)
			wr->fail = "no connection for WAIT";
	}
	if (!TAILQ_EMPTY(&w->queue))
		store_waits_kick_soon(w);
}

/* The WAIT out is answered "disconnected" as the connection goes; the
 * others likewise, as the store's other requests are. */
void
store_waits_free(struct store_waits *w)
{
	struct store_waiter *wr;

	if (w == NULL)
		return;
	w->closing = 1;
	redis_conn_free(w->conn);
	while ((wr = TAILQ_FIRST(&w->queue)) != NULL)
		store_waiter_answer(w, wr, 0, "disconnected");
	event_free(w->kick);
	free(w->channel);
	free(w);
}

struct store_waiter *
store_waits_add(struct store_waits *w, const struct redis_conn *cmd, long n,
    long timeout_ms, store_waiter_cb cb, void *arg)
{
	struct store_waiter *wr = xcalloc(1, sizeof(*wr));

	wr->w = w;
	wr->n = n;
	wr->timeout_ms = timeout_ms;
	wr->cb = cb;
	wr->arg = arg;
	if (w->closing)
		wr->fail = "disconnected";
	else if (!redis_conn_same_redis(w->conn, cmd)) {
		wr->fail = "the connection for WAIT is not on the master";
		/* left behind by a failover the others followed */
		if (redis_conn_ready(w->conn) && redis_conn_ready(cmd))
			redis_conn_reconnect(w->conn);
	}
	TAILQ_INSERT_TAIL(&w->queue, wr, entry);
	store_waits_kick_soon(w);
	return wr;
}

void
store_waiter_cancel(struct store_waiter *wr)
{
	if (wr == NULL)
		return;
	TAILQ_REMOVE(&wr->w->queue, wr, entry);
	free(wr);
}
