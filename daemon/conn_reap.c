/* Connections freed later, at the handshakes' priority (conn_reap.h). */
#include <stdlib.h>

#include <event2/event.h>

#include "conn_int.h"
#include "conn_reap.h"
#include "log.h"
#include "relay.h"
#include "xmalloc.h"

struct conn_reap {
	struct conn **c;
	size_t n, cap, next; /* c[next..n) wait */
	struct event *ev;
	int queued; /* ev is active */
	/* the same, at the default priority CONN_REAP_LATE_MS on, should
	 * the low queue not be reached: descriptors are held meanwhile */
	struct event *late;
};

static void
conn_reap_queue(struct conn_reap *r)
{
	struct timeval tv = {0, CONN_REAP_LATE_MS * 1000};

	if (r->queued)
		return;
	r->queued = 1;
	event_active(r->ev, EV_TIMEOUT, 0);
	evtimer_add(r->late, &tv);
}

static void
conn_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_reap *r = arg;
	size_t i;

	(void)fd;
	(void)what;
	r->queued = 0;
	evtimer_del(r->late);
	for (i = 0; i < CONN_REAP_BATCH && r->next < r->n; i++)
		conn_free(r->c[r->next++]);
	if (r->next < r->n) {
		conn_reap_queue(r); /* behind the others */
		return;
	}
	r->n = r->next = 0;
}

struct conn_reap *
conn_reap_new(struct relay *relay)
{
	struct conn_reap *r = xcalloc(1, sizeof(*r));

	r->ev = event_new(relay->base, -1, 0, conn_reap_cb, r);
	r->late = evtimer_new(relay->base, conn_reap_cb, r);
	if (r->ev == NULL || r->late == NULL ||
	    event_priority_set(r->ev, RELAY_PRIO_HANDSHAKE) != 0)
		log_fatalx("exiting: cannot make the connection reaper");
	return r;
}

void
conn_reap_add(struct conn_reap *r, struct conn *c)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->c = xreallocarray(r->c, r->cap, sizeof(*r->c));
	}
	r->c[r->n++] = c;
	conn_reap_queue(r);
}

void
conn_reap_forget_all(struct conn_reap *r)
{
	if (r == NULL)
		return;
	r->n = r->next = 0;
	r->queued = 0;
	event_del(r->ev);
	evtimer_del(r->late);
}

void
conn_reap_free(struct conn_reap *r)
{
	if (r == NULL)
		return;
	event_free(r->ev);
	event_free(r->late);
	free(r->c);
	free(r);
}
