/* The valve that keeps handshakes from starving (conn_priority.h). */
#include <stdlib.h>

#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conn_int.h"
#include "conn_priority.h"
#include "log.h"
#include "relay.h"
#include "util.h"
#include "xmalloc.h"

#define VALVE_EVERY_MS 50
/* Connections raised per opening of the valve, the longest waiting
 * first: all of them at once (10,000 in a reconnect storm) put every
 * handshake back in front of the alerts the priorities protect, for as
 * long as they take; a few at a time keep handshakes going without. */
#define VALVE_RAISE_MAX 64

struct conn_priority {
	struct relay *relay;
	struct event *ev;
	uint64_t seen; /* progress at the last look */
	int64_t still_since_ms; /* no progress since; 0: progressing */
	/* An empty callback in the low queue: while it stays queued, the
	 * loop gives that queue no time (the CPU share would not say so on
	 * a machine where other processes take the CPU). */
	struct event *canary;
	int armed;
	int64_t armed_ms;
};

/* Steps of server handshakes taken (OpenSSL's info callback): the low
 * queue got the loop's time, whether or not a handshake finished. */
static uint64_t conn_priority_steps;

static void
conn_priority_info_cb(const SSL *ssl, int where, int ret)
{
	(void)ssl;
	(void)ret;
	if (where & SSL_CB_LOOP)
		conn_priority_steps++;
}

void
conn_priority_watch(SSL *ssl)
{
	SSL_set_info_callback(ssl, conn_priority_info_cb);
}

void
conn_priority_progress(struct relay *relay)
{
	relay->hs_progress++;
}

static void
conn_priority_canary_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_priority *p = arg;

	(void)fd;
	(void)what;
	p->armed = 0;
}

/* An event waiting in its queue cannot change priority (libevent
 * refuses): then it is disabled, which takes it out, moved, and enabled
 * again.  The deferred callback is not checked (it cannot be): callers
 * make sure it is not queued (conn_priority.h). */
static int
conn_priority_move(struct bufferevent *bev, int priority)
{
	short on;
	int rc;

	if (bufferevent_priority_set(bev, priority) == 0)
		return 0;
	on = bufferevent_get_enabled(bev);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	rc = bufferevent_priority_set(bev, priority);
	bufferevent_enable(bev, on);
	return rc;
}

int
conn_priority_raise(struct bufferevent *bev)
{
	return conn_priority_move(bev, RELAY_PRIO_DEFAULT);
}

int
conn_priority_lower(struct bufferevent *bev)
{
	return conn_priority_move(bev, RELAY_PRIO_HANDSHAKE);
}

static size_t
conn_priority_raise_some(struct relay *relay)
{
	struct conn *c;
	size_t n = 0;

	for (c = TAILQ_FIRST(&relay->conns); c != NULL && n < VALVE_RAISE_MAX;
	     c = TAILQ_NEXT(c, entry)) {
		/* Authenticated, a connection is at the default priority
		 * already, and may no longer be moved (conn_priority.h). */
		if ((c->state != CONN_HANDSHAKE && c->state != CONN_AUTH) ||
		    c->raised)
			continue;
		if (conn_priority_raise(c->bev) == 0) {
			c->raised = 1;
			n++;
		}
	}
	return n;
}

static void
conn_priority_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_priority *p = arg;
	struct relay *relay = p->relay;
	int64_t now = monotonic_ms();
	uint64_t progress = relay->hs_progress + conn_priority_steps;
	size_t n;
	int starved;

	(void)fd;
	(void)what;
	if (!p->armed) {
		event_active(p->canary, EV_TIMEOUT, 1);
		p->armed = 1;
		p->armed_ms = now;
	}
	starved = now - p->armed_ms >= CONN_PRIORITY_STARVED_MS;
	if (relay->nunauth == 0 || progress != p->seen) {
		p->seen = progress;
		p->still_since_ms = 0;
		return;
	}
	if (p->still_since_ms == 0) {
		p->still_since_ms = now;
		return;
	}
	/* No step, and the low queue not reached either: starved.  (No
	 * step but the queue reached: they wait for their peers.) */
	if (now - p->still_since_ms < CONN_PRIORITY_STARVED_MS || !starved)
		return;
	n = conn_priority_raise_some(relay);
	log_debug("handshakes: no progress for %lld ms; %zu connections "
	          "raised to the default priority",
	    (long long)(now - p->still_since_ms), n);
	p->still_since_ms = 0;
}

struct conn_priority *
conn_priority_new(struct relay *relay)
{
	struct conn_priority *p = xcalloc(1, sizeof(*p));
	struct timeval tv = {0, VALVE_EVERY_MS * 1000};

	p->relay = relay;
	if (RELAY_PRIO_HANDSHAKE == RELAY_PRIO_DEFAULT)
		return p; /* nothing can starve them (relay.h) */
	p->ev = event_new(relay->base, -1, EV_PERSIST, conn_priority_cb, p);
	/* Above everything: it must run when the default queue never
	 * empties. */
	event_priority_set(p->ev, 0);
	event_add(p->ev, &tv);
	p->canary = event_new(relay->base, -1, 0, conn_priority_canary_cb, p);
	event_priority_set(p->canary, RELAY_PRIO_HANDSHAKE);
	return p;
}

void
conn_priority_free(struct conn_priority *p)
{
	if (p == NULL)
		return;
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->canary != NULL)
		event_free(p->canary);
	free(p);
}
