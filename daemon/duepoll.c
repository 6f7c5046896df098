/*
 * The due-member poller (duepoll.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duepoll.h"
#include "evtimer_ms.h"
#include "log.h"
#include "relay.h"
#include "stopjobs.h"
#include "store.h"
#include "xmalloc.h"

#define DUEPOLL_COUNT 50

struct duepoll {
	struct relay *relay;
	const char *script, *set;
	long period_ms;
	duepoll_cb cb;
	duepoll_skip_cb skip;
	void *arg;
	struct event *ev;
	struct store_req *req;
	json_t *members;
	size_t next;
	int held; /* a member is with the owner: a stop waits for it */
	int paused; /* duepoll_pause(): no more members handed out */
};

void
duepoll_next(struct duepoll *p)
{
	const char *m;

	if (p->held) {
		p->held = 0;
		stopjobs_end(p->relay->stopjobs);
	}
	while (!p->paused && p->members != NULL &&
	    p->next < json_array_size(p->members)) {
		m = json_string_value(json_array_get(p->members, p->next++));
		if (m != NULL) {
			p->held = 1;
			stopjobs_begin(p->relay->stopjobs);
			p->cb(p, m, p->arg);
			return;
		}
	}
	json_decref(p->members);
	p->members = NULL;
	if (!p->paused)
		evtimer_add_ms(p->ev, p->period_ms);
}

static void
duepoll_due_cb(json_t *reply, const char *err, void *arg)
{
	struct duepoll *p = arg;
	json_t *m = json_object_get(reply, "m");

	p->req = NULL;
	if (reply == NULL)
		log_debug("due timers: %s", err);
	/* Lua's cjson writes an empty list as {} */
	p->members = json_is_array(m) ? json_incref(m) : NULL;
	p->next = 0;
	duepoll_next(p);
}

static void
duepoll_cb_timer(evutil_socket_t fd, short what, void *arg)
{
	struct duepoll *p = arg;
	json_t *args, *skip;
	char now[24];

	(void)fd;
	(void)what;
	if (!store_ready(p->relay->store)) {
		evtimer_add_ms(p->ev, p->period_ms);
		return;
	}
	snprintf(now, sizeof(now), "%lld", (long long)now_ms());
	args = json_pack("{s:s, s:s, s:i}", "set", p->set, "now_ms", now,
	    "count", DUEPOLL_COUNT);
	if (p->skip != NULL && (skip = p->skip(p->arg)) != NULL)
		json_object_set_new(args, "skip", skip);
	p->req =
	    store_eval(p->relay->store, p->script, args, duepoll_due_cb, p);
}

struct duepoll *
duepoll_new(struct relay *relay, const char *script, const char *set,
    long period_ms, duepoll_cb cb, duepoll_skip_cb skip, void *arg)
{
	struct duepoll *p = xcalloc(1, sizeof(*p));

	p->relay = relay;
	p->script = script;
	p->set = set;
	p->period_ms = period_ms;
	p->cb = cb;
	p->skip = skip;
	p->arg = arg;
	p->ev = evtimer_new(relay->base, duepoll_cb_timer, p);
	evtimer_add_ms(p->ev, period_ms);
	return p;
}

void
duepoll_pause(struct duepoll *p)
{
	if (p == NULL)
		return;
	p->paused = 1;
	evtimer_del(p->ev);
}

void
duepoll_free(struct duepoll *p)
{
	if (p == NULL)
		return;
	store_req_cancel(p->req);
	event_free(p->ev);
	json_decref(p->members);
	free(p);
}
