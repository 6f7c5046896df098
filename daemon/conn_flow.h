/*
 * Output-side flow control of one device connection: what the relay
 * queues for a peer that does not read is bounded.  Above the bound the
 * connection stops reading (so it stops making answers), and if the
 * output stays above it past a deadline the connection is closed.  It
 * also knows whether the signed directory, the one large answer, is
 * still queued, so that a connection has at most one at a time.
 */
#ifndef ALERTRELAY_CONN_FLOW_H
#define ALERTRELAY_CONN_FLOW_H

#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

/* Bytes of output above which a connection stops reading: many times
 * any answer but the directory, little beside the memory of the
 * process. */
#define CONN_FLOW_HIGH (256 * 1024)

struct conn_flow {
	struct bufferevent *bev;
	struct event *deadline; /* output above the bound for too long */
	struct event *resume; /* made active when the output drained */
	void (*resumed)(void *); /* reading again: process what waits */
	void *arg;
	struct evbuffer_cb_entry *watch; /* counts what leaves the output */
	size_t directory_left; /* output bytes up to the directory's end */
	int stalled; /* output above the bound; not reading */
};

/* expired(-1, EV_TIMEOUT, arg) runs when a stall outlasts its deadline;
 * it is expected to close the connection.  resumed(arg) runs when a
 * stall ended (reading again), to process the frames already read. */
void conn_flow_init(struct conn_flow *f, struct event_base *base,
    struct bufferevent *bev, event_callback_fn expired, void (*resumed)(void *),
    void *arg);
void conn_flow_free(struct conn_flow *f);
/* 1 while the output is above the bound.  The first time, stops reading
 * and starts the deadline of timeout_s seconds. */
int conn_flow_full(struct conn_flow *f, long timeout_s);
/* The directory answer was just queued: it is the output's tail. */
void conn_flow_directory_queued(struct conn_flow *f);
/* 1 while some of the directory answer has not left the output yet. */
int conn_flow_directory_pending(const struct conn_flow *f);

#endif
