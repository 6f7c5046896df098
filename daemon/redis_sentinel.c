/*
 * Finding the Redis master through Sentinel without blocking the loop
 * (redis_sentinel.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <adapters/libevent.h>
#include <async.h>

#include "evtimer_ms.h"
#include "log.h"
#include "redis_sentinel.h"
#include "util.h"
#include "xmalloc.h"

/* One sentinel's time to connect and answer, and the whole lookup's at
 * least: each sentinel gets its time, however many ahead of it hang (a
 * lost site may hold the first three of five). */
#define SENTINEL_TIMEOUT_MS 2000
#define SENTINEL_LOOKUP_MS 6000

struct sentinel_lookup {
	struct event_base *base;
	char **addrs;
	size_t n, next;
	char *master;
	sentinel_cb cb;
	void *arg;
	redisAsyncContext *ac; /* the sentinel being asked */
	int answered; /* it answered or went away: no deadline passed */
	int64_t deadline_ms; /* monotonic, for the whole lookup */
	struct event *step_ev; /* next attempt, or the attempt's deadline */
	char *host; /* the answer */
	int port;
	char err[160];
};

static void lookup_try(struct sentinel_lookup *l);

/*
 * Drops the sentinel being asked.  redisAsyncDisconnect() would wait for
 * the reply that a hung sentinel never sends, with this lookup stuck
 * behind it; freeing the context ends it at once.  data is cleared first
 * so that the callbacks hiredis runs while freeing it find no lookup.
 */
static void
lookup_drop(struct sentinel_lookup *l)
{
	redisAsyncContext *ac = l->ac;

	if (ac == NULL)
		return;
	l->ac = NULL;
	ac->data = NULL;
	redisAsyncFree(ac);
}

static void
lookup_free(struct sentinel_lookup *l)
{
	size_t i;

	lookup_drop(l);
	for (i = 0; i < l->n; i++)
		free(l->addrs[i]);
	free(l->addrs);
	free(l->master);
	free(l->host);
	event_free(l->step_ev);
	free(l);
}

void
sentinel_lookup_cancel(struct sentinel_lookup *l)
{
	if (l != NULL)
		lookup_free(l);
}

static void
lookup_done(struct sentinel_lookup *l, const char *err)
{
	l->cb(l->host, l->port, l->host != NULL ? NULL : err, l->arg);
	lookup_free(l);
}

/* Runs from the loop, never inside a hiredis callback, so it may free
 * the context. */
static void
lookup_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel_lookup *l = arg;

	(void)fd;
	(void)what;
	if (l->ac != NULL && !l->answered) {
		snprintf(l->err, sizeof(l->err), "sentinel %s did not answer",
		    l->addrs[l->next - 1]);
		log_warnx("redis: sentinel %s did not answer within %d ms; "
		          "asking the next",
		    l->addrs[l->next - 1], SENTINEL_TIMEOUT_MS);
	}
	lookup_drop(l);
	l->answered = 0;
	if (l->host != NULL)
		lookup_done(l, NULL);
	else if (monotonic_ms() >= l->deadline_ms && l->next > 0)
		lookup_done(l, l->err[0] ? l->err : "sentinels too slow");
	else
		lookup_try(l);
}

static void
lookup_later(struct sentinel_lookup *l, long ms)
{
	evtimer_del(l->step_ev);
	evtimer_add_ms(l->step_ev, ms);
}

/* The attempt ends here; the context is dropped from the loop. */
static void
lookup_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct sentinel_lookup *l = privdata;
	redisReply *reply = r;
	long port;

	if (ac->data == NULL || reply == NULL) /* dropped, or gone */
		return;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    reply->element[1]->type == REDIS_REPLY_STRING &&
	    parse_long(reply->element[1]->str, 1, 65535, &port) == 0) {
		l->host = xstrdup(reply->element[0]->str);
		l->port = (int)port;
	} else
		snprintf(l->err, sizeof(l->err), "sentinel does not know %s",
		    l->master);
	l->answered = 1;
	lookup_later(l, 0);
}

static void
lookup_connect_cb(const redisAsyncContext *ac, int status)
{
	struct sentinel_lookup *l = ac->data;

	if (l == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this. */
		snprintf(l->err, sizeof(l->err), "%s", ac->errstr);
		l->ac = NULL;
		lookup_later(l, 0);
		return;
	}
	if (redisAsyncCommand(l->ac, lookup_reply_cb, l,
	        "SENTINEL get-master-addr-by-name %s", l->master) != REDIS_OK) {
		snprintf(l->err, sizeof(l->err), "cannot ask sentinel");
		l->answered = 1;
		lookup_later(l, 0);
	}
}

static void
lookup_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct sentinel_lookup *l = ac->data;

	(void)status;
	if (l == NULL)
		return;
	/* hiredis frees the context after this. */
	if (ac->errstr[0] != '\0')
		snprintf(l->err, sizeof(l->err), "%s", ac->errstr);
	l->ac = NULL;
	lookup_later(l, 0);
}

/* The attempt's deadline: 2 s, or less when the lookup's is nearer. */
static long
lookup_attempt_ms(const struct sentinel_lookup *l)
{
	int64_t left = l->deadline_ms - monotonic_ms();

	if (left < 1)
		return 1;
	return left < SENTINEL_TIMEOUT_MS ? (long)left : SENTINEL_TIMEOUT_MS;
}

static void
lookup_try(struct sentinel_lookup *l)
{
	char *host;
	int port;

	if (l->next >= l->n) {
		lookup_done(l, l->err[0] ? l->err : "no sentinel");
		return;
	}
	if (hostport_parse(l->addrs[l->next++], &host, &port) != 0) {
		lookup_later(l, 0);
		return;
	}
	l->ac = redisAsyncConnect(host, port);
	free(host);
	if (l->ac == NULL || l->ac->err) {
		snprintf(l->err, sizeof(l->err), "%s",
		    l->ac ? l->ac->errstr : "out of memory");
		if (l->ac != NULL)
			redisAsyncFree(l->ac);
		l->ac = NULL;
		lookup_later(l, 0);
		return;
	}
	l->ac->data = l;
	redisLibeventAttach(l->ac, l->base);
	redisAsyncSetConnectCallback(l->ac, lookup_connect_cb);
	redisAsyncSetDisconnectCallback(l->ac, lookup_disconnect_cb);
	lookup_later(l, lookup_attempt_ms(l));
}

struct sentinel_lookup *
sentinel_lookup(struct event_base *base, const char *sentinels,
    const char *master, sentinel_cb cb, void *arg)
{
	struct sentinel_lookup *l = xcalloc(1, sizeof(*l));
	char *list = xstrdup(sentinels), *tok, *save = NULL;

	l->base = base;
	l->master = xstrdup(master);
	l->cb = cb;
	l->arg = arg;
	l->step_ev = evtimer_new(base, lookup_step_cb, l);
	for (tok = strtok_r(list, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		l->addrs = xreallocarray(l->addrs, l->n + 1, sizeof(*l->addrs));
		l->addrs[l->n++] = xstrdup(tok);
	}
	free(list);
	l->deadline_ms = monotonic_ms() +
	    (l->n * SENTINEL_TIMEOUT_MS > SENTINEL_LOOKUP_MS
	            ? (int64_t)l->n * SENTINEL_TIMEOUT_MS
	            : SENTINEL_LOOKUP_MS);
	lookup_later(l, 0); /* from the loop: never calls back from here */
	return l;
}
