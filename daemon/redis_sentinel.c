#include <stdlib.h>
#include <string.h>

#include <adapters/libevent.h>
#include <async.h>

#include "evtimer_ms.h"
#include "log.h"
#include "redis_sentinel.h"
#include "util.h"
#include "xmalloc.h"

#define SENTINEL_TIMEOUT_MS 2000

struct lookup {
	struct event_base *base;
	char **addrs;
	size_t n, next;
	char *master;
	sentinel_cb cb;
	void *arg;
	redisAsyncContext *ac;
	int connected;
	struct event *step_ev; /* next attempt, or the attempt's deadline */
	char *host; /* the answer */
	int port;
	char err[128];
};

static void lookup_try(struct lookup *l);

static void
lookup_free(struct lookup *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->addrs[i]);
	free(l->addrs);
	free(l->master);
	free(l->host);
	event_free(l->step_ev);
	free(l);
}

/* Runs from the loop, never inside a hiredis callback. */
static void
lookup_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *l = arg;

	(void)fd;
	(void)what;
	if (l->ac != NULL) { /* the attempt's deadline passed */
		snprintf(l->err, sizeof(l->err), "sentinel did not answer");
		if (l->connected)
			redisAsyncDisconnect(l->ac); /* -> disconnect cb */
		else {
			l->ac->data = NULL;
			redisAsyncFree(l->ac);
			l->ac = NULL;
			lookup_try(l);
		}
		return;
	}
	if (l->host != NULL) {
		l->cb(l->host, l->port, NULL, l->arg);
		lookup_free(l);
		return;
	}
	lookup_try(l);
}

static void
lookup_later(struct lookup *l, long ms)
{
	evtimer_del(l->step_ev);
	evtimer_add_ms(l->step_ev, ms);
}

static void
lookup_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct lookup *l = privdata;
	redisReply *reply = r;
	long port;

	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    reply->element[1]->type == REDIS_REPLY_STRING &&
	    parse_long(reply->element[1]->str, 1, 65535, &port) == 0) {
		l->host = xstrdup(reply->element[0]->str);
		l->port = (int)port;
	} else
		snprintf(l->err, sizeof(l->err), "sentinel does not know %s",
		    l->master);
	if (reply != NULL)
		redisAsyncDisconnect(ac);
}

static void
lookup_connect_cb(const redisAsyncContext *ac, int status)
{
	struct lookup *l = ac->data;

	if (l == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this. */
		snprintf(l->err, sizeof(l->err), "%s", ac->errstr);
		l->ac = NULL;
		lookup_later(l, 0);
		return;
	}
	l->connected = 1;
	redisAsyncCommand(l->ac, lookup_reply_cb, l,
	    "SENTINEL get-master-addr-by-name %s", l->master);
}

static void
lookup_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct lookup *l = ac->data;

	(void)status;
	if (l == NULL)
		return;
	l->ac = NULL;
	l->connected = 0;
	lookup_later(l, 0);
}

static void
lookup_try(struct lookup *l)
{
	char *host;
	int port;

	if (l->next >= l->n) {
		l->cb(NULL, 0, l->err[0] ? l->err : "no sentinel", l->arg);
		lookup_free(l);
		return;
	}
	if (hostport_parse(l->addrs[l->next++], &host, &port) != 0) {
		lookup_try(l);
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
	lookup_later(l, SENTINEL_TIMEOUT_MS);
}

void
sentinel_lookup(struct event_base *base, const char *sentinels,
    const char *master, sentinel_cb cb, void *arg)
{
	struct lookup *l = xcalloc(1, sizeof(*l));
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
	lookup_try(l);
}
