/*
 * Output-side flow control of a device connection (see conn_flow.h):
 * a peer that sends requests and never reads the answers must not grow
 * the relay's memory.  Redis and OpenSMTPD bound a client's output the
 * same way: stop taking its requests, and drop it if it will not read.
 */
#include <event2/buffer.h>

#include "conn_flow.h"
#include "evtimer_ms.h"

/* Runs from the event loop once the output fell to the bound. */
static void
conn_flow_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_flow *f = arg;

	(void)fd;
	(void)what;
	if (!f->stalled ||
	    evbuffer_get_length(bufferevent_get_output(f->bev)) >
	        CONN_FLOW_HIGH)
		return;
	f->stalled = 0;
	evtimer_del(f->deadline);
	bufferevent_enable(f->bev, EV_READ);
	f->resumed(f->arg);
}

/*
 * Sees every byte the TLS layer takes out of the output buffer: counts
 * down the directory answer, and ends a stall once the output is at the
 * bound again.  The bufferevent's write callback cannot tell: conn.c
 * needs it at its default (output empty) to close after an error frame.
 * A large frame leaves the buffer all at once, when OpenSSL has taken
 * all of it.  This runs inside the TLS layer's write, so the stall ends
 * from the loop, not from here.
 */
static void
conn_flow_watch_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn_flow *f = arg;

	if (info->n_deleted >= f->directory_left)
		f->directory_left = 0;
	else
		f->directory_left -= info->n_deleted;
	if (f->stalled && info->n_deleted > 0 &&
	    evbuffer_get_length(buf) <= CONN_FLOW_HIGH)
		event_active(f->resume, EV_TIMEOUT, 1);
}

void
conn_flow_init(struct conn_flow *f, struct event_base *base,
    struct bufferevent *bev, event_callback_fn expired, void (*resumed)(void *),
    void *arg)
{
	f->bev = bev;
	f->resumed = resumed;
	f->arg = arg;
	f->deadline = evtimer_new(base, expired, arg);
	f->resume = event_new(base, -1, 0, conn_flow_resume_cb, f);
	f->watch =
	    evbuffer_add_cb(bufferevent_get_output(bev), conn_flow_watch_cb, f);
	f->directory_left = 0;
	f->stalled = 0;
}

void
conn_flow_free(struct conn_flow *f)
{
	if (f->watch != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(f->bev),
		    f->watch);
	if (f->deadline != NULL)
		event_free(f->deadline);
	if (f->resume != NULL)
		event_free(f->resume);
	f->watch = NULL;
	f->deadline = NULL;
	f->resume = NULL;
}

int
conn_flow_full(struct conn_flow *f, long timeout_s)
{
	if (evbuffer_get_length(bufferevent_get_output(f->bev)) <=
	    CONN_FLOW_HIGH)
		return 0;
	if (!f->stalled) {
		f->stalled = 1;
		bufferevent_disable(f->bev, EV_READ);
		evtimer_add_ms(f->deadline, timeout_s * 1000);
	}
	return 1;
}

void
conn_flow_directory_queued(struct conn_flow *f)
{
	f->directory_left = evbuffer_get_length(bufferevent_get_output(f->bev));
}

int
conn_flow_directory_pending(const struct conn_flow *f)
{
	return f->directory_left > 0;
}
